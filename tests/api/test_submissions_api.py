"""Submissions through ODK Central's own client (pyodk) over real HTTP: list, get, the XML,
attachments, review and comments; a ward supervisor's client sees only its ward, and every
read is in the audit log."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from server.models.audits import Audit
from tests.support.central_client import central_client
from tests.web.conftest import PNG, review_form, review_instance  # noqa: F401  (fixture)

A1 = "uuid:5d0b6a1e-1c1f-4f5a-9c3e-0a0b0c0d0e01"
A2 = "uuid:5d0b6a1e-1c1f-4f5a-9c3e-0a0b0c0d0e02"


@pytest.fixture
def sent(collect, review_form):  # noqa: F811
    """Two submissions from the field: one in ward 00004 with its photo, one in 00007 without."""
    assert collect.submit(review_instance(A1, name="Bình"), {"proof.png": PNG})[-1].status == 201
    assert collect.submit(review_instance(A2, ma_xa="00007", name="Hà"))[-1].status == 201


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
