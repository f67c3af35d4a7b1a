"""A supervisor follows one person in a real browser, on a phone and on a desktop, in
Vietnamese and in English: from a contact submission to its client, through the client's
history to a referral and its outcomes, and back to the client and to the submission. Each
page fits the screen (nothing scrolls sideways) and speaks labels, never codes. Screenshots
go to test-artifacts/screenshots/client-*."""

from __future__ import annotations

import pytest

from tests.clients.conftest import people, site  # noqa: F401  (the programme site and people)

VIEWPORTS = {"phone": (390, 844), "desktop": (1280, 800)}
WORDS = {
    "vi": {"visit": "Thăm hỗ trợ", "referral": "Xem phiếu chuyển gửi", "sex": "Giới tính khi sinh"},
    "en": {"visit": "Home visit", "referral": "Open the referral", "sex": "Sex at birth"},
}


@pytest.mark.parametrize("language", list(WORDS))
@pytest.mark.parametrize("screen", list(VIEWPORTS))
def test_from_a_submission_to_its_client_a_referral_and_back(
    screen,
    language,
    chromium,
    screenshots,
    site,  # noqa: F811
    people,  # noqa: F811
):
    width, height = VIEWPORTS[screen]
    context = chromium.new_context(viewport={"width": width, "height": height}, locale="vi-VN")
    context.add_cookies([{"name": "dh_lang", "value": language, "url": site.url}])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    words, too_wide, shot = WORDS[language], {}, 0

    def look(name: str) -> None:
        nonlocal shot
        shot += 1
        scroll = page.evaluate("document.documentElement.scrollWidth")
        if scroll > width:
            too_wide[name] = scroll
        path = screenshots / f"client-{screen}-{language}-{shot:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)

    base = f"{site.url}/projects/{site.project_id}"
    try:
        page.goto(f"{base}/forms/f2_gap_go/submissions")
        page.fill("#email", "supervisor@example.org")
        page.fill("#password", "correct horse battery")
        page.click("button.primary")
        page.wait_for_url(f"{base}/forms/f2_gap_go/submissions")
        row = page.locator("#submissions li", has_text="05/03/2026")
        assert "uuid:" not in row.locator(".title").inner_text()  # a readable title
        look("contacts")
        row.locator("a.row").click()
        page.wait_for_url("**/submissions/uuid:a-f2")
        look("contact")
        label = page.locator("#client-link").inner_text()
        page.click("#client-link")
        page.wait_for_url(f"{base}/clients/{people.a}")
        assert page.locator("#client-label").inner_text() == label
        events = page.locator("#history li.event")
        assert events.count() == 8
        assert words["visit"] in page.locator("#history").inner_text()
        assert words["sex"] in page.locator("#properties").inner_text()
        look("client")
        page.click("#history a.referral-link >> nth=0")
        page.wait_for_url(f"{base}/referrals/{people.referral}")
        assert page.locator("#referral-due").inner_text() == "19/03/2026"
        assert page.locator("#outcomes li.event").count() == 3  # the slip and two outcomes
        page.click("#referral-service summary")  # the service is folded: special category
        assert (
            page.locator("#referral-service")
            .inner_text()
            .strip()
            .endswith("Xét nghiệm HIV" if language == "vi" else "HIV testing")
        )
        look("referral")
        page.click("#referral-client a")
        page.wait_for_url(f"{base}/clients/{people.a}")
        page.click("#history li.event[data-form=f2_gap_go] a.title")
        page.wait_for_url("**/submissions/uuid:a-f2")
        assert page.locator("#client-link").inner_text() == label
        look("contact-again")
    finally:
        context.close()
    assert too_wide == {}
    assert errors == []
