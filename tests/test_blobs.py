"""The blob stores: a folder (default) and S3 through moto's server mode on loopback."""

from __future__ import annotations

import hashlib

import boto3
import pytest

from server.blobs import BlobNotFound, FileBlobStore, from_url

DATA = b"photo bytes " * 50_000  # 600 KB: more than one upload chunk


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "part"
    path.write_bytes(DATA)
    return str(path), hashlib.sha256(DATA).hexdigest()


def test_file_store_keeps_bytes_under_their_hash_and_is_idempotent(tmp_path, source):
    store = from_url(f"file:{tmp_path}/blobs")
    assert isinstance(store, FileBlobStore)
    path, sha = source
    store.put_file(path, sha)
    store.put_file(path, sha)
    assert store.exists(sha)
    with store.open(sha) as f:
        assert f.read() == DATA
    assert not list((tmp_path / "blobs").rglob(".incoming-*"))


def test_file_store_refuses_names_that_are_not_hashes(tmp_path):
    store = FileBlobStore(str(tmp_path))
    for name in ("../../etc/passwd", "a" * 63, "Z" * 64):
        with pytest.raises(BlobNotFound):
            store.open(name)


def test_s3_store_round_trips_through_a_real_s3_api(s3_endpoint, aws_env, source):
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket="donghanh-blobs")
    store = from_url("s3://donghanh-blobs/prod/blobs", s3_endpoint)
    path, sha = source
    assert not store.exists(sha)
    store.put_file(path, sha)
    assert store.exists(sha)
    body = store.open(sha)
    assert body.read() == DATA
    keys = [
        o["Key"]
        for o in boto3.client("s3", endpoint_url=s3_endpoint).list_objects_v2(
            Bucket="donghanh-blobs"
        )["Contents"]
    ]
    assert keys == [f"prod/blobs/{sha}"]
    with pytest.raises(BlobNotFound):
        store.open("0" * 64)
