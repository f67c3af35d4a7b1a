"""Every page of the web UI fits a 360 px wide phone: nothing makes the page scroll sideways
(tables scroll inside their own box), in Vietnamese and in English. Screenshots go to
test-artifacts/screenshots/narrow-*."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from server.auth import totp
from server.auth.permissions import SYSTEM
from server.services import entities, passwords
from tests.web.conftest import PNG, review_instance

WIDTH = 360


@pytest.mark.parametrize("language", ["vi", "en"])
def test_every_page_fits_a_360_px_screen(
    language, chromium, screenshots, live_server, make_user, review_form, collect, project, db
):
    make_user("admin360@example.org", role="admin")
    with db.transaction() as session:  # a password link, to see its page too
        reset = passwords.create_reset(session, SYSTEM, email="admin360@example.org")
    with db.transaction() as session:  # a list with a long label and values
        clients = entities.ensure_reference_list(session, project.id, "clients", ["ghi_chu"])
        entities.create_entity(
            session,
            SYSTEM,
            clients,
            entities.new_uuid(),
            "LAHU1150390 · Nguyễn Văn Bình · 1990 · 00004 " * 2,
            {"ghi_chu": "Đã chuyển gửi tới cơ sở điều trị methadone Long Biên " * 3},
        )
    contacts = [{"ngay": "2026-11-20", "ghi_chu": "Gặp tại nhà, hẹn lần sau " * 4}]
    sent = collect.submit(
        review_instance("uuid:n1", name="Thăm anh Bình " * 3, lan_gap=contacts),
        {"proof.png": PNG},
    )
    assert sent[-1].status == 201
    context = chromium.new_context(
        viewport={"width": WIDTH, "height": 740}, locale="vi-VN", is_mobile=True
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    base = f"/projects/{project.id}"
    pages = {
        "home": "/",
        "project": base,
        "submissions": f"{base}/forms/review/submissions",
        "submission": f"{base}/forms/review/submissions/uuid:n1",
        "map": f"{base}/forms/review/submissions/map",
        "deleted": f"{base}/forms/review/submissions/deleted",
        "form": f"{base}/forms/review",
        "upload": f"{base}/forms/new",
        "field-users": f"{base}/app-users",
        "users": "/users",
        "audits": "/audits",
        "list": f"{base}/lists/clients",
        "account": "/account",
        "two-factor": "/account/two-factor",
        "reset": reset.path(),
    }
    try:
        page.goto(f"{live_server}/login")
        if language == "en":
            with page.expect_navigation():
                page.select_option("#language", "en")  # the switcher submits itself
        page.fill("#email", "admin360@example.org")
        page.fill("#password", "correct horse battery")
        page.click("button.primary")
        # An administrator sets up a one-time code before anything else.
        page.wait_for_url(f"{live_server}/account/two-factor")
        too_wide = {}
        for name in ("two-factor-setup", "recovery-codes"):
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > WIDTH:
                too_wide[name] = width
            page.screenshot(path=str(screenshots / f"narrow-{language}-{name}.png"), full_page=True)
            if name == "two-factor-setup":
                secret = page.text_content("#totp-secret").replace(" ", "")
                page.fill("#code", totp.code_at(secret, datetime.now(UTC)))
                page.click("#confirm-form button")
                page.wait_for_load_state()
                assert page.query_selector("#recovery-codes"), page.inner_text("main")
        for name, path in pages.items():
            response = page.goto(f"{live_server}{path}")
            assert response.status == 200, (name, response.status)
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > WIDTH:
                too_wide[name] = width
            page.screenshot(path=str(screenshots / f"narrow-{language}-{name}.png"), full_page=True)
        # Logging in again: the code is asked after the password.
        context.clear_cookies()
        page.goto(f"{live_server}/login")
        if language == "en":
            with page.expect_navigation():
                page.select_option("#language", "en")
        page.fill("#email", "admin360@example.org")
        page.fill("#password", "correct horse battery")
        page.click("button.primary")
        page.wait_for_url(f"{live_server}/login/code?next=/")
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > WIDTH:
            too_wide["login-code"] = width
        page.screenshot(path=str(screenshots / f"narrow-{language}-login-code.png"), full_page=True)
        later = datetime.now(UTC) + timedelta(seconds=30)  # the current step's code is spent
        page.fill("#code", totp.code_at(secret, later))
        page.click("#code-form button")
        page.wait_for_url(f"{live_server}/")
        assert too_wide == {}
        assert errors == []
    finally:
        context.close()
