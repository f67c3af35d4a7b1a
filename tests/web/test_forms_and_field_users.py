"""Managing forms and field users from the web UI: upload an XLSForm as a draft, read its
errors and warnings, publish it, upload a new version; create a field user with a QR code,
give it wards, revoke it."""

from __future__ import annotations

import base64
import io
import json
import re
import zlib

from sqlalchemy import func, select

from server.models.forms import Form
from tests.support.collect import Collect
from tests.support.facilities import add_facilities
from tests.support.xlsforms import visit_xlsx

WARNING_ROWS = [
    ["begin_repeat", "r", None, None, None, None],
    ["text", "x", "X", "X", None, None],
    ["end_repeat", None, None, None, None, None],
]


def upload(browser, url: str, content: bytes, filename: str = "tham.xlsx"):
    return browser.client.post(
        url,
        data={"csrf_token": browser.csrf, "xlsform": (io.BytesIO(content), filename)},
        content_type="multipart/form-data",
    )


def forms_count(db) -> int:
    with db.transaction(write=False) as session:
        return session.scalar(select(func.count()).select_from(Form))


def test_upload_makes_a_draft_that_shows_warnings_then_publishes(
    login_as, project, db, live_server, app_user
):
    browser = login_as("manager")
    response = upload(
        browser,
        f"/projects/{project.id}/forms/new",
        visit_xlsx(form_id="tham", extra_rows=WARNING_ROWS),
    )
    assert response.status_code == 303
    assert response.headers["Location"] == f"/projects/{project.id}/forms/tham"
    page = browser.get(response.headers["Location"]).text
    assert "Biểu mẫu có cảnh báo" in page
    assert "repeat" in page.lower()
    assert "/v1/test/" in page  # the draft's test address for Collect
    phone = Collect(app_user.server_url(live_server))
    assert phone.form_list() == []  # a draft is not on the phones
    published = browser.post(f"/projects/{project.id}/forms/tham/draft/publish")
    assert published.status_code == 303
    page = browser.get(published.headers["Location"]).text
    assert "Đã phát hành biểu mẫu" in page
    assert "Biểu mẫu có cảnh báo" not in page
    assert [f["formID"] for f in phone.form_list()] == ["tham"]


def test_a_broken_xlsform_is_refused_with_its_sheet_and_row_and_stores_nothing(
    login_as, project, db
):
    browser = login_as("manager")
    rows = [["txet", "bad", "Bad", "Bad", None, None]]
    response = upload(browser, f"/projects/{project.id}/forms/new", visit_xlsx(extra_rows=rows))
    assert response.status_code == 400
    assert "XLSForm có lỗi" in response.text
    assert "txet" in response.text
    assert forms_count(db) == 0


def test_a_file_that_is_not_a_spreadsheet_is_refused_in_plain_words(login_as, project, db):
    browser = login_as("manager")
    response = upload(browser, f"/projects/{project.id}/forms/new", b"%PDF-1.4", "form.pdf")
    assert response.status_code == 400
    assert "Tệp phải là bảng tính XLSForm" in response.text
    corrupt = upload(browser, f"/projects/{project.id}/forms/new", b"PK\x03\x04junk", "f.xlsx")
    assert corrupt.status_code == 400
    assert "XLSForm có lỗi" in corrupt.text
    assert forms_count(db) == 0


def test_a_new_version_is_uploaded_as_a_draft_of_the_same_form(login_as, project):
    browser = login_as("manager")
    upload(browser, f"/projects/{project.id}/forms/new", visit_xlsx(form_id="tham"))
    browser.post(f"/projects/{project.id}/forms/tham/draft/publish")
    response = upload(
        browser, f"/projects/{project.id}/forms/tham/draft", visit_xlsx(version="2", form_id="tham")
    )
    assert response.status_code == 303
    page = browser.get(f"/projects/{project.id}/forms/tham").text
    assert "phiên bản 2" in page  # the draft
    browser.post(f"/projects/{project.id}/forms/tham/draft/publish")
    versions = browser.get(f"/projects/{project.id}/forms/tham").text
    assert "<strong>2</strong>" in versions
    assert "<strong>1</strong>" in versions


def test_a_supervisor_cannot_upload_forms(login_as, project, db):
    browser = login_as("supervisor")
    assert "Tải lên biểu mẫu mới" not in browser.get(f"/projects/{project.id}").text
    response = upload(browser, f"/projects/{project.id}/forms/new", visit_xlsx(form_id="tham"))
    assert response.status_code == 403
    assert forms_count(db) == 0


def test_a_field_user_gets_a_qr_code_that_sets_collect_up(
    db, login_as, project, visit_form, live_server, settings
):
    add_facilities(db, project.id, "VCT-01", "PREP-02")
    browser = login_as("manager")
    response = browser.post(
        f"/projects/{project.id}/app-users",
        {"display_name": "TNV Hoa", "wards": "00004, 00008", "sites": "VCT-01; PREP-02"},
    )
    assert response.status_code == 200
    assert "TNV Hoa" in response.text
    data_uri = re.search(r'<img class="qr" src="(data:image/svg\+xml[^"]+)"', response.text)
    assert data_uri is not None
    server_url = re.search(r'<code class="wrap">([^<]+)</code>', response.text).group(1)
    assert server_url.startswith(f"{settings.public_url}/v1/key/")
    # The address works for Collect (served here on loopback rather than PUBLIC_URL).
    phone = Collect(server_url.replace(settings.public_url, live_server))
    assert [f["formID"] for f in phone.form_list()] == ["visit"]
    listing = browser.get(f"/projects/{project.id}/app-users").text
    assert "TNV Hoa" in listing
    assert "00004, 00008" in listing
    assert "cơ sở PREP-02, VCT-01" in listing  # the referrals sent there reach this phone


def test_the_qr_payload_is_collects_settings_for_that_address(login_as, project, settings):
    from server.services.app_users import collect_qr_payload

    payload = collect_qr_payload("https://x.example/v1/key/t/projects/1", "Phường Bồ Đề")
    decoded = json.loads(zlib.decompress(base64.b64decode(payload)))
    assert decoded["general"]["server_url"] == "https://x.example/v1/key/t/projects/1"
    assert decoded["project"]["name"] == "Phường Bồ Đề"


def test_revoking_a_field_user_refuses_its_phone_at_once(
    login_as, project, visit_form, live_server, app_user
):
    phone = Collect(app_user.server_url(live_server))
    assert phone.form_list() != []
    browser = login_as("manager")
    response = browser.post(f"/projects/{project.id}/app-users/{app_user.actor_id}/revoke")
    assert response.status_code == 303
    assert "Đã thu hồi" in browser.get(response.headers["Location"]).text
    assert phone.get(f"{phone.server_url}/formList").status_code == 403


def test_a_supervisor_cannot_manage_field_users(login_as, project, app_user):
    browser = login_as("supervisor")
    assert browser.get(f"/projects/{project.id}/app-users").status_code == 403
    revoke = browser.post(f"/projects/{project.id}/app-users/{app_user.actor_id}/revoke")
    assert revoke.status_code == 403


SESSION_MD = """
| survey   |         |         |         |
|          | type    | name    | label   |
|          | integer | so_nguoi | Số người |
| settings |         |         |         |
|          | form_id | version | form_title |
|          | sinh_hoat | 1     | Sinh hoạt nhóm |
"""


def test_a_field_user_receives_only_the_forms_ticked_then_every_form(
    login_as, project, visit_form, make_form, live_server, settings
):
    make_form(SESSION_MD)
    browser = login_as("manager")
    page = browser.get(f"/projects/{project.id}/app-users").text
    assert "Sinh hoạt nhóm" in page  # each form is offered with its title
    created = browser.post(
        f"/projects/{project.id}/app-users",
        {"display_name": "TNV Hoa", "form_access": "chosen", "forms": ["sinh_hoat"]},
    )
    assert created.status_code == 200
    server_url = re.search(r'<code class="wrap">([^<]+)</code>', created.text).group(1)
    phone = Collect(server_url.replace(settings.public_url, live_server))
    assert [f["formID"] for f in phone.form_list()] == ["sinh_hoat"]
    assert phone.get(f"{phone.server_url}/forms/visit.xml").status_code == 403

    actor_id = int(
        re.search(
            r"/app-users/(\d+)/forms", browser.get(f"/projects/{project.id}/app-users").text
        ).group(1)
    )
    saved = browser.post(
        f"/projects/{project.id}/app-users/{actor_id}/forms", {"form_access": "all"}
    )
    assert saved.status_code == 303
    assert "Đã lưu các biểu mẫu" in browser.get(saved.headers["Location"]).text
    assert sorted(f["formID"] for f in phone.form_list()) == ["sinh_hoat", "visit"]
    assert "mọi biểu mẫu" in browser.get(f"/projects/{project.id}/app-users").text


def test_a_field_user_with_no_form_ticked_is_refused_with_a_sentence(login_as, project, visit_form):
    browser = login_as("manager")
    response = browser.post(
        f"/projects/{project.id}/app-users", {"display_name": "TNV Hoa", "form_access": "chosen"}
    )
    assert response.status_code == 400
    assert "Hãy chọn ít nhất một biểu mẫu" in response.text
    assert "TNV Hoa" not in browser.get(f"/projects/{project.id}/app-users").text
