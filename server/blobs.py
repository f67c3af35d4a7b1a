"""Content-addressed blob store: files under a folder (default) or an S3 bucket via boto3.

Blobs are keyed by sha256, so storing the same bytes twice writes the same key and an
orphan left by a rolled-back transaction is harmless. Never reads a blob whole.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Protocol
from urllib.parse import urlparse

from server.files import private_folder


class BlobNotFound(LookupError):
    """No blob with that sha256 in the store."""


class BlobStore(Protocol):
    def put_file(self, path: str, sha256: str) -> None: ...
    def open(self, sha256: str) -> BinaryIO: ...
    def exists(self, sha256: str) -> bool: ...
    def delete(self, sha256: str) -> None: ...


class FileBlobStore:
    """Blobs as files ``root/ab/cd/<sha256>``, written to a temp file and renamed."""

    def __init__(self, root: str):
        self.root = private_folder(root)  # photos of clients: the owner's only (0700)

    def _path(self, sha256: str) -> Path:
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            raise BlobNotFound(sha256)
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put_file(self, path: str, sha256: str) -> None:
        """Copy the file at ``path`` (whose sha256 the caller computed) into the store."""
        target = self._path(sha256)
        if target.exists():
            return
        if not target.parent.is_dir():
            private_folder(target.parent)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out, open(path, "rb") as src:
                shutil.copyfileobj(src, out, 1 << 16)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def open(self, sha256: str) -> BinaryIO:
        try:
            return self._path(sha256).open("rb")
        except FileNotFoundError:
            raise BlobNotFound(sha256) from None

    def exists(self, sha256: str) -> bool:
        return self._path(sha256).exists()

    def delete(self, sha256: str) -> None:
        """Remove a blob for good (purge, erasure); a missing one is not an error."""
        self._path(sha256).unlink(missing_ok=True)


class S3BlobStore:
    """Blobs as objects ``<prefix>/<sha256>`` in an S3 bucket (MinIO, AWS)."""

    def __init__(self, bucket: str, prefix: str, endpoint_url: str | None = None):
        import boto3

        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = boto3.client("s3", endpoint_url=endpoint_url or None)

    def _key(self, sha256: str) -> str:
        return f"{self.prefix}/{sha256}" if self.prefix else sha256

    def put_file(self, path: str, sha256: str) -> None:
        self.client.upload_file(path, self.bucket, self._key(sha256))

    def open(self, sha256: str) -> BinaryIO:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(sha256))["Body"]
        except self.client.exceptions.NoSuchKey:
            raise BlobNotFound(sha256) from None

    def exists(self, sha256: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(sha256))
        except ClientError:
            return False
        return True

    def delete(self, sha256: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(sha256))


def iter_blob(store: BlobStore, sha256: str) -> Iterator[bytes]:
    """The blob in 64 KiB chunks, for a streamed response; opened at once (so a missing blob
    raises BlobNotFound before the response starts) and closed when the response ends."""
    stream = store.open(sha256)

    def chunks() -> Iterator[bytes]:
        try:
            while chunk := stream.read(1 << 16):
                yield chunk
        finally:
            stream.close()

    return chunks()


def from_url(url: str, s3_endpoint_url: str = "") -> FileBlobStore | S3BlobStore:
    """Build the store named by BLOB_STORE (``file:/path`` or ``s3://bucket/prefix``)."""
    if url.startswith("file:"):
        return FileBlobStore(urlparse(url).path or url[len("file:") :])
    parsed = urlparse(url)
    return S3BlobStore(parsed.netloc, parsed.path, s3_endpoint_url)
