"""One register object per (project, form, submission, version), named without collisions
(issue 11): before, `<formId>/<instanceId>.json` had no project, and a character map folded
`:` and `;` (and every other non-alphanumeric) to `_`, so a phone of another project, or an id
differing in such a character, overwrote a stored record."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import boto3
import pytest

import forms
from server.auth.permissions import SYSTEM
from server.registers import TargetConfig
from server.services import ingest, projects
from sync.payload import Payload
from sync.targets import segment
from sync.targets.directory import DirectoryTarget
from sync.targets.s3 import S3Target
from sync.worker import drain
from tests.conftest import VISIT_MD
from tests.support.xmls import instance


@pytest.fixture
def settings(settings, tmp_path):
    return settings.replace(register_target=f"dir:{tmp_path}/register")


def store(app, project_id: int, xml: bytes) -> None:
    ext = app.extensions["donghanh"]
    incoming = ingest.Incoming(
        envelope=forms.read_instance(xml),
        xml=xml,
        xml_sha256=hashlib.sha256(xml).hexdigest(),
        parts={},
        device_id="collect:test",
        user_agent="test",
    )
    with ext.db.transaction() as session:
        result = ingest.ingest_submission(
            session, ext.blobs, SYSTEM, project_id, incoming, ext.target_names
        )
    assert result.problem is None


def test_two_projects_with_the_same_form_and_instance_id_keep_two_records(
    app, db, project, make_form, tmp_path
):
    with db.transaction() as session:
        other = projects.create_project(session, None, "Phường Khác")
    make_form(VISIT_MD.format(version="1"))
    make_form(VISIT_MD.format(version="1"), project_id=other.id)
    same = "uuid:6f2f8e4a-3c2b-4d8e-9a51-0c1b2a3d4e5f"
    store(app, project.id, instance("visit", same, gap="co"))
    store(app, other.id, instance("visit", same, gap="khong"))
    assert drain(app) == 2
    files = sorted((tmp_path / "register").rglob("*.json"))
    assert len(files) == 2
    documents = {json.loads(f.read_text())["project"]["id"]: f for f in files}
    assert set(documents) == {project.id, other.id}
    name = f"visit/{segment(same)}/{segment(same)}.json"
    assert documents[project.id] == tmp_path / "register" / str(project.id) / name
    assert documents[other.id] == tmp_path / "register" / str(other.id) / name


def payload(instance_id: str, body: bytes) -> Payload:
    return Payload(
        body=body,
        idempotency_key=hashlib.sha256(body).hexdigest(),
        project_id=1,
        xml_form_id="visit",
        submission_instance_id=instance_id,
        instance_id=instance_id,
        attachments=(),
        complete=True,
        version_created_at=datetime(2026, 12, 1, tzinfo=UTC),
    )


FOLDED = [("uuid:a1", "uuid;a1"), ("uuid:a1", "uuid_a1"), ("a.b", "a_b"), ("..", "__")]


@pytest.mark.parametrize(("one", "two"), FOLDED)
def test_ids_the_old_map_folded_together_get_two_files(tmp_path, one, two):
    target = DirectoryTarget(TargetConfig(f"dir:{tmp_path}", f"dir:{tmp_path}"))
    assert target.send(payload(one, b"one"), open).status == 201
    assert target.send(payload(two, b"two"), open).status == 201
    files = {p.read_bytes() for p in tmp_path.rglob("*.json")}
    assert files == {b"one", b"two"}


@pytest.mark.parametrize(("one", "two"), FOLDED)
def test_ids_the_old_map_folded_together_get_two_s3_objects(s3_endpoint, aws_env, one, two):
    s3 = boto3.client("s3", endpoint_url=s3_endpoint)
    bucket = f"names-{FOLDED.index((one, two))}"
    s3.create_bucket(Bucket=bucket)
    config = TargetConfig(f"s3://{bucket}/in", f"s3://{bucket}/in")
    target = S3Target(config, s3_endpoint)
    assert target.send(payload(one, b"one"), open).status == 200
    assert target.send(payload(two, b"two"), open).status == 200
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert len(keys) == 2
    bodies = {s3.get_object(Bucket=bucket, Key=k)["Body"].read() for k in keys}
    assert bodies == {b"one", b"two"}


def test_segments_are_distinct_and_bounded():
    names = ["uuid:a", "uuid;a", "uuid_a", "uuid%3Aa", ".", "..", "", "~x", "%7Ex", "é", "e"]
    assert len({segment(n) for n in names}) == len(names)
    assert all(segment(n) not in (".", "..", "") for n in names)
    long = "ở" * 100
    assert segment(long).startswith("~")
    assert len(segment(long)) == 65
