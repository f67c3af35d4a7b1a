"""The end of records: soft delete and restore (API and web), purge of what was deleted over
30 days ago with the files no other record uses, and the erasure of one client's data on
request; each step is in the audit log."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import func, select

from server.auth.permissions import SYSTEM
from server.models.audits import Audit
from server.models.blobs import Blob
from server.models.deliveries import Delivery
from server.models.entities import Entity
from server.models.submissions import Submission, SubmissionVersion
from server.models.types import utcnow
from server.services import lifecycle, sessions
from tests.entities.test_follow_up import REGISTER_MD, VISIT_MD, registration, visit
from tests.support.xmls import instance

PHOTO = b"\xff\xd8\xff\xe0" + b"photo of the support given" * 40


def count(db, model, *where) -> int:
    with db.transaction(write=False) as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def api_as(app, db, make_user, role: str, project_id: int | None):
    make_user(f"{role}@example.org", role=role, project_id=project_id)
    with db.transaction() as session:
        token = sessions.log_in(session, f"{role}@example.org", "correct horse battery", None)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token.issued.token}"}
    return lambda method, path, **kw: client.open(
        f"/v1/projects/{project_id or 1}{path}", method=method, headers=headers, **kw
    )


def test_delete_hides_cancels_and_restore_brings_back(
    app, db, make_user, visit_form, collect, project
):
    assert collect.submit(instance("visit", "uuid:d1", gap="co"))[-1].status == 201
    api = api_as(app, db, make_user, "manager", project.id)
    assert api("DELETE", "/forms/visit/submissions/uuid:d1").status_code == 200
    assert count(db, Delivery, Delivery.state == "cancelled") == 1
    assert (
        api(
            "PATCH", "/forms/visit/submissions/uuid:d1", json={"reviewState": "approved"}
        ).status_code
        == 404
    )
    again = api("DELETE", "/forms/visit/submissions/uuid:d1")
    assert again.status_code == 404
    assert api("POST", "/forms/visit/submissions/uuid:d1/restore").status_code == 200
    assert count(db, Submission, Submission.deleted_at.is_(None)) == 1
    with db.transaction(write=False) as session:
        actions = session.scalars(select(Audit.action).where(Audit.action.like("submission.%")))
        assert {"submission.delete", "submission.restore"} <= set(actions)


def test_a_supervisor_cannot_delete(app, db, make_user, visit_form, collect, project):
    collect.submit(instance("visit", "uuid:d1", gap="co"))
    api = api_as(app, db, make_user, "supervisor", project.id)
    assert api("DELETE", "/forms/visit/submissions/uuid:d1").status_code == 403


def test_deleted_submissions_are_listed_on_the_web_and_restored(
    login_as, visit_form, collect, project
):
    collect.submit(instance("visit", "uuid:d1", gap="co"))
    manager = login_as("manager")
    base = f"/projects/{project.id}/forms/visit/submissions"
    deleted = manager.post(f"{base}/uuid:d1/delete")
    assert deleted.status_code == 303
    page = manager.get(deleted.headers["Location"]).text
    assert "Đã xóa phiếu" in page
    assert "uuid:d1" in page
    assert manager.get(f"{base}/uuid:d1").status_code == 404
    assert manager.post(f"{base}/uuid:d1/restore").status_code == 303
    assert manager.get(f"{base}/uuid:d1").status_code == 200


def test_purge_removes_rows_and_files_after_30_days_but_keeps_shared_files(
    app, db, visit_form, collect, project, settings
):
    store = app.extensions["donghanh"].blobs
    collect.submit(instance("visit", "uuid:p1", gap="co", anh="a.jpg"), {"a.jpg": PHOTO})
    collect.submit(instance("visit", "uuid:p2", gap="co", anh="b.jpg"), {"b.jpg": PHOTO})
    collect.submit(instance("visit", "uuid:p3", gap="co", anh="c.jpg"), {"c.jpg": PHOTO + b"other"})
    with db.transaction() as session:
        for instance_id in ("uuid:p1", "uuid:p3"):
            lifecycle.delete_submission(session, SYSTEM, project.id, "visit", instance_id)
        hashes = dict(session.execute(select(Blob.id, Blob.sha256)).all())
    assert len(hashes) == 2
    with db.transaction() as session:  # 29 days later: nothing yet
        assert (
            lifecycle.purge_deleted(
                session, store, SYSTEM, now=utcnow() + timedelta(days=29)
            ).submissions
            == 0
        )
    with db.transaction() as session:
        purged = lifecycle.purge_deleted(session, store, SYSTEM, now=utcnow() + timedelta(days=31))
    assert purged.submissions == 2
    assert purged.files == 1  # p1's photo is also p2's: kept
    assert count(db, Submission) == 1
    assert count(db, SubmissionVersion) == 1
    kept = [h for h in hashes.values() if store.exists(h)]
    assert len(kept) == 1
    assert count(db, Blob) == 1
    with db.transaction(write=False) as session:
        rows = session.scalars(
            select(Audit).where(Audit.action == "submission.purge").order_by(Audit.id)
        ).all()
    assert [r.details["submissions"] for r in rows] == [0, 2]


def test_erasing_a_client_removes_their_entity_submissions_files_and_deliveries(
    app, db, make_form, collect, app_user, project
):
    from server.services import app_users

    with db.transaction() as session:  # the phone holds the clients it visits
        app_users.set_wards(session, SYSTEM, app_user.actor_id, ["00118"])
    make_form(REGISTER_MD)
    make_form(VISIT_MD)
    binh, ha = str(uuid.uuid4()), str(uuid.uuid4())
    assert collect.submit(registration("uuid:r1", binh, "BINH01", "00118"))[-1].status == 201
    assert collect.submit(registration("uuid:r2", ha, "HA0002", "00118"))[-1].status == 201
    assert collect.submit(visit("uuid:v1", binh, 1, "2026-12-01"))[-1].status == 201
    assert collect.submit(visit("uuid:v2", ha, 1, "2026-12-02"))[-1].status == 201
    assert count(db, Submission) == 4
    api_admin = app.test_client()
    from server.services import users

    with db.transaction() as session:
        users.create_user(
            session, None, "admin@example.org", "correct horse battery", "donghanh", "admin"
        )
        token = sessions.log_in(session, "admin@example.org", "correct horse battery", None)
    response = api_admin.post(
        f"/v1/projects/{project.id}/erasures",
        json={"entityId": binh},
        headers={"Authorization": f"Bearer {token.issued.token}"},
    )
    assert response.status_code == 200, response.json
    assert response.json["submissions"] == 2
    assert response.json["entities"] == 1
    with db.transaction(write=False) as session:
        left = set(session.scalars(select(Submission.instance_id)))
        labels = set(session.scalars(select(Entity.label)))
        xml = b"".join(session.scalars(select(SubmissionVersion.xml)))
        audit_row = session.scalar(select(Audit).where(Audit.action == "client.erase"))
    assert left == {"uuid:r2", "uuid:v2"}
    assert labels == {"HA0002 - 00118"}
    assert b"BINH01" not in xml
    assert binh.encode() not in xml
    assert count(db, Delivery, Delivery.submission_id.is_(None)) == 0
    assert audit_row.details["entityId"] == binh
    assert "BINH01" not in str(audit_row.details)  # the log keeps ids and counts only


def test_only_an_administrator_may_erase(app, db, make_user, project):
    api = api_as(app, db, make_user, "manager", project.id)
    assert api("POST", "/erasures", json={"entityId": str(uuid.uuid4())}).status_code == 403
