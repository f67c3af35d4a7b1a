"""HEAD and POST /submission over real HTTP: storage, Central's deduplication rules, split
uploads, bad input, encrypted envelopes (odk-protocol.md sections 3 and 5)."""

from __future__ import annotations

import hashlib

import pytest
import requests
from sqlalchemy import select

from server.auth.permissions import SYSTEM
from server.models.audits import Audit
from server.models.blobs import Blob
from server.models.submissions import Submission, SubmissionAttachment, SubmissionVersion
from server.services import forms as form_service
from server.services import projects
from tests.conftest import VISIT_MD
from tests.support.collect import Collect
from tests.support.xmls import encrypted_envelope, instance

PHOTO = b"\xff\xd8\xff\xe0 fake jpeg " * 4000  # ~60 KB
UUID1 = "uuid:6f2f8e4a-3c2b-4d8e-9a51-0c1b2a3d4e5f"
UUID2 = "uuid:8a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
UUID3 = "uuid:1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f"


@pytest.fixture
def collect(live_server, app_user):
    """A phone set to English: it reads ODK Central's own messages, with their specifics
    (tests/openrosa/test_messages.py has the Vietnamese ones Collect gets by default)."""
    return Collect(app_user.server_url(live_server), language="en")


def rows(db, model, **where):
    with db.transaction(write=False) as session:
        return session.scalars(select(model).filter_by(**where)).all()


def visit(instance_id=UUID1, photo="anh.jpg", **kwargs) -> bytes:
    return instance("visit", instance_id, ma_kh="LAHU1M1990", gap="co", anh=photo, **kwargs)


def test_head_answers_204_with_accepted_length(collect, visit_form, settings):
    response = collect.head_submission()
    assert response.status_code == 204
    assert response.headers["X-OpenRosa-Accept-Content-Length"] == str(
        settings.max_submission_bytes
    )
    assert response.headers["X-OpenRosa-Version"] == "1.0"


def test_new_submission_is_stored_with_exact_bytes_and_request_facts(
    db, collect, visit_form, app_user, app
):
    xml = visit()
    [reply] = collect.submit(xml, {"anh.jpg": PHOTO})
    assert reply.status == 201
    assert reply.message == "full submission upload was successful!"
    [submission] = rows(db, Submission)
    [version] = rows(db, SubmissionVersion)
    assert version.xml == xml
    assert version.sha256 == hashlib.sha256(xml).hexdigest()
    assert version.form_version_id == visit_form.id
    assert submission.submitter_id == app_user.actor_id
    assert submission.device_id == "collect:AbCdEfGh12345678"
    assert submission.user_agent.startswith("org.odk.collect.android/v2026.3.3")
    [attachment] = rows(db, SubmissionAttachment)
    [blob] = rows(db, Blob)
    assert attachment.name == "anh.jpg"
    assert attachment.blob_id == blob.id
    assert blob.sha256 == hashlib.sha256(PHOTO).hexdigest()
    assert blob.md5 == hashlib.md5(PHOTO).hexdigest()
    assert blob.size == len(PHOTO)
    assert blob.content_type == "image/jpeg"
    with app.extensions["donghanh"].blobs.open(blob.sha256) as f:
        assert f.read() == PHOTO
    assert [a.action for a in rows(db, Audit, action="submission.create")] == ["submission.create"]


def test_identical_resend_answers_201_and_adds_the_missing_attachment(db, collect, visit_form):
    xml = visit()
    assert collect.submit(xml)[0].status == 201  # the photo did not make it the first time
    [slot] = rows(db, SubmissionAttachment)
    assert slot.blob_id is None
    assert collect.submit(xml, {"anh.jpg": PHOTO})[0].status == 201
    assert len(rows(db, Submission)) == 1
    assert len(rows(db, SubmissionVersion)) == 1
    [slot] = rows(db, SubmissionAttachment)
    assert slot.blob_id is not None


def test_unknown_attachment_parts_are_ignored(db, collect, visit_form):
    assert collect.submit(visit(), {"anh.jpg": PHOTO, "stray.jpg": b"x"})[0].status == 201
    assert [a.name for a in rows(db, SubmissionAttachment)] == ["anh.jpg"]


def test_same_instance_id_with_different_xml_is_409_with_centrals_message(db, collect, visit_form):
    assert collect.submit(visit())[0].status == 201
    [reply] = collect.submit(visit(photo="other.jpg"))
    assert reply.status == 409
    assert "different XML" in reply.message
    assert len(rows(db, SubmissionVersion)) == 1
    [conflict] = rows(db, Audit, action="submission.conflict")
    assert conflict.details["code"] == "409.1"


def test_edit_through_deprecated_id_creates_a_new_version_and_carries_photos(
    db, collect, visit_form
):
    assert collect.submit(visit(), {"anh.jpg": PHOTO})[0].status == 201
    edited = visit(UUID2, deprecated_id=UUID1)
    assert collect.submit(edited)[0].status == 201
    [submission] = rows(db, Submission)
    assert submission.review_state == "edited"
    versions = sorted(rows(db, SubmissionVersion), key=lambda v: v.id)
    assert [(v.instance_id, v.current, v.deprecated_id) for v in versions] == [
        (UUID1, False, None),
        (UUID2, True, UUID1),
    ]
    carried = rows(db, SubmissionAttachment, submission_version_id=versions[1].id)
    assert [a.blob_id is not None for a in carried] == [True]


def test_out_of_date_edit_is_409(db, collect, visit_form):
    collect.submit(visit())
    assert collect.submit(visit(UUID2, deprecated_id=UUID1))[0].status == 201
    [reply] = collect.submit(visit(UUID3, deprecated_id=UUID1))
    assert reply.status == 409
    assert "out of date" in reply.message
    assert len(rows(db, SubmissionVersion)) == 2


def test_edit_of_unknown_submission_is_404(collect, visit_form):
    [reply] = collect.submit(visit(UUID2, deprecated_id=UUID1))
    assert reply.status == 404
    assert UUID1 in reply.message


def test_edit_whose_new_instance_id_is_already_used_is_409(db, collect, visit_form):
    collect.submit(visit(UUID1))
    collect.submit(visit(UUID2, photo="b.jpg"))
    [reply] = collect.submit(visit(UUID2, deprecated_id=UUID1, photo="c.jpg"))
    assert reply.status == 409
    assert "already exists" in reply.message
    assert len(rows(db, SubmissionVersion)) == 2


def test_resend_of_the_superseded_version_is_409(collect, visit_form):
    collect.submit(visit())
    collect.submit(visit(UUID2, deprecated_id=UUID1))
    [reply] = collect.submit(visit())
    assert reply.status == 409


def test_unknown_form_is_404_and_unknown_version_is_404_with_its_name(collect, visit_form):
    [reply] = collect.submit(instance("nope", UUID1, gap="co"))
    assert reply.status == 404
    [reply] = collect.submit(instance("visit", UUID1, version="99", gap="co"))
    assert reply.status == 404
    assert "'99'" in reply.message


def test_old_published_version_still_accepts_submissions(db, collect, make_form, visit_form):
    make_form(VISIT_MD.format(version="2"))
    assert collect.submit(visit())[0].status == 201  # version 1
    [version] = rows(db, SubmissionVersion)
    assert version.form_version_id == visit_form.id


def test_closed_form_refuses_with_409_and_closing_form_accepts(db, collect, visit_form, project):
    with db.transaction() as session:
        form_service.set_state(session, SYSTEM, project.id, "visit", "closing")
    assert collect.submit(visit())[0].status == 201
    with db.transaction() as session:
        form_service.set_state(session, SYSTEM, project.id, "visit", "closed")
    [reply] = collect.submit(visit(UUID2))
    assert reply.status == 409
    assert "not currently accepting" in reply.message


def test_submission_to_another_projects_form_is_404(db, live_server, visit_form):
    with db.transaction() as session:
        other = projects.create_project(session, None, "Other")
        from server.services import app_users

        issued = app_users.create_app_user(session, SYSTEM, other.id, "x", all_forms=True)
    [reply] = Collect(issued.server_url(live_server)).submit(visit())
    assert reply.status == 404
    assert rows(db, Submission) == []


def test_split_upload_sends_incomplete_posts_then_the_last(
    db, app, live_server, app_user, visit_form, settings
):
    small = settings.replace(max_submission_bytes=100_000)
    app.extensions["donghanh"].settings = small
    collect = Collect(app_user.server_url(live_server))
    photos = {f"p{i}.jpg": PHOTO + bytes([i]) for i in range(4)}
    xml = instance(
        "visit",
        UUID1,
        gap="co",
        anh="p0.jpg",
        ho_tro=[{"anh_ht": "p1.jpg"}, {"anh_ht": "p2.jpg"}, {"anh_ht": "p3.jpg"}],
    )
    replies = collect.submit(xml, photos)
    assert [r.status for r in replies] == [201, 201, 201, 201]  # ~60 KB each, 100 KB a POST
    assert len(rows(db, Submission)) == 1
    slots = rows(db, SubmissionAttachment)
    assert sorted(s.name for s in slots) == sorted(photos)
    assert all(s.blob_id is not None for s in slots)


@pytest.mark.parametrize(
    ("body", "content_type", "status", "text"),
    [
        (
            b'--B\r\nContent-Disposition: form-data; name="other"\r\n\r\nx\r\n--B--\r\n',
            "multipart/form-data; boundary=B",
            400,
            "xml_submission_file",
        ),
        (b"not multipart", "text/plain", 400, "multipart"),
    ],
)
def test_bad_bodies_get_an_openrosa_error(collect, visit_form, body, content_type, status, text):
    response = collect.http.post(
        f"{collect.server_url}/submission",
        data=body,
        headers={**collect._headers(), "Content-Type": content_type},
        timeout=10,
    )
    assert response.status_code == status
    assert b"OpenRosaResponse" in response.content
    assert text in response.text


@pytest.mark.parametrize(
    "xml",
    [
        b"<data id='visit' version='1'><unclosed></data>",
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<data id='visit' version='1'><ma_kh>&x;</ma_kh></data>",
        b"<data version='1'><meta><instanceID>uuid:x</instanceID></meta></data>",
    ],
)
def test_malformed_or_hostile_xml_is_400_and_nothing_is_stored(db, collect, visit_form, xml):
    [reply] = collect.submit(xml, {"anh.jpg": PHOTO})
    assert reply.status == 400
    assert reply.message
    assert "root:" not in reply.message  # /etc/passwd never read
    assert rows(db, Submission) == []
    assert rows(db, Blob) == []


def test_body_over_the_limit_is_413_and_nothing_is_stored(db, app, collect, visit_form, settings):
    app.extensions["donghanh"].settings = settings.replace(max_submission_bytes=50_000)
    files = {
        "xml_submission_file": ("s.xml", visit(), "text/xml"),
        "anh.jpg": ("anh.jpg", PHOTO, "image/jpeg"),
    }
    try:
        response = collect.http.post(
            f"{collect.server_url}/submission", files=files, headers=collect._headers(), timeout=10
        )
    except requests.ConnectionError:
        pytest.fail("the server must answer 413, not drop the connection")
    assert response.status_code == 413
    assert b"OpenRosaResponse" in response.content
    assert rows(db, Submission) == []
    assert rows(db, Blob) == []


def test_encrypted_envelope_is_stored_as_it_is(db, collect, make_form):
    make_form(VISIT_MD.format(version="1").replace("| visit ", "| enc "))
    xml = encrypted_envelope("enc", UUID1, "1", ["1561432508817.jpg.enc"])
    replies = collect.submit(
        xml,
        {"1561432508817.jpg.enc": b"\x00cipher" * 100, "submission.xml.enc": b"\x01cipher" * 50},
    )
    assert [r.status for r in replies] == [201]
    [version] = rows(db, SubmissionVersion)
    assert version.xml == xml
    assert version.encrypted_key == "cFQwK3RJbw=="
    assert version.encrypted_data_name == "submission.xml.enc"
    names = sorted(a.name for a in rows(db, SubmissionAttachment))
    assert names == ["1561432508817.jpg.enc", "submission.xml.enc"]


def _text_part_post(app_user, live_server, xml: bytes) -> requests.Response:
    """The XML sent as a form field (no file name), as some clients do."""
    boundary = b"textPartBoundary"
    body = (
        b"--" + boundary + b"\r\n"
        b'Content-Disposition: form-data; name="xml_submission_file"\r\n'
        b"Content-Type: text/xml; charset=utf-8\r\n\r\n" + xml + b"\r\n--" + boundary + b"--\r\n"
    )
    return requests.post(
        f"{app_user.server_url(live_server)}/submission",
        data=body,
        headers={
            "X-OpenRosa-Version": "1.0",
            "Content-Type": "multipart/form-data; boundary=" + boundary.decode(),
        },
        timeout=10,
    )


def test_xml_sent_as_a_text_field_is_stored_exactly_or_refused(
    db, live_server, app_user, visit_form
):
    good = visit(UUID1).replace(b"LAHU1M1990", "Bình".encode())
    assert _text_part_post(app_user, live_server, good).status_code == 201
    bad = visit(UUID2).replace(b"LAHU1M1990", b"LAHU\x80\xf1\x81")  # not UTF-8
    refused = _text_part_post(app_user, live_server, bad)
    assert refused.status_code == 400  # not stored with U+FFFD in place of what was sent
    assert [bytes(v.xml) for v in rows(db, SubmissionVersion)] == [good]
