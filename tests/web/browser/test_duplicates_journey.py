"""A supervisor of two wards reviews suspected duplicates in a browser, on a 390 px phone and
a 1280 px screen, in Vietnamese and in English: a client registered again in the other ward
(the parents' letters swapped) is suggested with both records side by side in words, merged,
and drops out of that ward phone's clients.csv and out of the dashboard's count; a look-alike
pair marked "not the same person" is not suggested again, even after the nightly run.
Screenshots go to test-artifacts/screenshots/duplicates-*."""

from __future__ import annotations

import pytest

from tests.duplicates.conftest import PASSWORD, WARD_A, WARD_B, site  # noqa: F401

WORDS = {
    "vi": {"male": "Nam", "ward": "Phường Bồ Đề", "merged": "Đã gộp", "none": "Không có cặp"},
    "en": {"male": "Male", "ward": "Phường Bồ Đề", "merged": "Merged", "none": "No suspected"},
}


def registered(page, served, project_id) -> str:
    page.goto(
        f"{served}/projects/{project_id}/indicators?period=range&from=2026-01-01&to=2026-01-31"
    )
    return page.locator("#ind-I3 [data-value]").inner_text()


@pytest.mark.parametrize("language", ["vi", "en"])
@pytest.mark.parametrize("width", [390, 1280])
def test_a_supervisor_merges_a_duplicate_and_keeps_a_look_alike(
    width,
    language,
    chromium,
    screenshots,
    site,  # noqa: F811
):
    x = site.register(WARD_A, "LAHU1150390", 1990)
    y = site.register(WARD_B, "HULA1150390", 1990)  # x again, the letters swapped
    q1 = site.register(WARD_A, "MIPH2000070", 1970, sex="2")
    q2 = site.register(WARD_B, "MIPH2000070", 1970, sex="2")  # another woman, same code
    served, words = site.url, WORDS[language]
    context = chromium.new_context(
        viewport={"width": width, "height": 844 if width < 500 else 800},
        locale="vi-VN",
        is_mobile=width < 500,
    )
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # the merge asks to confirm
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"{served}/login")
        page.fill("#email", site.users["both_wards"])
        page.fill("#password", PASSWORD)
        page.click("button.primary")
        page.wait_for_url(f"{served}/")
        if language == "en":
            with page.expect_navigation():
                page.select_option("#language", "en")
        assert registered(page, served, site.project_id) == "4"
        page.goto(f"{served}/projects/{site.project_id}")
        page.click("#duplicates-link")
        assert page.locator("li.dup").count() == 2
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        card = page.locator("li.dup", has_text="HULA1150390")
        text = card.inner_text()
        assert words["male"] in text  # labels, not codes
        assert words["ward"] in text
        assert "00118" not in text
        page.screenshot(
            path=str(screenshots / f"duplicates-{width}-{language}.png"), full_page=True
        )
        card.locator("button.primary").click()
        page.wait_for_load_state()
        assert page.locator("p.notice").is_visible()
        assert page.locator("li.dup").count() == 1
        assert words["merged"] in page.locator("#decided").inner_text()
        assert y not in site.phone_list(WARD_B)  # the ward's phone drops the merged one
        assert x in site.phone_list(WARD_A)
        assert q2 in site.phone_list(WARD_B)
        assert registered(page, served, site.project_id) == "3"  # one person, counted once
        page.goto(f"{served}/projects/{site.project_id}/lists/clients/duplicates")
        look_alike = page.locator("li.dup", has_text="MIPH2000070")
        look_alike.locator("button:not(.primary)").click()
        page.wait_for_load_state()
        assert page.locator("li.dup").count() == 0
        result = site.app.test_cli_runner().invoke(args=["duplicates", "scan"])
        assert result.exit_code == 0, result.output
        page.reload()
        assert page.locator("li.dup").count() == 0
        assert words["none"] in page.locator("#none").inner_text()
        assert page.locator("li.dup-decided").count() == 2
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(
            path=str(screenshots / f"duplicates-decided-{width}-{language}.png"), full_page=True
        )
        assert {q1, q2} <= set(site.phone_list(WARD_A) + site.phone_list(WARD_B))
        assert errors == []
    finally:
        context.close()
