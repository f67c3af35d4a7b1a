"""Field users as supervisors see them: each phone's wards and sites by name, last contact
and last submission, this week's and month's counts; read-only for a supervisor, changed by a
manager through the command line's service (and refused for another ward's manager)."""

from __future__ import annotations

import re

import pytest

from server.auth.permissions import SYSTEM
from server.models.audits import Audit
from server.services import app_users, worklists
from tests.indicators import programme as p

FAR_WARD = "00199"  # Phường Láng: no test user holds it


@pytest.fixture(scope="module")
def phones(site):
    with site.db.transaction() as session:
        far = app_users.create_app_user(session, SYSTEM, site.project_id, "TNV Xa", all_forms=True)
        app_users.set_wards(session, SYSTEM, far.actor_id, [FAR_WARD])
        lan = next(
            r.id for r in app_users.list_app_users(session, SYSTEM, site.project_id)
            if r.display_name == "TNV Lan"
        )  # fmt: skip
    today = worklists.local_today().isoformat()
    for _ in range(2):
        site.submit(p.f1(p.new_id(), p.new_id(), today, ward="00004"))
    site.submit(p.f1(p.new_id(), p.new_id(), today, ward="00118"))  # another ward of Lan's
    return lan, far.actor_id


def row_of(page: str, actor_id: int) -> str:
    return re.search(rf'<tr id="u-{actor_id}".*?</tr>', page, re.S).group(0)


def test_a_supervisor_sees_the_phones_of_its_wards_read_only(site, phones):
    lan, far = phones
    web = site.web("ward_supervisor")
    page = web.get(f"{site.url}/projects/{site.project_id}/field-users", timeout=10)
    assert page.status_code == 200
    row = row_of(page.text, lan)
    assert "Phường Ba Đình" in row  # the ward's name, not 00004
    # of a phone shared with other wards: only this ward's work, the other wards counted
    assert re.search(r'class="num week">(\d+)<', row).group(1) == "2"
    assert re.search(r'class="num month">(\d+)<', row).group(1) == "2"
    assert "Bồ Đề" not in row  # 00118, another of Lan's wards
    assert "và 15 xã/phường khác" in row
    assert "never" not in row
    assert "<time" in row
    assert f'id="u-{far}"' not in page.text  # a phone of another ward
    assert "edit-places" not in page.text
    assert "places-form" not in page.text
    edit = web.get(f"{site.url}/projects/{site.project_id}/field-users?edit={lan}", timeout=10)
    assert "places-form" not in edit.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    refused = web.post(
        f"{site.url}/projects/{site.project_id}/app-users/{lan}/places",
        data={"csrf_token": token, "wards": "00004"},
        timeout=10,
    )
    assert refused.status_code == 403
    assert site.get("/app-users", "supervisor").status_code == 403  # still no QR codes


def test_a_manager_changes_a_phones_wards_and_sites(site, phones):
    lan, far = phones
    web = site.web("manager")
    page = web.get(f"{site.url}/projects/{site.project_id}/field-users?edit={far}", timeout=10)
    assert 'id="places-form"' in page.text
    everything = row_of(page.text, lan)  # a project-wide manager: every ward, every count
    assert "Bồ Đề" in everything
    assert re.search(r'class="num week">(\d+)<', everything).group(1) == "3"
    assert "other-wards" not in everything
    assert "Phường Láng" in row_of(page.text, far)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    done = web.post(
        f"{site.url}/projects/{site.project_id}/app-users/{far}/places",
        data={"csrf_token": token, "wards": ["00199", "00226"]},
        timeout=10,
    )
    assert done.status_code == 200  # the page again, after the 303
    assert "Văn Miếu" in row_of(done.text, far)
    with site.db.transaction(write=False) as session:
        assert app_users.wards_by_actor(session, [far])[far] == ["00199", "00226"]
        changed = session.query(Audit).filter(Audit.action == "field_key.update.wards").count()
    assert changed >= 1
    bad = web.post(
        f"{site.url}/projects/{site.project_id}/app-users/{far}/places",
        data={"csrf_token": token, "wards": "99999"},
        timeout=10,
    )
    assert bad.status_code == 400
    assert "99999" in bad.text
    with site.db.transaction(write=False) as session:  # nothing half-written
        assert app_users.wards_by_actor(session, [far])[far] == ["00199", "00226"]
