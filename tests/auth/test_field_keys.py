"""A lost phone or a leaked key is closed in one click: a revoked app user is refused on every
OpenRosa route at once (enumerated from the URL map); a new QR code replaces the old key; an
address that keeps guessing keys is locked out for a while."""

from __future__ import annotations

import pytest

from server.auth.permissions import SYSTEM
from server.services import app_users
from tests.support.collect import Collect


def openrosa_urls(app, project_id: int) -> list[tuple[str, str]]:
    values = {
        "project_id": project_id,
        "xml_form_id": "visit",
        "name": "anh.jpg",
    }
    out = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("openrosa."):
            continue
        path = rule.build({k: values[k] for k in rule.arguments}, append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out.append((method, path))
    return out


def test_every_openrosa_route_is_listed(app, project):
    assert len(openrosa_urls(app, project.id)) >= 13


def test_a_revoked_app_user_is_refused_on_every_openrosa_route_at_once(
    app, db, project, visit_form, app_user
):
    client = app.test_client()
    key = f"/v1/key/{app_user.token}"
    headers = {"X-OpenRosa-Version": "1.0"}
    before = {
        (m, p): client.open(key + p[3:], method=m, headers=headers).status_code
        for m, p in openrosa_urls(app, project.id)
    }
    assert before[("GET", f"/v1/projects/{project.id}/formList")] == 200
    with db.transaction() as session:
        app_users.revoke_app_user(session, SYSTEM, app_user.actor_id)
    after = {
        (m, p): client.open(key + p[3:], method=m, headers=headers).status_code
        for m, p in openrosa_urls(app, project.id)
    }
    assert set(after.values()) == {403}


def test_a_new_qr_code_replaces_the_old_key(login_as, project, visit_form, live_server, app_user):
    old_phone = Collect(app_user.server_url(live_server))
    assert old_phone.form_list() != []
    browser = login_as("manager")
    page = browser.post(f"/projects/{project.id}/app-users/{app_user.actor_id}/reissue")
    assert page.status_code == 200
    assert '<img class="qr"' in page.text
    assert old_phone.get(f"{old_phone.server_url}/formList").status_code == 403
    url = page.text.split('<code class="wrap">')[1].split("</code>")[0]
    new_phone = Collect(url.replace("https://donghanh.example.org", live_server))
    assert [f["formID"] for f in new_phone.form_list()] == ["visit"]


@pytest.fixture
def settings(settings):
    return settings.replace(login_max_failures=1)  # 20 wrong keys lock an address


def test_an_address_guessing_keys_is_locked_out(app, project, visit_form, app_user):
    client = app.test_client()
    headers = {"X-OpenRosa-Version": "1.0"}
    wrong = "A" * 64
    statuses = [
        client.get(f"/v1/key/{wrong}/projects/{project.id}/formList", headers=headers).status_code
        for _ in range(21)
    ]
    assert statuses[:19] == [403] * 19
    assert statuses[-1] == 429
    # Even the right key is refused from that address until the lock ends.
    good = client.get(f"/v1/key/{app_user.token}/projects/{project.id}/formList", headers=headers)
    assert good.status_code == 429
    assert b"OpenRosaResponse" in good.data
    other = app.test_client().get(
        f"/v1/key/{app_user.token}/projects/{project.id}/formList",
        headers=headers,
        environ_base={"REMOTE_ADDR": "10.1.2.3"},
    )
    assert other.status_code == 200
