"""The spool folder (``instance/spool``) where request bodies are written while they are read:
created 0700, its files 0600. A spool is held under an exclusive flock for as long as it is
open, so a spool left by a killed process (kill -9, where no cleanup runs) is told from a
live one by any process: ``sweep`` removes the first and never touches the second, so each
process can sweep at start while other workers keep serving. Never touches the database.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
import time
from pathlib import Path
from typing import BinaryIO

PREFIX = "part-"


def prepare(directory: str) -> int:
    """Create the spool folder (0700, even when it existed wider) and sweep what a killed
    process left in it; returns how many files were swept."""
    path = Path(directory)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)
    return sweep(directory)


def sweep(directory: str) -> int:
    """Remove the spools older than this sweep that no live process holds (their owner was
    killed); a spool a request is writing or reading is locked, and is left alone."""
    started = time.time()
    swept = 0
    for entry in os.scandir(directory):
        if not entry.name.startswith(PREFIX) or not entry.is_file(follow_symlinks=False):
            continue
        try:
            if entry.stat(follow_symlinks=False).st_mtime >= started:
                continue
            fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError:  # its request ended meanwhile
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        try:  # unlinked while locked, so its creator sees it gone (see locked_file)
            os.unlink(entry.path)
            swept += 1
        except FileNotFoundError:
            pass
        finally:
            os.close(fd)
    return swept


def locked_file(directory: str) -> tuple[BinaryIO, str]:
    """A new 0600 file in ``directory``, held under an exclusive flock for as long as it is
    open. A sweep may take the file between its creation and the lock: then it is unlinked
    by the time the lock is ours, and another is made."""
    while True:
        fd, path = tempfile.mkstemp(prefix=PREFIX, dir=directory)
        fcntl.flock(fd, fcntl.LOCK_EX)
        if os.fstat(fd).st_nlink:
            return os.fdopen(fd, "w+b"), path
        os.close(fd)
