"""A lost phone or a leaked key is closed in one click: a revoked app user is refused on every
OpenRosa route at once (enumerated from the URL map); a new QR code replaces the old key; an
address that keeps guessing keys is answered 429 for a while, while its live keys still work,
and a known revoked key never counts as a guess."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from server.auth.permissions import SYSTEM
from server.models.audits import Audit
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
    return settings.replace(login_address_max_failures=20)


def test_an_address_guessing_keys_gets_429_but_its_live_keys_still_work(
    app, db, project, visit_form, app_user
):
    client = app.test_client()
    headers = {"X-OpenRosa-Version": "1.0"}
    wrong = "A" * 64
    statuses = [
        client.get(f"/v1/key/{wrong}/projects/{project.id}/formList", headers=headers).status_code
        for _ in range(21)
    ]
    assert statuses[:19] == [403] * 19
    assert statuses[19:] == [429, 429]
    # The phones behind the same (carrier) address keep working with their own keys.
    good = client.get(f"/v1/key/{app_user.token}/projects/{project.id}/formList", headers=headers)
    assert good.status_code == 200
    other = app.test_client().get(
        f"/v1/key/{wrong}/projects/{project.id}/formList",
        headers=headers,
        environ_base={"REMOTE_ADDR": "198.51.100.7"},
    )
    assert other.status_code == 403  # another address is not held back
    with db.transaction(write=False) as session:
        refused = session.scalars(select(Audit).where(Audit.action == "field_key.refused")).all()
    assert len(refused) == 22
    assert refused[0].details == {"address": "127.0.0.1", "why": "unknown"}


def test_a_revoked_phone_on_auto_send_never_counts_as_guessing(
    app, db, project, visit_form, app_user
):
    with db.transaction() as session:
        fresh = app_users.create_app_user(session, SYSTEM, project.id, "TNV Hoa", all_forms=True)
        app_users.revoke_app_user(session, SYSTEM, app_user.actor_id)
        replaced = fresh.token
        app_users.reissue_app_user(session, SYSTEM, fresh.actor_id, project.id)
    client = app.test_client()
    headers = {"X-OpenRosa-Version": "1.0"}
    for token in (app_user.token, replaced):  # revoked, and replaced by a new QR code
        statuses = {
            client.get(
                f"/v1/key/{token}/projects/{project.id}/formList", headers=headers
            ).status_code
            for _ in range(30)
        }
        assert statuses == {403}
    wrong = client.get(f"/v1/key/{'B' * 64}/projects/{project.id}/formList", headers=headers)
    assert wrong.status_code == 403  # the address has not been counted for the known keys
    with db.transaction(write=False) as session:
        refused = session.scalars(select(Audit).where(Audit.action == "field_key.refused")).all()
    assert [r.details["why"] for r in refused].count("retired") == 60
    assert {r.subject_id for r in refused if r.details["why"] == "retired"} == {
        app_user.actor_id,
        fresh.actor_id,
    }
