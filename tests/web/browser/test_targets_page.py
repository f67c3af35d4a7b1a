"""The plan's page in Chromium (Playwright): a manager adds a target on a
phone (360 px: the form, the ward picker's folds, the table as cards, nothing scrolls
sideways) and reads the plan as a table on a desktop (1280 px). Screenshots go to
test-artifacts/screenshots/targets-*."""

from __future__ import annotations

from server.auth.permissions import SYSTEM
from server.services import targets
from tests.targets.conftest import row


def log_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#email", email)
    page.fill("#password", "correct horse battery")
    page.click("button.primary")
    page.wait_for_url(f"{base}/")


def test_a_manager_adds_a_target_on_a_phone_and_reads_the_plan_on_a_desktop(
    chromium, screenshots, live_server, make_user, db, project
):
    make_user("lan@example.org", role="manager", project_id=project.id)
    with db.transaction() as session:
        targets.set_targets(session, SYSTEM, project.id, [
            row(kind="project", value="", planned=1500),
            row(kind="model", value="diem_tv", indicator="I4:dieu_tri_nghien",
                period="2026-Q1", planned=87),
            row(kind="project", value="", indicator="I14:amount", planned=4099.5),
        ])
    url = f"{live_server}/projects/{project.id}/targets?year=2026"
    phone = chromium.new_context(viewport={"width": 360, "height": 740}, is_mobile=True)
    try:
        page = phone.new_page()
        log_in(page, live_server, "lan@example.org")
        page.goto(url)
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        page.screenshot(path=str(screenshots / "targets-phone.png"), full_page=True)
        page.select_option("#indicator", "I1")
        page.click("#scope-picker summary:has-text('Hà Nội')")
        page.check("input[name=scope][value='ward:00118']")
        page.select_option("#period", "2026-Q2")
        page.fill("#planned", "40")
        page.locator("#target-form").screenshot(path=str(screenshots / "targets-phone-form.png"))
        page.click("#target-form button.primary")
        page.wait_for_url("**changed=saved**")
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        card = page.locator("#targets tr", has_text="Phường Bồ Đề (00118)")
        assert "Quý 2/2026" in card.inner_text()
        assert card.locator("td.num").inner_text().strip() == "40"
        page.screenshot(path=str(screenshots / "targets-phone-saved.png"), full_page=True)
    finally:
        phone.close()
    desktop = chromium.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = desktop.new_page()
        log_in(page, live_server, "lan@example.org")
        page.goto(url)
        assert page.locator("#targets thead").is_visible()
        assert page.locator("#targets tbody tr").count() == 4
        assert page.locator("#targets tbody tr").first.locator("td.num").inner_text() == "1.500"
        page.screenshot(path=str(screenshots / "targets-desktop.png"), full_page=True)
    finally:
        desktop.close()
