"""The audit log: append-only in the database itself, searchable by actor, action, record and
time in the API and the web UI, exported as CSV (and the export is itself recorded)."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DatabaseError

from server.models.audits import Audit
from server.services import sessions
from tests.web.conftest import review_instance


def admin_token(db, make_user) -> str:
    make_user("admin@example.org", role="admin")
    with db.transaction() as session:
        return sessions.log_in(
            session, "admin@example.org", "correct horse battery", None
        ).issued.token


@pytest.fixture
def history(db, make_user, review_form, collect, login_as, project):
    """Two submissions, a look at one by a supervisor, a failed log-in."""
    collect.submit(review_instance("uuid:a1"))
    collect.submit(review_instance("uuid:a2"))
    browser = login_as("supervisor", email="lan@example.org")
    browser.get(f"/projects/{project.id}/forms/review/submissions/uuid:a1")
    with db.transaction() as session:
        sessions.log_in(session, "lan@example.org", "wrong password", "10.0.0.9")
    return browser


def test_rows_cannot_be_changed_or_removed(db, history):
    for statement in (update(Audit).values(action="nothing"), delete(Audit)):
        with pytest.raises(DatabaseError), db.transaction() as session:
            session.execute(statement)
    with db.transaction(write=False) as session:
        assert session.scalar(select(func.count()).select_from(Audit)) > 0
        assert session.scalar(select(func.count()).where(Audit.action == "nothing")) == 0


def test_raw_sql_cannot_rewrite_history_either(db, history):
    with pytest.raises(DatabaseError), db.engine.begin() as conn:
        conn.execute(text("UPDATE audits SET actor_id = NULL"))


def test_api_searches_by_action_actor_record_and_time(app, db, make_user, history):
    client = app.test_client()
    headers = {"Authorization": f"Bearer {admin_token(db, make_user)}"}
    reads = client.get("/v1/audits?action=submission.read", headers=headers).json
    assert [r["action"] for r in reads] == ["submission.read"]
    assert reads[0]["actorName"] == "lan@example.org"
    actor_id = reads[0]["actorId"]
    by_actor = client.get(f"/v1/audits?actorId={actor_id}", headers=headers).json
    assert {r["action"] for r in by_actor} >= {"submission.read", "user.session.create"}
    record = client.get(
        f"/v1/audits?subjectType=submission&subjectId={reads[0]['acteeId']}", headers=headers
    ).json
    assert {r["action"] for r in record} == {"submission.create", "submission.read"}
    prefix = client.get("/v1/audits?action=user.session.", headers=headers).json
    assert {r["action"] for r in prefix} == {"user.session.create", "user.session.failed"}
    future = client.get("/v1/audits?start=2100-01-01T00:00Z", headers=headers).json
    assert future == []
    bad = client.get("/v1/audits?start=yesterday", headers=headers)
    assert bad.status_code == 400
    assert "ISO 8601" in bad.json["message"]
    for name in ("actorId", "subjectId"):  # beyond any column: a 400, not the database's 500
        huge = client.get(f"/v1/audits?{name}={10**19}", headers=headers)
        assert huge.status_code == 400, (name, huge.json)
        assert name in huge.json["message"]


def test_api_pages_newest_first(app, db, make_user, history):
    client = app.test_client()
    headers = {"Authorization": f"Bearer {admin_token(db, make_user)}"}
    first = client.get("/v1/audits?limit=2", headers=headers)
    assert len(first.json) == 2
    assert first.json[0]["id"] > first.json[1]["id"]
    second = client.get(
        f"/v1/audits?limit=2&before={first.headers['X-Next-Before']}", headers=headers
    )
    assert second.json[0]["id"] < first.json[1]["id"]


def test_csv_export_has_every_matching_row_and_is_itself_recorded(app, db, make_user, history):
    client = app.test_client()
    headers = {"Authorization": f"Bearer {admin_token(db, make_user)}"}
    response = client.get("/v1/audits.csv?action=submission.", headers=headers)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert sorted(r["action"] for r in rows) == [
        "submission.create",
        "submission.create",
        "submission.read",
    ]
    with db.transaction(write=False) as session:
        exports = session.scalars(select(Audit).where(Audit.action == "audit.export")).all()
    assert len(exports) == 1
    assert exports[0].details == {"action": "submission."}


def test_web_page_lists_and_filters_the_log_for_an_administrator(login_as, history):
    admin = login_as("admin", project_id=None)
    page = admin.get("/audits?action=submission.read")
    assert page.status_code == 200
    assert page.text.count("<code>submission.read</code>") == 1
    assert "lan@example.org" in page.text
    export = admin.get("/audits.csv?action=user.session.failed")
    assert export.status_code == 200
    assert "user.session.failed" in export.data.decode("utf-8-sig")
    assert "10.0.0.9" in export.data.decode()  # a failure says where it came from
    assert "wrong password" not in export.data.decode()  # never what was tried


def test_a_supervisor_cannot_read_the_log(history):
    assert history.get("/audits").status_code == 403
