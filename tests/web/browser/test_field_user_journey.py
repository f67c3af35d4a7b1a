"""A project manager sets up a police-model coordinator's phone in a real browser, on a phone
and on a desktop: only the forms ticked, a facility, the QR code; then gives the phone every
form. Collect (over HTTP) sees each change. Screenshots go to test-artifacts/."""

from __future__ import annotations

import re

import pytest

from tests.support.collect import Collect
from tests.support.facilities import add_facilities
from tests.web.browser.test_review_journey import VIEWPORTS
from tests.web.test_forms_and_field_users import SESSION_MD


@pytest.mark.parametrize("screen", list(VIEWPORTS))
def test_a_manager_gives_a_phone_only_some_forms_then_every_form(
    screen,
    chromium,
    screenshots,
    db,
    live_server,
    make_user,
    project,
    visit_form,
    make_form,
    settings,
):
    make_form(SESSION_MD)
    add_facilities(db, project.id, "VCT-01")
    make_user("quan.ly@example.org", role="manager", project_id=project.id)
    width, height = VIEWPORTS[screen]
    context = chromium.new_context(viewport={"width": width, "height": height}, locale="vi-VN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        page.goto(f"{live_server}/login")
        page.fill("#email", "quan.ly@example.org")
        page.fill("#password", "correct horse battery")
        page.click("button.primary")
        page.wait_for_url(f"{live_server}/")
        page.goto(f"{live_server}/projects/{project.id}/app-users")
        page.fill("#display_name", "Điều phối viên Ngọc Lâm")
        page.click("text=Hà Nội (126)")  # a fold of the ward picker
        page.check("input[name=wards][value='00118']")  # Phường Bồ Đề
        page.check("input[name=sites][value=VCT-01]")  # the facility list is one open fold
        page.check("input[name=form_access][value=chosen]")
        page.check("input[name=forms][value=sinh_hoat]")
        page.screenshot(path=str(screenshots / f"{screen}-field-user-form.png"), full_page=True)
        assert page.locator("input[name=forms]").first.bounding_box()["width"] < 40  # a box
        page.click("text=Tạo và hiện mã QR")
        assert page.locator("img.qr").is_visible()
        page.screenshot(path=str(screenshots / f"{screen}-field-user-qr.png"), full_page=True)
        page.click("text=Địa chỉ máy chủ, để nhập bằng tay")  # the address, to type by hand
        server_url = page.locator("code.wrap").inner_text()
        phone = Collect(server_url.replace(settings.public_url, live_server))
        assert [f["formID"] for f in phone.form_list()] == ["sinh_hoat"]
        assert "00118" in page.locator("main").inner_text()

        page.goto(f"{live_server}/projects/{project.id}/app-users")
        row = page.locator("#app-users li", has_text="Điều phối viên Ngọc Lâm")
        assert "Sinh hoạt nhóm" in row.inner_text()
        row.locator("summary").click()
        row.locator("input[name=form_access][value=all]").check()
        row.locator("text=Lưu biểu mẫu").click()
        page.wait_for_url(re.compile(r".*done=forms"))
        assert "mọi biểu mẫu" in page.locator("#app-users").inner_text()
        page.screenshot(path=str(screenshots / f"{screen}-field-user-saved.png"), full_page=True)
        assert sorted(f["formID"] for f in phone.form_list()) == ["sinh_hoat", "visit"]
        assert errors == []
    finally:
        context.close()
