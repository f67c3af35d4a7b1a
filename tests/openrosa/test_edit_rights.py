"""Who may edit a submission over OpenRosa (deprecatedID): the phone that sent the version it
replaces (Collect's edit of one's own finalized form), or a caller holding submission.update
in the submission's ward and in the ward the edit gives it. Anyone else is answered 403 in an
OpenRosa envelope, as Central answers a caller without the right, and nothing changes."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from server.auth.permissions import SYSTEM
from server.models.submissions import Submission, SubmissionVersion
from server.services import app_users
from tests.support.collect import Collect
from tests.web.conftest import PNG, REVIEW_MD, review_instance

PASSWORD = "correct horse battery"


@pytest.fixture
def review_form(make_form):
    return make_form(REVIEW_MD)


def current(db, instance_id: str = "uuid:a1") -> tuple[str, str]:
    with db.transaction(write=False) as session:
        return session.execute(
            select(SubmissionVersion.instance_id, Submission.ward)
            .join(Submission, Submission.id == SubmissionVersion.submission_id)
            .where(Submission.instance_id == instance_id, SubmissionVersion.current)
        ).one()


def other_phone(db, project, live_server) -> Collect:
    with db.transaction() as session:
        issued = app_users.create_app_user(session, SYSTEM, project.id, "TNV Hoa", all_forms=True)
    return Collect(issued.server_url(live_server))


def test_a_phone_cannot_replace_another_phones_submission(
    db, review_form, collect, live_server, project
):
    assert collect.submit(review_instance("uuid:a1", ma_xa="00004"))[0].status == 201
    intruder = other_phone(db, project, live_server)
    [reply] = intruder.submit(review_instance("uuid:a2", "uuid:a1", ma_xa="00007"))
    assert reply.status == 403
    assert reply.headers["Content-Type"].startswith("text/xml")
    assert reply.message.endswith("(403.1)")  # the OpenRosa envelope, in Vietnamese
    assert current(db) == ("uuid:a1", "00004")
    [own] = collect.submit(review_instance("uuid:a3", "uuid:a1", ma_xa="00007"))
    assert own.status == 201  # the sender edits its own record, even to another ward
    assert current(db) == ("uuid:a3", "00007")


def test_a_ward_manager_edits_in_its_ward_and_cannot_move_a_submission_out(
    db, review_form, collect, live_server, project, make_user
):
    assert collect.submit(review_instance("uuid:a1", ma_xa="00004"))[0].status == 201
    make_user("wm@example.org", PASSWORD, "manager", project.id, wards=("00004",), digest=True)
    manager = Collect(f"{live_server}/v1/projects/{project.id}", "wm@example.org", PASSWORD)
    [moved] = manager.submit(review_instance("uuid:a2", "uuid:a1", ma_xa="00007"))
    assert moved.status == 403
    assert current(db) == ("uuid:a1", "00004")
    [kept] = manager.submit(review_instance("uuid:a3", "uuid:a1", ma_xa="00004", gap="khong"))
    assert kept.status == 201
    assert current(db) == ("uuid:a3", "00004")
    [new] = manager.submit(review_instance("uuid:b1", ma_xa="00007"))
    assert new.status == 403  # nor a new submission into another ward
    assert collect.submit(review_instance("uuid:c1", ma_xa="00007"))[0].status == 201
    [files] = manager.submit(review_instance("uuid:c1", ma_xa="00007"), {"proof.png": PNG})
    assert files.status == 403  # nor files into another ward's submission, by a resend
    assert manager.submit(review_instance("uuid:b2", ma_xa="00004"))[0].status == 201
