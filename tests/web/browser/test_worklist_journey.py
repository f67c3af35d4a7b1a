"""A supervisor's work list on a 390 px phone and a 1280 px screen, in Vietnamese and in
English: an overdue referral appears in the ward's list of overdue referrals, its row leads to
the client, and it leaves the list when its F4 outcome arrives from a phone (sent as Collect
sends it). Nothing scrolls sideways. Screenshots go to test-artifacts/screenshots/worklist-*."""

from __future__ import annotations

from datetime import timedelta

import pytest

from server.services import worklists
from tests.indicators import programme as p
from tests.indicators.conftest import PASSWORD, site  # noqa: F401  (the programme site)

WARD = "00004"
TODAY = worklists.local_today()


def ago(days: int) -> str:
    return (TODAY - timedelta(days=days)).isoformat()


@pytest.mark.parametrize(
    ("width", "height", "language"),
    [(390, 844, "vi"), (1280, 800, "vi"), (390, 844, "en"), (1280, 800, "en")],
)
def test_an_overdue_referral_is_listed_until_its_outcome_arrives(
    width,
    height,
    language,
    chromium,
    screenshots,
    site,  # noqa: F811
):
    client, referral = p.new_id(), p.new_id()
    site.submit(p.f1(p.new_id(), client, ago(60), ward=WARD, uic=f"JOUR{width}{language}"))
    site.submit(p.f3(p.new_id(), referral, client, "xn_hiv", ago(20), WARD, ago(5)))
    context = chromium.new_context(
        viewport={"width": width, "height": height},
        locale="vi-VN" if language == "vi" else "en-GB",
        is_mobile=width < 500,
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"{site.url}/login")
        page.fill("#email", "ward_supervisor@example.org")
        page.fill("#password", PASSWORD)
        page.click("button.primary")
        page.wait_for_url(f"{site.url}/")
        if language == "en":
            with page.expect_navigation():  # the switcher posts itself
                page.select_option("#language", "en")
        page.goto(f"{site.url}/projects/{site.project_id}")
        page.click("#worklists-link")
        heading = "Referrals past their due date" if language == "en" else "Chuyển gửi quá hạn"
        card = page.locator("#wl-overdue_referrals")
        assert heading in card.inner_text()
        assert int(card.locator("[data-count]").get_attribute("data-count")) >= 1
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(path=str(screenshots / f"worklist-home-{width}-{language}.png"))
        card.click()
        row = page.locator(f'tr[data-referral="{referral}"]')
        assert row.count() == 1
        text = row.inner_text()
        assert (TODAY - timedelta(days=5)).strftime("%d/%m/%Y") in text
        service = "HIV testing" if language == "en" else "Xét nghiệm HIV"
        assert service not in text  # special (F3 marks it): folded until tapped
        row.locator("details.reveal summary").click()
        text = row.inner_text()
        assert service in text
        assert "xn_hiv" not in text
        assert row.locator("a.client").get_attribute("href") == (
            f"/projects/{site.project_id}/clients/{client}"
        )
        assert row.locator("a.client").bounding_box()["height"] >= 16
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(
            path=str(screenshots / f"worklist-overdue-{width}-{language}.png"), full_page=True
        )
        # the outcome arrives from a phone, as Collect sends it: the referral leaves the list
        site.submit(p.f4(p.new_id(), referral, "xn_hiv", ago(0), ward=WARD))
        page.reload()
        assert page.locator(f'tr[data-referral="{referral}"]').count() == 0
        assert errors == []
    finally:
        context.close()


@pytest.mark.parametrize("width", [390, 1280])
def test_the_clients_list_and_the_field_users_fit(width, chromium, screenshots, site):  # noqa: F811
    for n in range(3):
        site.submit(p.f1(p.new_id(), p.new_id(), ago(30 + n), ward=WARD, uic=f"LIST{width}{n}"))
    context = chromium.new_context(viewport={"width": width, "height": 844}, is_mobile=width < 500)
    page = context.new_page()
    try:
        page.goto(f"{site.url}/login")
        page.fill("#email", "supervisor@example.org")
        page.fill("#password", PASSWORD)
        page.click("button.primary")
        page.wait_for_url(f"{site.url}/")
        page.goto(f"{site.url}/projects/{site.project_id}/lists/clients?sort=uic&desc=1")
        table = page.locator("#entities")
        assert table.locator("tbody tr").count() >= 3
        header = table.locator("thead")
        wide = header.bounding_box()["width"] > 100  # cards on a phone, a table on a desktop
        assert wide == (width >= 700)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(path=str(screenshots / f"clients-list-{width}.png"), full_page=False)
        page.goto(f"{site.url}/projects/{site.project_id}/field-users")
        assert page.locator("#field-users tbody tr").count() >= 1
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(path=str(screenshots / f"field-users-{width}.png"), full_page=False)
    finally:
        context.close()
