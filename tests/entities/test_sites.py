"""Facility codes keep their case, one rule for every edge (entities.entity_name): the
facility VCT-01 is `VCT-01` in facilities.csv, in the referrals F3 makes and in the phones set
up with `--site VCT-01` (the command line, the field users page, the REST API), so the clinic
receives the referrals sent to it; a code typed in another case is the same facility."""

from __future__ import annotations

import csv
import io
import re
import uuid

import pytest
import requests

from server.auth.permissions import SYSTEM
from server.services import app_users
from tests.entities.test_program_referrals import HDR
from tests.entities.test_program_registration import registration
from tests.support.collect import Collect
from tests.web.conftest import log_in

PASSWORD = "correct horse battery"


def referral_to(instance_id: str, referral_id: str, client: str, site: str) -> bytes:
    """F3 as Collect writes it, the facility chosen from facilities.csv."""
    return f"""<data id="f3_chuyen_gui" version="2026120102">{HDR}<kh>{client}</kh>
<uic_kh>LAHU1150390</uic_kh><dv>xn_hiv</dv><co_so>{site}</co_so><cach>gioi_thieu</cach>
<han_xac_nhan>2026-12-06</han_xac_nhan><ma_phieu>00118-261122-ab12</ma_phieu><so_phieu/>
<tt>da_chuyen</tt><d>2026-11-22</d><meta><entity dataset="referrals" create="1"
 id="{referral_id}"><label>LAHU1150390 → Xét nghiệm HIV · 2026-11-22</label></entity>
<instanceID>{instance_id}</instanceID></meta></data>""".encode()


def csv_rows(phone: Collect, form_id: str, filename: str) -> list[dict]:
    listing = {f["formID"]: f for f in phone.form_list()}
    files = {m["filename"]: m for m in phone.manifest(listing[form_id]["manifestUrl"])}
    return list(csv.DictReader(io.StringIO(phone.get(files[filename]["downloadUrl"]).text)))


@pytest.fixture
def world(app, db, live_server, app_user, make_user, project):
    """After `init`: the facility VCT-01 added through the entity API by a manager, and a
    volunteer's phone in Bồ Đề that refers a client to it with the real F3."""
    assert app.test_cli_runner().invoke(args=["init"]).exit_code == 0
    make_user("manager@example.org", PASSWORD, "manager", project.id)
    token = requests.post(
        f"{live_server}/v1/sessions",
        timeout=10,
        json={"email": "manager@example.org", "password": PASSWORD},
    ).json()["token"]
    api = {"Authorization": f"Bearer {token}"}
    created = requests.post(
        f"{live_server}/v1/projects/{project.id}/datasets/facilities/entities",
        timeout=10,
        headers=api,
        json={"uuid": "VCT-01", "label": "Phòng khám VCT Long Biên", "data": {"loai": "VCT"}},
    )
    assert created.status_code == 200, created.text
    with db.transaction() as session:
        app_users.set_wards(session, SYSTEM, app_user.actor_id, ["00118"])
    volunteer = Collect(app_user.server_url(live_server))
    [facility] = csv_rows(volunteer, "f3_chuyen_gui", "facilities.csv")
    assert (facility["name"], facility["label"]) == ("VCT-01", "Phòng khám VCT Long Biên")
    client, ref = str(uuid.uuid4()), str(uuid.uuid4())
    assert volunteer.submit(registration("uuid:r-1", client))[0].status == 201
    assert (
        volunteer.submit(referral_to("uuid:f3-1", ref, client, facility["name"]))[0].status == 201
    )
    return {"api": api, "referral": ref}


def test_a_phone_set_up_with_site_vct_01_on_the_command_line_gets_its_referrals(
    app, live_server, settings, project, world
):
    runner = app.test_cli_runner()
    for typed in ("VCT-01", "vct-01"):  # as the README says, and typed in lower case
        made = runner.invoke(
            args=["app-users", "create", "VCT", "--project", str(project.id), "--site", typed]
        )
        assert made.exit_code == 0, made.output
        url = re.search(r"Collect server URL: (\S+)", made.output).group(1)
        nurse = Collect(url.replace(settings.public_url, live_server))
        [row] = csv_rows(nurse, "f4_ket_qua_cg", "referrals.csv")
        assert (row["name"], row["co_so"]) == (world["referral"], "VCT-01")


def test_a_phone_set_up_on_the_field_users_page_gets_the_referrals_of_its_site(
    app, make_user, live_server, settings, project, world
):
    make_user("lead@example.org", PASSWORD, "manager", project.id)
    client = app.test_client()
    assert log_in(client, "lead@example.org").status_code == 302
    page = client.get(f"/projects/{project.id}/app-users").text
    assert 'value="VCT-01"> <span>Phòng khám VCT Long Biên' in page  # the picker has names
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    made = client.post(
        f"/projects/{project.id}/app-users",
        data={"csrf_token": csrf, "display_name": "VCT", "sites": "VCT-01", "form_access": "all"},
    )
    assert made.status_code == 200
    url = re.search(r'<code class="wrap">([^<]+)</code>', made.text).group(1)
    nurse = Collect(url.replace(settings.public_url, live_server))
    [row] = csv_rows(nurse, "f4_ket_qua_cg", "referrals.csv")
    assert row["name"] == world["referral"]


def test_a_phone_made_through_the_rest_api_with_site_vct_01_gets_its_referrals(
    live_server, project, world
):
    made = requests.post(
        f"{live_server}/v1/projects/{project.id}/app-users",
        timeout=10,
        headers=world["api"],
        json={"displayName": "VCT", "sites": ["VCT-01"]},
    )
    assert made.status_code == 200, made.text
    actor_id, token = made.json()["id"], made.json()["token"]
    assigned = requests.post(
        f"{live_server}/v1/projects/{project.id}/forms/f4_ket_qua_cg/assignments/app-user/{actor_id}",
        timeout=10,
        headers=world["api"],
    )
    assert assigned.status_code == 200, assigned.text
    nurse = Collect(f"{live_server}/v1/key/{token}/projects/{project.id}")
    [row] = csv_rows(nurse, "f4_ket_qua_cg", "referrals.csv")
    assert row["name"] == world["referral"]
