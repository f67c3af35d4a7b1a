"""Every look is audited (issue 11, the README's promise): the REST entity list and entity get,
a phone's entity-list download and integrity check, the web submission list and its search,
the REST comment and attachment lists, the deleted list and reads of the audit log itself.
A bulk read is one row with its count and filters, never the answers or the words searched."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import event, select

from server.auth.permissions import SYSTEM
from server.models.audits import Audit
from server.services import app_users, sessions
from tests.entities.test_follow_up import REGISTER_MD, VISIT_MD, phone_of, registration
from tests.web.conftest import PNG, review_instance

LIST = "/projects/{p}/forms/review/submissions"
MINE = "0b5e4a3c-9d2f-4e1a-8b7c-6d5e4f3a2b1c"
OTHER = "6f2f8e4a-3c2b-4d8e-9a51-0c1b2a3d4e5f"


def rows(db, action: str) -> list[Audit]:
    with db.transaction(write=False) as session:
        return list(session.scalars(select(Audit).where(Audit.action == action)))


def bearer(db, make_user, role="admin", **kw) -> dict:
    email = f"{role}@example.org"
    make_user(email, role=role, **kw)
    with db.transaction() as session:
        token = sessions.log_in(session, email, "correct horse battery", None).issued.token
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def clients(db, make_form, app_user, collect, live_server, project):
    """Two clients, in wards 00118 (the phone's) and 00004 (registered by that ward's phone)."""
    make_form(REGISTER_MD)
    make_form(VISIT_MD)
    with db.transaction() as session:
        app_users.set_wards(session, SYSTEM, app_user.actor_id, ["00118"])
    assert collect.submit(registration("uuid:r1", MINE, "LAHU1M1990", "00118"))[0].status == 201
    other = phone_of(db, live_server, project.id, "00004")
    assert other.submit(registration("uuid:r2", OTHER, "MAHO2F1985", "00004"))[0].status == 201


def test_the_rest_entity_list_and_entity_get_are_audited(app, db, make_user, project, clients):
    headers = bearer(db, make_user)
    client = app.test_client()
    base = f"/v1/projects/{project.id}/datasets/clients/entities"
    assert len(client.get(base, headers=headers).json) == 2
    assert client.get(f"{base}/{MINE}", headers=headers).status_code == 200
    [listed] = rows(db, "entity.list.read")
    assert listed.details["count"] == 2
    assert listed.subject_type == "dataset"
    [read] = rows(db, "entity.read")
    assert read.subject_type == "entity"
    assert read.actor_id is not None
    assert "LAHU1M1990" not in json.dumps([listed.details, read.details])


def test_a_phones_list_download_and_integrity_check_are_audited(db, app_user, collect, clients):
    listing = {f["formID"]: f for f in collect.form_list()}
    [media] = collect.manifest(listing["tham"]["manifestUrl"])
    statements: list[str] = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement.lstrip().split(None, 1)[0].upper())

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        assert collect.get(media["downloadUrl"]).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert statements.count("INSERT") == 1  # the hot path: one INSERT, no other write
    assert not {"UPDATE", "DELETE"} & set(statements)
    [download] = rows(db, "entity.list.download")
    assert download.actor_id == app_user.actor_id
    assert download.details == {"count": 1, "complete": True}  # its ward's client only
    assert download.subject_type == "dataset"
    assert download.subject_id is not None
    assert collect.get(f"{media['integrityUrl']}?id={MINE},{OTHER}").status_code == 200
    [check] = rows(db, "entity.integrity.read")
    assert check.actor_id == app_user.actor_id
    assert check.details == {"asked": 2, "count": 2}


def test_the_web_list_and_its_search_are_audited_without_the_words(
    db, login_as, collect, review_form, project
):
    for iid, name in (("uuid:a1", "Nguyễn Văn Bình"), ("uuid:a2", "Lê Thị Hoa")):
        xml = review_instance(iid, ho_ten=name, name=name)
        assert collect.submit(xml, {"proof.png": PNG})[-1].status == 201
    browser = login_as("supervisor")
    assert browser.get(LIST.format(p=project.id)).status_code == 200
    assert browser.get(f"{LIST.format(p=project.id)}?q=binh&ward=00004").status_code == 200
    plain, searched = sorted(rows(db, "submission.list"), key=lambda a: a.id)
    assert plain.details == {"count": 2, "total": 2}
    assert plain.subject_type == "form"
    assert searched.details == {"count": 1, "total": 1, "ward": "00004", "search": {"length": 4}}
    export = browser.get(f"{LIST.format(p=project.id)}.csv?q=binh")
    assert export.status_code == 200
    [exported] = rows(db, "submission.export")
    assert exported.details["search"] == {"length": 4}
    assert "binh" not in json.dumps([a.details for a in (plain, searched, exported)]).lower()


def test_the_rest_comment_and_attachment_lists_are_audited(
    app, db, make_user, collect, review_form, project
):
    assert collect.submit(review_instance("uuid:a1"), {"proof.png": PNG})[-1].status == 201
    headers = bearer(db, make_user)
    client = app.test_client()
    base = f"/v1{LIST.format(p=project.id)}/uuid:a1"
    assert (
        client.post(f"{base}/comments", headers=headers, json={"body": "Gọi lại"}).status_code
        == 200
    )
    assert len(client.get(f"{base}/comments", headers=headers).json) == 1
    assert client.get(f"{base}/attachments", headers=headers).json == [
        {"name": "proof.png", "exists": True}
    ]
    [comments] = rows(db, "submission.comment.list")
    assert comments.details == {"count": 1}
    assert comments.subject_type == "submission"
    [files] = rows(db, "submission.attachment.list")
    assert files.details == {"count": 1}
    assert "Gọi lại" not in json.dumps(comments.details)


def test_the_deleted_list_is_audited(db, login_as, collect, review_form, project):
    assert collect.submit(review_instance("uuid:a1"), {"proof.png": PNG})[-1].status == 201
    manager = login_as("manager")
    assert manager.post(f"{LIST.format(p=project.id)}/uuid:a1/delete").status_code == 303
    assert manager.get(f"{LIST.format(p=project.id)}/deleted").status_code == 200
    [looked] = rows(db, "submission.deleted.list")
    assert looked.details == {"count": 1}
    assert looked.actor_id is not None


def test_reading_the_audit_log_is_itself_audited(app, db, make_user, login_as):
    headers = bearer(db, make_user)
    assert app.test_client().get("/v1/audits?action=user.", headers=headers).status_code == 200
    admin = login_as("admin", project_id=None)
    assert admin.get("/audits?action=submission.read").status_code == 200
    api, web = sorted(rows(db, "audit.read"), key=lambda a: a.id)
    assert api.details["action"] == "user."
    assert isinstance(api.details["count"], int)
    assert web.details["action"] == "submission.read"
    assert web.details["count"] == 0
