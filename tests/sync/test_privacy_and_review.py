"""Minimal forwarding: sensitive answers dropped or pseudonymised per target; review drives
on_approval forms; rejected submissions are not forwarded; S3 as a target (moto server)."""

from __future__ import annotations

import json
from datetime import timedelta

import boto3
import pytest
from sqlalchemy import select

from server.auth.permissions import SYSTEM
from server.models.deliveries import Delivery
from server.models.types import utcnow
from server.registers import TargetConfig
from server.services import forms as form_service
from server.services import review
from sync.payload import build
from sync.targets.s3 import S3Target
from sync.worker import drain
from tests.support.xmls import instance

SENSITIVE_MD = """
| survey   |               |         |             |                    |
|          | type          | name    | label       | bind::dh:sensitive |
|          | text          | ma_kh   | Client code |                    |
|          | text          | dien_thoai | Phone    | identifying        |
|          | select_one yn | sd_tu_bao | Used?     | special            |
|          | image         | anh     | Photo       | identifying        |
| choices  |               |         |             |                    |
|          | list_name     | name    | label       |                    |
|          | yn            | co      | Yes         |                    |
|          | yn            | khong   | No          |                    |
| settings |               |         |             |                    |
|          | form_id       | version | namespaces  |                    |
|          | tham          | 1       | dh="https://donghanh.vn/xforms" |  |
"""

ANSWERS = {"ma_kh": "LAHU1M1990", "dien_thoai": "0912345678", "sd_tu_bao": "khong", "anh": "a.jpg"}


@pytest.fixture
def sensitive_version(make_form, submit):
    make_form(SENSITIVE_MD)
    return submit(instance("tham", "uuid:s1", **ANSWERS))


def document_for(db, version_id, target) -> dict:
    with db.transaction(write=False) as session:
        return json.loads(build(session, version_id, target, "https://x.example").body)


def test_default_target_hashes_identifying_and_drops_special_answers(db, sensitive_version):
    target = TargetConfig("t", "https://register.example", hash_key=b"k1")
    document = document_for(db, sensitive_version.version_id, target)
    answers = document["answers"]
    assert answers["ma_kh"] == "LAHU1M1990"
    assert "sd_tu_bao" not in answers
    assert answers["dien_thoai"].startswith("hmac-sha256:")
    assert "0912345678" not in json.dumps(document)
    assert document["attachments"] == []  # the photo answers an identifying field
    assert sorted(document["redactions"]["hashed"]) == ["anh", "dien_thoai"]
    assert document["redactions"]["dropped"] == ["sd_tu_bao"]


def test_pseudonyms_are_stable_per_target_and_differ_between_targets(db, sensitive_version):
    one = TargetConfig("a", "https://a.example", hash_key=b"key-a")
    two = TargetConfig("b", "https://b.example", hash_key=b"key-b")
    first = document_for(db, sensitive_version.version_id, one)["answers"]["dien_thoai"]
    again = document_for(db, sensitive_version.version_id, one)["answers"]["dien_thoai"]
    other = document_for(db, sensitive_version.version_id, two)["answers"]["dien_thoai"]
    assert first == again
    assert first != other


def test_a_target_allowed_everything_gets_everything(db, sensitive_version):
    target = TargetConfig("t", "https://register.example", identifying="full", special="full")
    document = document_for(db, sensitive_version.version_id, target)
    assert document["answers"] == ANSWERS
    assert [a["name"] for a in document["attachments"]] == ["a.jpg"]


def test_a_field_rule_overrides_its_class(db, sensitive_version):
    target = TargetConfig("t", "https://r.example", fields={"ma_kh": "drop", "dien_thoai": "full"})
    answers = document_for(db, sensitive_version.version_id, target)["answers"]
    assert "ma_kh" not in answers
    assert answers["dien_thoai"] == "0912345678"


def test_on_approval_form_is_forwarded_only_once_approved(
    app, db, register, submit, visit_form, project
):
    with db.transaction() as session:
        form_service.set_forward_policy(session, SYSTEM, project.id, "visit", "on_approval")
    submit(instance("visit", "uuid:a1", gap="co"))
    assert drain(app) == 0
    assert register.posts == []
    with db.transaction() as session:
        review.set_review_state(
            session,
            SYSTEM,
            project.id,
            "visit",
            "uuid:a1",
            "approved",
            app.extensions["donghanh"].target_names,
        )
    assert drain(app) == 1
    [document] = register.stored.values()
    assert document["submission"]["reviewState"] == "approved"


def test_rejected_submission_is_not_forwarded(app, db, register, submit, visit_form, project):
    submit(instance("visit", "uuid:r1", gap="co"))
    with db.transaction() as session:
        review.set_review_state(
            session,
            SYSTEM,
            project.id,
            "visit",
            "uuid:r1",
            "rejected",
            app.extensions["donghanh"].target_names,
        )
    assert drain(app, utcnow() + timedelta(hours=2)) == 0
    with db.transaction(write=False) as session:
        assert session.scalar(select(Delivery.state)) == "cancelled"
    assert register.posts == []


def test_s3_target_writes_a_predictable_key_and_copies_attachments(
    db, app, submit, make_form, s3_endpoint, aws_env, tmp_path
):
    s3 = boto3.client("s3", endpoint_url=s3_endpoint)
    s3.create_bucket(Bucket="register")
    make_form(SENSITIVE_MD)
    photo = tmp_path / "a.jpg"
    photo.write_bytes(b"\xff\xd8 photo")
    from server.services import storage

    blobs = app.extensions["donghanh"].blobs
    result = submit(instance("tham", "uuid:s3", **ANSWERS))
    with db.transaction() as session:
        sha, md5, size = storage.hash_file(photo)
        blob_id = storage.store_file(session, blobs, str(photo), sha, md5, size, "image/jpeg")
        from server.models.submissions import SubmissionAttachment

        slot = session.scalar(select(SubmissionAttachment))
        slot.blob_id = blob_id
    config = TargetConfig(
        "s3://register/in", "s3://register/in", identifying="full", special="drop"
    )
    target = S3Target(config, s3_endpoint)
    with db.transaction(write=False) as session:
        payload = build(session, result.version_id, config, "https://x.example")
    assert target.send(payload, blobs.open).status == 200
    assert target.send(payload, blobs.open).status == 200  # a resend overwrites
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="register")["Contents"])
    base = f"in/{payload.project_id}/tham/uuid%3As3/uuid%3As3"
    assert keys == [f"{base}.json", f"{base}/a.jpg"]
    body = s3.get_object(Bucket="register", Key=f"{base}/a.jpg")["Body"].read()
    assert body == b"\xff\xd8 photo"
    stored = json.loads(s3.get_object(Bucket="register", Key=f"{base}.json")["Body"].read())
    assert "sd_tu_bao" not in stored["answers"]


def test_the_worker_forwards_to_an_s3_register_target(
    db, settings, project, make_form, s3_endpoint, aws_env
):
    from server.app import create_app

    s3 = boto3.client("s3", endpoint_url=s3_endpoint)
    s3.create_bucket(Bucket="register-two")
    s3_app = create_app(
        settings.replace(register_target="s3://register-two/in", s3_endpoint_url=s3_endpoint)
    )
    make_form(SENSITIVE_MD)
    ext = s3_app.extensions["donghanh"]
    import hashlib

    import forms
    from server.services import ingest

    xml = instance("tham", "uuid:w1", **{**ANSWERS, "anh": ""})
    incoming = ingest.Incoming(
        envelope=forms.read_instance(xml),
        xml=xml,
        xml_sha256=hashlib.sha256(xml).hexdigest(),
        parts={},
        device_id=None,
        user_agent=None,
    )
    with ext.db.transaction() as session:
        ingest.ingest_submission(session, ext.blobs, SYSTEM, project.id, incoming, ext.target_names)
    assert drain(s3_app) == 1
    assert drain(s3_app) == 0
    [obj] = s3.list_objects_v2(Bucket="register-two")["Contents"]
    assert obj["Key"] == f"in/{project.id}/tham/uuid%3Aw1/uuid%3Aw1.json"
    document = json.loads(s3.get_object(Bucket="register-two", Key=obj["Key"])["Body"].read())
    assert document["answers"]["ma_kh"] == "LAHU1M1990"
    ext.db.dispose()
