"""The REST API around forwarding, over HTTP: sessions, review (pyodk's PATCH), the attachment
URLs a payload gives the register, delivery lists, retries, stats and /metrics."""

from __future__ import annotations

import hashlib

import pytest
import requests

from server.services import storage
from sync.worker import drain
from tests.support.xmls import instance

PASSWORD = "correct horse battery"


@pytest.fixture
def admin_token(live_server, make_user):
    make_user("admin@example.org", PASSWORD, "admin")
    response = requests.post(
        f"{live_server}/v1/sessions",
        json={"email": "admin@example.org", "password": PASSWORD},
        timeout=10,
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "csrf", "createdAt", "expiresAt"}
    return body["token"]


def api(live_server, token, method, path, **kwargs) -> requests.Response:
    return requests.request(
        method,
        f"{live_server}/v1{path}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
        **kwargs,
    )


def test_wrong_password_is_401_json_and_audited(live_server, make_user):
    make_user("a@example.org", PASSWORD, "admin")
    response = requests.post(
        f"{live_server}/v1/sessions",
        json={"email": "a@example.org", "password": "nope nope nope"},
        timeout=10,
    )
    assert response.status_code == 401
    assert response.json()["code"] == 401.2


def test_api_without_credentials_is_401(live_server):
    response = requests.get(f"{live_server}/v1/deliveries", timeout=10)
    assert response.status_code == 401
    assert response.json()["code"] == 401.2


def test_review_approves_and_forwards_an_on_approval_form(
    app, db, live_server, admin_token, submit, visit_form, project, register
):
    app.test_cli_runner().invoke(
        args=["forms", "policy", "visit", "on_approval", "--project", str(project.id)]
    )
    submit(instance("visit", "uuid:p1", gap="co"))
    assert drain(app) == 0
    path = f"/projects/{project.id}/forms/visit/submissions/uuid:p1"
    bad = api(live_server, admin_token, "PATCH", path, json={"reviewState": "great"})
    assert bad.status_code == 400
    response = api(live_server, admin_token, "PATCH", path, json={"reviewState": "approved"})
    assert response.status_code == 200
    assert response.json()["reviewState"] == "approved"
    assert drain(app) == 1
    assert len(register.stored) == 1


def test_register_fetches_attachments_at_the_payload_urls(
    app, db, live_server, admin_token, make_form, submit, tmp_path, register
):
    from tests.sync.test_privacy_and_review import ANSWERS, SENSITIVE_MD

    make_form(SENSITIVE_MD)
    result = submit(instance("tham", "uuid:f1", **ANSWERS))
    photo = tmp_path / "a.jpg"
    photo.write_bytes(b"\xff\xd8 the photo")
    with db.transaction() as session:
        sha, md5, size = storage.hash_file(photo)
        blob_id = storage.store_file(
            session, app.extensions["donghanh"].blobs, str(photo), sha, md5, size, "image/jpeg"
        )
        from server.models.submissions import SubmissionAttachment

        session.query(SubmissionAttachment).filter_by(
            submission_version_id=result.version_id
        ).update({"blob_id": blob_id})
    from server.registers import TargetConfig
    from sync.payload import build

    with db.transaction(write=False) as session:
        payload = build(
            session, result.version_id, TargetConfig("t", "https://r", "full"), live_server
        )
    import json

    [attachment] = json.loads(payload.body)["attachments"]
    url = attachment["url"]
    assert url.startswith(f"{live_server}/v1/projects/")
    assert requests.get(url, timeout=10).status_code == 401  # the register needs credentials
    fetched = requests.get(url, headers={"Authorization": f"Bearer {admin_token}"}, timeout=10)
    assert fetched.status_code == 200
    assert hashlib.sha256(fetched.content).hexdigest() == attachment["sha256"]
    assert fetched.headers["X-Content-Type-Options"] == "nosniff"


def test_dead_deliveries_are_listed_retried_and_counted(
    app, live_server, admin_token, submit, visit_form, register
):
    register.refuse["uuid:d1"] = 400
    submit(instance("visit", "uuid:d1", gap="co"))
    drain(app)
    [dead] = api(live_server, admin_token, "GET", "/deliveries?state=dead").json()
    assert dead["lastError"].startswith("HTTP 400")
    [stats] = api(live_server, admin_token, "GET", "/deliveries/stats").json()
    assert (stats["dead"], stats["delivered"], stats["pending"]) == (1, 0, 0)
    metrics = requests.get(f"{live_server}/metrics", timeout=10).text
    assert f'donghanh_deliveries_dead{{target="{register.url}"}} 1' in metrics
    del register.refuse["uuid:d1"]
    response = api(live_server, admin_token, "POST", f"/deliveries/{dead['id']}/retry")
    assert response.json() == {"success": True, "retried": 1}
    drain(app)
    [stats] = api(live_server, admin_token, "GET", "/deliveries/stats").json()
    assert (stats["dead"], stats["delivered"]) == (0, 1)


def test_an_app_user_cannot_read_deliveries(live_server, app_user):
    response = requests.get(f"{live_server}/v1/key/{app_user.token}/deliveries", timeout=10)
    assert response.status_code == 403
