"""Form ids as Central allows them, through pyodk over real HTTP: any character in the id
(`/`, `%`, `'`, emoji) addresses the form on every route, and an XLSForm without a form_id
takes pyodk's X-XlsForm-FormId-Fallback (percent-decoded) or the file's stem."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote
from xml.sax.saxutils import escape

import pytest
import requests
from pyodk.errors import PyODKError
from requests.auth import HTTPDigestAuth

from forms import read_xform
from tests.support.central_client import central_client
from tests.support.xlsforms import visit_xlsx

SUBMISSION = (
    '<data id="{form_id}" version="1"><ma_kh>KH-1</ma_kh><gap>co</gap>'
    "<meta><instanceID>uuid:{n}</instanceID></meta></data>"
)


@pytest.fixture
def manager(live_server, make_user, project, tmp_path: Path):
    make_user("quan.ly@example.org", role="manager", project_id=project.id, digest=True)
    with central_client(live_server, "quan.ly@example.org", tmp_path, project.id) as client:
        yield client


@pytest.mark.parametrize("form_id", ["so/khám", "100%_it's ✅"])
def test_a_form_id_with_any_character_is_addressed_on_every_route(
    manager, form_id, live_server, project
):
    created = manager.forms.create(definition=visit_xlsx("1", form_id))
    assert created.xmlFormId == form_id
    assert manager.forms.get(form_id).xmlFormId == form_id
    assert read_xform(manager.forms.get_xml(form_id).encode()).form_id == form_id
    xml = SUBMISSION.format(form_id=escape(form_id, {"'": "&apos;"}), n="a1")
    made = manager.submissions.create(xml=xml, form_id=form_id)
    assert made.instanceId == "uuid:a1"
    assert manager.submissions.get("uuid:a1", form_id=form_id).instanceId == "uuid:a1"
    assert [s.instanceId for s in manager.submissions.list(form_id=form_id)] == ["uuid:a1"]
    assert manager.submissions.get_table(form_id=form_id)["value"][0]["ma_kh"] == "KH-1"
    manager.forms.update(form_id, definition=visit_xlsx("2", form_id))
    assert manager.forms.get(form_id).version == "2"
    # Collect signs in with Digest over the escaped path: its uri matches the request
    manifest = requests.get(
        f"{live_server}/v1/projects/{project.id}/forms/{quote(form_id, safe='')}/manifest",
        auth=HTTPDigestAuth("quan.ly@example.org", "correct horse battery"),
        headers={"X-OpenRosa-Version": "1.0"},
        timeout=30,
    )
    assert manifest.status_code == 200, manifest.text


def test_an_unknown_id_with_an_escaped_slash_is_central_404(manager, project):
    answer = manager.session.get(f"projects/{project.id}/forms/no%2Fsuch")
    assert (answer.status_code, answer.json()["code"]) == (404, 404.1)


def test_an_xlsform_without_form_id_from_bytes_takes_pyodks_uuid(manager):
    created = manager.forms.create(definition=visit_xlsx("1"))
    assert created.xmlFormId.startswith("uuid:")
    assert manager.forms.get(created.xmlFormId).version == "1"


def test_an_xlsform_without_form_id_from_a_file_takes_the_stem(manager, tmp_path):
    path = tmp_path / "✅.xlsx"
    path.write_bytes(visit_xlsx("1"))
    assert manager.forms.create(definition=path).xmlFormId == "✅"
    assert [f.xmlFormId for f in manager.forms.list()] == ["✅"]


@pytest.mark.parametrize("answer", ["KH-1", "KH-2"], ids=["same xml", "other xml"])
def test_creating_a_submission_whose_instance_id_exists_is_central_409_3(
    manager, make_form, answer
):
    """Central's REST create has no resend: the instanceID in use is a uniqueness violation,
    its code the JSON number 409.3 (lib/util/problem.js)."""
    manager.forms.create(definition=visit_xlsx("1", "tham"))
    manager.submissions.create(xml=SUBMISSION.format(form_id="tham", n="b1"), form_id="tham")
    again = SUBMISSION.format(form_id="tham", n="b1").replace("KH-1", answer)
    with pytest.raises(PyODKError) as refused:
        manager.submissions.create(xml=again, form_id="tham")
    response = refused.value.args[1]
    assert (response.status_code, response.json()["code"]) == (409, 409.3)
    assert '"code":409.3' in response.text.replace(" ", "")
    assert [s.instanceId for s in manager.submissions.list(form_id="tham")] == ["uuid:b1"]


EDITED = (
    '<data id="tham" version="1"><ma_kh>KH-9</ma_kh><gap>khong</gap><meta>'
    "<instanceID>uuid:c2</instanceID><deprecatedID>uuid:c1</deprecatedID></meta></data>"
)


def test_a_submissions_versions_are_read_as_central_serves_them(manager, project):
    manager.forms.create(definition=visit_xlsx("1", "tham"))
    first = SUBMISSION.format(form_id="tham", n="c1")
    manager.submissions.create(xml=first, form_id="tham")
    manager.submissions.edit("uuid:c1", EDITED, form_id="tham")
    base = f"projects/{project.id}/forms/tham/submissions/uuid:c1/versions"

    listed = manager.session.get(base).json()
    assert [(v["instanceId"], v["current"]) for v in listed] == [
        ("uuid:c2", True),
        ("uuid:c1", False),
    ]
    assert set(listed[0]) == {
        "instanceId", "instanceName", "submitterId", "deviceId", "userAgent", "current",
        "createdAt",
    }  # fmt: skip
    one = manager.session.get(f"{base}/uuid:c1").json()
    assert (one["instanceId"], one["current"]) == ("uuid:c1", False)
    xml = manager.session.get(f"{base}/uuid:c1.xml")
    assert xml.headers["Content-Type"].startswith("application/xml")
    assert xml.text == first  # the bytes as they were sent
    assert manager.session.get(f"{base}/uuid:c2.xml").text == EDITED
    other = manager.session.get(f"{base}/uuid:nope")
    assert (other.status_code, other.json()["code"]) == (404, 404.1)


def _log_in(live_server: str, email: str) -> str:
    answer = requests.post(
        f"{live_server}/v1/sessions",
        json={"email": email, "password": "correct horse battery"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["token"]


def _as(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_a_session_is_ended_by_its_token_as_in_central(manager, live_server, make_user, project):
    manager.projects.list()  # pyodk logs in
    mine = manager.session.headers["Authorization"].split()[1]
    make_user("xem@example.org", role="viewer", project_id=project.id)
    make_user("admin@example.org", role="admin")
    viewer, admin = (
        _log_in(live_server, "xem@example.org"),
        _log_in(live_server, "admin@example.org"),
    )

    for token in (mine, "no-such-token"):  # another's and none at all: the same 403.1
        refused = requests.delete(f"{live_server}/v1/sessions/{token}", headers=_as(viewer))
        assert (refused.status_code, refused.json()["code"]) == (403, 403.1)
    assert requests.get(f"{live_server}/v1/users/current", headers=_as(mine)).status_code == 200

    ended = manager.session.delete(f"sessions/{mine}")  # pyodk ends its own session
    assert (ended.status_code, ended.json()) == (200, {"success": True})
    assert requests.get(f"{live_server}/v1/users/current", headers=_as(mine)).status_code == 401

    by_admin = requests.delete(f"{live_server}/v1/sessions/{viewer}", headers=_as(admin))
    assert by_admin.status_code == 200
    assert requests.get(f"{live_server}/v1/users/current", headers=_as(viewer)).status_code == 401
