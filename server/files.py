"""The instance's folders and files are the owner's only (issue 11): folders 0700, files 0600.

The instance folder holds the SQLite database (every answer in clear), the secret key, the
blobs (photos) and the embedded register; none of it may be readable by another account of the
machine. Folders are created 0700 one level at a time (``Path.mkdir(parents=True)`` would make
the parents 0755 whatever mode it is given), and a folder or file the server owns already is
tightened when it is opened, so an instance made by an older release is closed too.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

FOLDER_MODE = 0o700
FILE_MODE = 0o600


def private_folder(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` and its missing parents 0700; tighten ``path`` itself if it is ours."""
    path = Path(path)
    _make_missing_folders(path)
    _tighten(path, FOLDER_MODE)
    return path


def private_file(path: str | os.PathLike[str]) -> Path:
    """Create the empty file ``path`` 0600 unless it exists (its missing folders 0700, an
    existing folder left as it is); tighten it, and SQLite's -wal and -shm beside it (SQLite
    creates those with the database file's mode), if they exist and are ours."""
    path = Path(path)
    _make_missing_folders(path.parent)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    for sibling in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if sibling.exists():
            _tighten(sibling, FILE_MODE)
    return path


def _make_missing_folders(path: Path) -> None:
    missing = []
    for folder in (path, *path.parents):
        if folder.exists():
            break
        missing.append(folder)
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made by another process in between
            folder.mkdir(mode=FOLDER_MODE)


def _tighten(path: Path, mode: int) -> None:
    info = path.stat()
    if info.st_uid == os.geteuid() and stat.S_IMODE(info.st_mode) & ~mode:
        path.chmod(stat.S_IMODE(info.st_mode) & mode)
