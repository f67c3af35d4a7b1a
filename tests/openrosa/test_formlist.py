"""formList, form download, manifest and media over real HTTP, as ODK Collect calls them."""

from __future__ import annotations

import hashlib

import requests

from server.auth.permissions import SYSTEM
from server.services import app_users, projects, storage
from server.services import forms as form_service
from tests.conftest import VISIT_MD
from tests.support.collect import Collect

MEDIA_MD = """
| survey   |        |       |          |             |
|          | type   | name  | label    | media::image |
|          | note   | intro | Welcome  | logo.png    |
| settings |        |       |          |             |
|          | form_id | version |        |             |
|          | with_media | 7   |          |             |
"""


def test_form_list_lists_published_form_with_md5_of_the_bytes_served(collect, visit_form):
    [item] = collect.form_list()
    assert item["formID"] == "visit"
    assert item["name"] == "Thăm"
    assert item["version"] == "1"
    served = collect.get(item["downloadUrl"])
    assert served.status_code == 200
    assert item["hash"] == "md5:" + hashlib.md5(served.content).hexdigest()
    assert served.content == visit_form.xml
    assert "/v1/key/" in item["downloadUrl"]  # URLs keep the caller's key prefix
    assert "manifestUrl" not in item  # no media expected


def test_form_list_sends_openrosa_headers(collect, visit_form):
    response = collect.get(f"{collect.server_url}/formList")
    assert response.headers["Content-Type"] == "text/xml; charset=utf-8"
    assert response.headers["X-OpenRosa-Version"] == "1.0"
    assert int(response.headers["X-OpenRosa-Accept-Content-Length"]) > 0
    assert response.headers["Date"].endswith("GMT")


def test_form_list_is_empty_xforms_element_when_no_forms(collect):
    assert collect.form_list() == []


def test_form_list_refuses_request_without_openrosa_version_header(live_server, app_user):
    response = requests.get(f"{app_user.server_url(live_server)}/formList", timeout=10)
    assert response.status_code == 400
    assert b"X-OpenRosa-Version" in response.content
    assert "text/xml" in response.headers["Content-Type"]


def test_new_version_replaces_old_in_form_list(collect, make_form, visit_form):
    make_form(VISIT_MD.format(version="2"))
    [item] = collect.form_list()
    assert item["version"] == "2"


def test_closing_and_closed_forms_are_not_listed_but_open_ones_are(
    db, collect, make_form, project, visit_form
):
    make_form(VISIT_MD.format(version="1").replace("| visit ", "| visit2 "))
    with db.transaction() as session:
        form_service.set_state(session, SYSTEM, project.id, "visit", "closing")
    assert [f["formID"] for f in collect.form_list()] == ["visit2"]
    with db.transaction() as session:
        form_service.set_state(session, SYSTEM, project.id, "visit2", "closed")
    assert collect.form_list() == []


def test_form_id_filter_returns_only_that_form(collect, make_form, visit_form):
    make_form(VISIT_MD.format(version="1").replace("| visit ", "| other "))
    response = collect.get(f"{collect.server_url}/formList?formID=other")
    assert b"<formID>other</formID>" in response.content
    assert b"<formID>visit</formID>" not in response.content


def test_app_user_sees_only_its_own_project(db, live_server, project, visit_form):
    with db.transaction() as session:
        other = projects.create_project(session, None, "Xã khác")
        issued = app_users.create_app_user(session, SYSTEM, other.id, "TNV khác", all_forms=True)
    other_collect = Collect(issued.server_url(live_server))
    assert other_collect.form_list() == []
    # and its key cannot read the first project's list at all
    first = live_server + f"/v1/key/{issued.token}/projects/{project.id}/formList"
    assert other_collect.get(first).status_code == 403


def test_unknown_and_revoked_tokens_are_refused_with_403(db, live_server, app_user, visit_form):
    unknown = Collect(f"{live_server}/v1/key/{'A' * 64}/projects/1")
    assert unknown.get(f"{unknown.server_url}/formList").status_code == 403
    collect = Collect(app_user.server_url(live_server))
    assert collect.get(f"{collect.server_url}/formList").status_code == 200
    with db.transaction() as session:
        app_users.revoke_app_user(session, SYSTEM, app_user.actor_id)
    for path in ("/formList", "/forms/visit.xml", "/submission"):
        response = collect.get(collect.server_url + path)
        assert response.status_code == 403, path
        assert "WWW-Authenticate" not in response.headers


def test_manifest_lists_uploaded_media_with_md5_and_media_downloads(
    app, db, collect, make_form, tmp_path, project
):
    version = make_form(MEDIA_MD)
    [item] = collect.form_list()
    assert item["manifestUrl"].endswith("/forms/with_media/manifest")
    assert collect.manifest(item["manifestUrl"]) == []  # expected but not uploaded yet
    logo = tmp_path / "logo.png"
    logo.write_bytes(b"\x89PNG fake image bytes" * 100)
    sha, md5, size = storage.hash_file(logo)
    with db.transaction() as session:
        blob_id = storage.store_file(
            session, app.extensions["donghanh"].blobs, str(logo), sha, md5, size, "image/png"
        )
        from server.models.forms import FormAttachment

        slot = session.query(FormAttachment).filter_by(form_version_id=version.id).one()
        slot.blob_id = blob_id
    [media] = collect.manifest(item["manifestUrl"])
    assert media["filename"] == "logo.png"
    assert media["hash"] == f"md5:{md5}"
    download = collect.get(media["downloadUrl"])
    assert download.status_code == 200
    assert download.content == logo.read_bytes()
    assert download.headers["Content-Type"] == "image/png"
    again = collect.get(media["downloadUrl"], headers={"If-None-Match": f'"{md5}"'})
    assert again.status_code == 304


def test_unknown_form_download_is_404(collect, visit_form):
    assert collect.get(f"{collect.server_url}/forms/nope.xml").status_code == 404
