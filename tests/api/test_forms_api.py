"""Form management over HTTP, as pyodk and Central's UI call it: XLSForm upload to a draft,
warnings and errors, trying the draft on a phone with its test token, draft media, publishing
with a version, versions and their source files, form states."""

from __future__ import annotations

import base64
import hashlib
import json
import zlib

import pytest
import requests
from sqlalchemy import func, select

from server.models.submissions import Submission
from tests.support.collect import Collect
from tests.support.xlsforms import XLSX_TYPE, visit_xlsx
from tests.support.xmls import instance

PASSWORD = "correct horse battery"


@pytest.fixture
def admin(live_server, make_user):
    make_user("admin@example.org", PASSWORD, "admin")
    token = requests.post(
        f"{live_server}/v1/sessions",
        timeout=10,
        json={"email": "admin@example.org", "password": PASSWORD},
    ).json()["token"]

    def call(method, path, **kwargs):
        headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
        return requests.request(
            method, f"{live_server}/v1{path}", headers=headers, timeout=60, **kwargs
        )

    return call


def upload(admin, project, body, query="", content_type=XLSX_TYPE, fallback="tham_nha"):
    return admin(
        "POST",
        f"/projects/{project.id}/forms{query}",
        data=body,
        headers={"Content-Type": content_type, "X-XlsForm-FormId-Fallback": fallback},
    )


def test_xlsform_upload_makes_a_draft_named_by_the_fallback_id(admin, project):
    response = upload(admin, project, visit_xlsx(), "?ignoreWarnings=true")
    assert response.status_code == 200, response.text
    form = response.json()
    assert form["xmlFormId"] == "tham_nha"
    assert form["publishedAt"] is None
    draft = admin("GET", f"/projects/{project.id}/forms/tham_nha/draft").json()
    assert len(draft["draftToken"]) == 64
    assert draft["version"] == "1"


def test_warnings_block_the_upload_unless_ignored(admin, project):
    rows = [
        ["text", "note_free", "Ghi chú", "Note", None, None],
        ["begin_repeat", "r", None, None, None, None],
        ["text", "x", "X", "X", None, None],
        ["end_repeat", None, None, None, None, None],
    ]
    response = upload(admin, project, visit_xlsx(extra_rows=rows))
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == 400.16
    assert any(
        "Repeat" in w or "repeat" in w for w in body["details"]["warnings"]["xlsFormWarnings"]
    )
    assert admin("GET", f"/projects/{project.id}/forms").json() == []


def test_a_broken_xlsform_is_400_naming_sheet_and_row(admin, project):
    rows = [["txet", "bad", "Bad", "Bad", None, None]]
    response = upload(admin, project, visit_xlsx(extra_rows=rows), "?ignoreWarnings=true")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == 400.15
    assert "txet" in body["message"]
    assert admin("GET", f"/projects/{project.id}/forms").json() == []


def test_a_second_form_with_the_same_id_is_409(admin, project):
    assert upload(admin, project, visit_xlsx(), "?ignoreWarnings=true").status_code == 200
    response = upload(admin, project, visit_xlsx(), "?ignoreWarnings=true")
    assert response.status_code == 409


def test_draft_is_tried_with_its_test_token_then_published_with_a_version(
    db, admin, project, live_server, app_user
):
    upload(admin, project, visit_xlsx(), "?ignoreWarnings=true")
    draft = admin("GET", f"/projects/{project.id}/forms/tham_nha/draft").json()
    settings = json.loads(zlib.decompress(base64.b64decode(draft["draftQrCode"])))
    assert settings["general"]["server_url"] == draft["draftUrl"]
    assert settings["project"]["name"].startswith("[Nháp]")
    assert draft["draftUrl"].startswith("https://donghanh.example.org/v1/test/")
    # The phone scans the QR code; here the same path on the test server.
    tester = Collect(live_server + "/v1/" + draft["draftUrl"].split("/v1/", 1)[1])
    [item] = tester.form_list()
    assert item["downloadUrl"].endswith("/forms/tham_nha/draft.xml")
    served = tester.get(item["downloadUrl"])
    assert item["hash"] == "md5:" + hashlib.md5(served.content).hexdigest()
    [reply] = tester.submit(instance("tham_nha", "uuid:draft-1", gap="co"))
    assert reply.status == 201
    field = Collect(app_user.server_url(live_server))
    assert field.form_list() == []  # not published: real devices do not see it
    published = admin("POST", f"/projects/{project.id}/forms/tham_nha/draft/publish?version=2")
    assert published.json() == {"success": True}
    [item] = field.form_list()
    assert item["version"] == "2"
    assert b'version="2"' in field.get(item["downloadUrl"]).content
    with db.transaction(write=False) as session:
        assert session.scalar(select(func.count()).select_from(Submission)) == 0  # purged
    assert tester.get(f"{tester.server_url}/formList").status_code == 404  # token is spent


def test_an_app_user_reaches_no_draft_but_the_test_token_still_does(
    admin, project, live_server, app_user
):
    # Central's app-user role has no draft access: a field key sees published forms only.
    upload(admin, project, visit_xlsx(), "?ignoreWarnings=true")
    base = f"/projects/{project.id}/forms/tham_nha"
    field = Collect(app_user.server_url(live_server))
    for tail in ("/draft/formList", "/draft.xml", "/draft/manifest"):
        assert field.get(field.server_url.rsplit("/projects/", 1)[0] + base + tail).status_code == (
            403
        ), tail
    draft = admin("GET", f"{base}/draft").json()
    tester = Collect(live_server + "/v1/" + draft["draftUrl"].split("/v1/", 1)[1])
    [item] = tester.form_list()
    assert tester.get(item["downloadUrl"]).status_code == 200
    [reply] = tester.submit(instance("tham_nha", "uuid:draft-2", gap="co"))
    assert reply.status == 201


def test_a_test_token_reaches_only_its_own_draft(admin, project, live_server):
    upload(admin, project, visit_xlsx(), "?ignoreWarnings=true")
    upload(admin, project, visit_xlsx(form_id="khac"), "?ignoreWarnings=true", fallback="khac")
    token = admin("GET", f"/projects/{project.id}/forms/tham_nha/draft").json()["draftToken"]
    other = Collect(f"{live_server}/v1/test/{token}/projects/{project.id}/forms/khac/draft")
    assert other.get(f"{other.server_url}/formList").status_code == 403
    key_path = f"{live_server}/v1/key/{token}/projects/{project.id}/formList"
    assert (
        requests.get(key_path, headers={"X-OpenRosa-Version": "1.0"}, timeout=10).status_code == 403
    )


def test_draft_media_is_uploaded_listed_and_served_after_publishing(
    admin, project, live_server, app_user
):
    rows = [["note", "logo", "Logo", "Logo", None, "logo.png"]]
    upload(admin, project, visit_xlsx(extra_rows=rows), "?ignoreWarnings=true")
    base = f"/projects/{project.id}/forms/tham_nha"
    listed = admin("GET", f"{base}/draft/attachments").json()
    assert [(a["name"], a["exists"]) for a in listed] == [("logo.png", False)]
    png = b"\x89PNG\r\n\x1a\n" + b"pixels" * 1000
    chunks = (png[i : i + 4096] for i in range(0, len(png), 4096))  # chunked, as pyodk sends
    uploaded = admin(
        "POST",
        f"{base}/draft/attachments/logo.png",
        data=chunks,
        headers={"Content-Type": "image/png"},
    )
    assert uploaded.status_code == 200, uploaded.text
    assert uploaded.json()["exists"] is True
    unknown = admin(
        "POST",
        f"{base}/draft/attachments/other.png",
        data=b"x",
        headers={"Content-Type": "image/png"},
    )
    assert unknown.status_code == 404
    admin("POST", f"{base}/draft/publish")
    field = Collect(app_user.server_url(live_server))
    [item] = field.form_list()
    [media] = field.manifest(item["manifestUrl"])
    assert media["hash"] == "md5:" + hashlib.md5(png).hexdigest()
    assert field.get(media["downloadUrl"]).content == png


def test_versions_keep_their_xform_and_source_xlsform(admin, project):
    first = visit_xlsx(version="1")
    upload(admin, project, first, "?ignoreWarnings=true&publish=true")
    base = f"/projects/{project.id}/forms/tham_nha"
    assert admin("POST", f"{base}/draft").json() == {"success": True}  # copy of the published
    admin("POST", f"{base}/draft/publish?version=1.1")
    versions = admin("GET", f"{base}/versions").json()
    assert [v["version"] for v in versions] == ["1.1", "1"]
    old = admin("GET", f"{base}/versions/1.xml")
    assert old.status_code == 200
    assert b'version="1"' in old.content
    source = admin("GET", f"{base}/versions/1.xlsx")
    assert source.content == first
    assert admin("GET", f"{base}/versions/9.xml").status_code == 404


def test_publishing_a_version_that_exists_is_409(admin, project):
    upload(admin, project, visit_xlsx(version="1"), "?ignoreWarnings=true&publish=true")
    base = f"/projects/{project.id}/forms/tham_nha"
    admin(
        "POST",
        f"{base}/draft",
        data=visit_xlsx(version="1"),
        headers={"Content-Type": XLSX_TYPE},
        params={"ignoreWarnings": "true"},
    )
    response = admin("POST", f"{base}/draft/publish")
    assert response.status_code == 409
    assert admin("POST", f"{base}/draft/publish?version=2").status_code == 200


def test_closing_a_form_removes_it_from_collect(admin, project, live_server, app_user):
    upload(admin, project, visit_xlsx(), "?ignoreWarnings=true&publish=true")
    field = Collect(app_user.server_url(live_server))
    assert len(field.form_list()) == 1
    response = admin("PATCH", f"/projects/{project.id}/forms/tham_nha", json={"state": "closing"})
    assert response.json()["state"] == "closing"
    assert field.form_list() == []
    assert (
        admin("PATCH", f"/projects/{project.id}/forms/tham_nha", json={"state": "gone"}).status_code
        == 400
    )


def test_an_xform_can_be_uploaded_as_xml(admin, project, app):
    from forms import compile_xlsform

    xml = compile_xlsform(visit_xlsx(form_id="tu_xml"), filename="f.xlsx", validate=False).xform
    response = upload(admin, project, xml, "?publish=true", content_type="application/xml")
    assert response.status_code == 200, response.text
    assert response.json()["xmlFormId"] == "tu_xml"
    xml_version = admin("GET", f"/projects/{project.id}/forms/tu_xml/versions/1.xml")
    assert xml_version.content == xml
    source = admin("GET", f"/projects/{project.id}/forms/tu_xml/versions/1.xlsx")
    assert source.status_code == 404


@pytest.mark.parametrize(
    ("entities", "words"),
    [
        ([["list_name", "label", "colour"], ["clients", "${ma_kh}", "red"]], "colour"),
        ([["list_name", "label"], ["__clients", "${ma_kh}"]], "two underscores"),
        ([["list_name"], ["clients"]], "label"),
    ],
)
def test_a_bad_entities_sheet_is_refused_with_a_useful_error(admin, project, entities, words):
    from tests.support.xlsforms import xlsx

    body = xlsx(
        {
            "survey": [["type", "name", "label"], ["text", "ma_kh", "Client code"]],
            "entities": entities,
            "settings": [["form_id", "version"], ["dk", "1"]],
        }
    )
    response = upload(admin, project, body, "?ignoreWarnings=true")
    assert response.status_code == 400
    assert response.json()["code"] == 400.15
    assert words in response.json()["message"]
    assert admin("GET", f"/projects/{project.id}/forms").json() == []
