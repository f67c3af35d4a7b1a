"""Submissions through ODK Central's own client (pyodk) over real HTTP: list, get, the XML,
attachments, review and comments; a ward supervisor's client sees only its ward, and every
read is in the audit log."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from server.models.audits import Audit
from server.models.submissions import SubmissionAttachment, SubmissionVersion
from tests.support.central_client import central_client
from tests.web.conftest import PNG, review_form, review_instance  # noqa: F401  (fixture)

A1 = "uuid:5d0b6a1e-1c1f-4f5a-9c3e-0a0b0c0d0e01"
A2 = "uuid:5d0b6a1e-1c1f-4f5a-9c3e-0a0b0c0d0e02"


@pytest.fixture
def sent(collect, review_form):  # noqa: F811
    """Two submissions from the field: one in ward 00004 with its photo, one in 00008 without."""
    assert collect.submit(review_instance(A1, name="Bình"), {"proof.png": PNG})[-1].status == 201
    assert collect.submit(review_instance(A2, ma_xa="00008", name="Hà"))[-1].status == 201


@pytest.fixture
def supervisor(live_server, make_user, project, tmp_path: Path):
    make_user("giamsat@example.org", role="supervisor", project_id=project.id)
    with central_client(live_server, "giamsat@example.org", tmp_path, project.id) as client:
        yield client


def actions(db, action: str) -> list[Audit]:
    with db.transaction(write=False) as session:
        return session.scalars(select(Audit).where(Audit.action == action)).all()


def test_pyodk_lists_and_gets_submissions_with_centrals_fields(supervisor, sent, app_user, db):
    listed = supervisor.submissions.list(form_id="review")
    assert [s.instanceId for s in listed] == [A2, A1]  # newest first
    assert {s.submitterId for s in listed} == {app_user.actor_id}
    assert listed[0].instanceName == "Hà"
    assert listed[0].deviceId == "collect:AbCdEfGh12345678"
    one = supervisor.submissions.get(form_id="review", instance_id=A1)
    assert (one.instanceId, one.reviewState) == (A1, None)
    assert [a.details["count"] for a in actions(db, "submission.list")] == [2]
    assert len(actions(db, "submission.read")) == 1


def test_the_xml_and_the_attachments_of_a_submission(supervisor, sent, project, db):
    base = f"projects/{project.id}/forms/review/submissions"
    xml = supervisor.get(f"{base}/{A1}.xml")
    assert xml.status_code == 200
    assert xml.headers["Content-Type"].startswith("application/xml")
    assert b"<ho_ten>Nguy\xe1\xbb\x85n V\xc4\x83n B\xc3\xacnh</ho_ten>" in xml.content
    assert supervisor.get(f"{base}/{A1}/attachments").json() == [
        {"name": "proof.png", "exists": True}
    ]
    assert supervisor.get(f"{base}/{A2}/attachments").json() == [
        {"name": "proof.png", "exists": False}
    ]
    assert len(actions(db, "submission.read")) == 1  # the XML is a look at the answers


def test_review_and_comments_as_pyodk_sends_them(supervisor, sent):
    # pyodk PATCHes the review state, reads the answer as a Submission, then POSTs the comment.
    supervisor.submissions.review(
        form_id="review", instance_id=A1, review_state="hasIssues", comment="Thiếu ảnh CCCD"
    )
    comments = supervisor.submissions.list_comments(form_id="review", instance_id=A1)
    assert [c.body for c in comments] == ["Thiếu ảnh CCCD"]
    added = supervisor.submissions.add_comment(
        form_id="review", instance_id=A1, comment="Đã gọi lại"
    )
    assert added.body == "Đã gọi lại"
    assert added.actorId == comments[0].actorId
    assert supervisor.submissions.get(form_id="review", instance_id=A1).reviewState == "hasIssues"


def test_a_ward_supervisor_sees_only_its_ward(live_server, make_user, project, sent, tmp_path):
    make_user("phuong4@example.org", role="supervisor", project_id=project.id, wards=("00004",))
    with central_client(live_server, "phuong4@example.org", tmp_path, project.id) as ward:
        assert [s.instanceId for s in ward.submissions.list(form_id="review")] == [A1]
        base = f"projects/{project.id}/forms/review/submissions/{A2}"
        for path in (base, f"{base}.xml", f"{base}/attachments", f"{base}/comments"):
            assert ward.get(path).status_code == 404, path  # no trace of another ward's record
        assert ward.post(f"{base}/comments", json={"body": "x"}).status_code == 404


def test_a_viewer_reads_but_cannot_comment(live_server, make_user, project, sent, tmp_path):
    make_user("xem@example.org", role="viewer", project_id=project.id)
    with central_client(live_server, "xem@example.org", tmp_path, project.id) as viewer:
        assert len(viewer.submissions.list(form_id="review")) == 2
        base = f"projects/{project.id}/forms/review/submissions/{A1}"
        assert viewer.post(f"{base}/comments", json={"body": "x"}).status_code == 403
        empty = viewer.get(f"{base}/comments")
        assert empty.json() == []


@pytest.fixture
def manager(live_server, make_user, project, tmp_path: Path, review_form):  # noqa: F811
    make_user("quanly@example.org", role="manager", project_id=project.id)
    with central_client(live_server, "quanly@example.org", tmp_path, project.id) as client:
        yield client


def test_pyodk_creates_a_submission_with_its_photo_then_edits_it(manager, db, tmp_path, project):
    photo = tmp_path / "proof.png"
    photo.write_bytes(PNG)
    created = manager.submissions.create(
        xml=review_instance(A1, name="Nhập từ văn phòng").decode(),
        form_id="review",
        device_id="office:1",
        attachments=[photo],
    )
    assert (created.instanceId, created.deviceId) == (A1, "office:1")
    with db.transaction(write=False) as session:
        [slot] = session.scalars(select(SubmissionAttachment)).all()
        assert slot.blob_id is not None  # the photo arrived through the REST upload

    manager.submissions.edit(
        instance_id=A1,
        xml=review_instance(A2, deprecated_id=A1, ho_ten="Nguyễn Văn Bính").decode(),
        form_id="review",
        comment="Sửa tên theo CCCD",
    )
    edited = manager.submissions.get(form_id="review", instance_id=A1)
    assert edited.reviewState == "edited"
    with db.transaction(write=False) as session:
        versions = session.scalars(
            select(SubmissionVersion.instance_id).order_by(SubmissionVersion.id)
        ).all()
        carried = session.scalars(
            select(SubmissionAttachment.blob_id).order_by(SubmissionAttachment.id)
        ).all()
    assert versions == [A1, A2]
    assert carried[0] == carried[1]  # the photo is carried to the new version
    xml = manager.get(f"projects/{project.id}/forms/review/submissions/{A1}.xml")
    assert "Bính" in xml.text


def test_rest_writes_refuse_what_central_refuses(manager, project, db):
    base = f"projects/{project.id}/forms/review/submissions"
    xml = review_instance(A1)
    assert manager.post(base, data=xml, headers={"Content-Type": "application/xml"}).ok
    again = manager.post(base, data=xml, headers={"Content-Type": "application/xml"})
    assert again.status_code == 409  # an instanceID already used
    as_text = manager.post(base, data=xml, headers={"Content-Type": "text/plain"})
    assert as_text.status_code == 400
    other_form = manager.post(
        f"projects/{project.id}/forms/visit/submissions",
        data=review_instance(A2),
        headers={"Content-Type": "application/xml"},
    )
    assert other_form.status_code in (400, 404)  # the XML names another form
    stray = manager.post(f"{base}/{A1}/attachments/not-named.jpg", data=b"x")
    assert stray.status_code == 404  # a file the submission does not name
    no_deprecated = manager.put(
        f"{base}/{A1}", data=review_instance(A2), headers={"Content-Type": "application/xml"}
    )
    assert no_deprecated.status_code == 400
    with db.transaction(write=False) as session:
        assert session.scalars(select(SubmissionVersion.instance_id)).all() == [A1]


def test_a_ward_supervisor_cannot_edit_another_wards_submission(
    live_server, make_user, project, sent, tmp_path
):
    make_user("phuong4@example.org", role="supervisor", project_id=project.id, wards=("00004",))
    with central_client(live_server, "phuong4@example.org", tmp_path, project.id) as ward:
        response = ward.put(
            f"projects/{project.id}/forms/review/submissions/{A2}",
            data=review_instance("uuid:5d0b6a1e-1c1f-4f5a-9c3e-0a0b0c0d0e03", deprecated_id=A2),
            headers={"Content-Type": "application/xml"},
        )
        assert response.status_code == 404
