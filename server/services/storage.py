"""Blob rows and blob-store writes for spooled parts and files, shared by forms and submissions."""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from server.blobs import BlobStore
from server.models.blobs import Blob
from server.models.types import utcnow


def store_file(
    session: Session,
    store: BlobStore,
    path: str,
    sha256: str,
    md5: str,
    size: int,
    content_type: str,
) -> int:
    """Put the file into the blob store and return its blob row id (created once per sha256).

    The row is inserted with ON CONFLICT DO NOTHING, so concurrent uploads of the same bytes
    never fail; the store write is idempotent because keys are content hashes.
    """
    store.put_file(path, sha256)
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(
        dialect.insert(Blob)
        .values(
            sha256=sha256,
            md5=md5,
            size=size,
            content_type=content_type[:255],
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["sha256"])
    )
    return session.scalar(select(Blob.id).where(Blob.sha256 == sha256))


def hash_file(path: str | Path) -> tuple[str, str, int]:
    """sha256, md5 and size of a file, read in chunks."""
    sha, md5, size = hashlib.sha256(), hashlib.md5(usedforsecurity=False), 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 16):
            sha.update(chunk)
            md5.update(chunk)
            size += len(chunk)
    return sha.hexdigest(), md5.hexdigest(), size
