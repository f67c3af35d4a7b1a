"""The indicators page on a 390 px phone and a 1280 px screen, with the month of
tests/dashboard sent through the real forms: nothing scrolls sideways, the bars and charts
are drawn (inline SVG, no script needed), the numbers are Vietnamese. Screenshots go to
test-artifacts/screenshots/indicators-*."""

from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from tests.dashboard.conftest import (
    PASSWORD,
    month,  # noqa: F401  (the month, sent once)
)


@pytest.fixture
def served(month):  # noqa: F811
    httpd = make_server("127.0.0.1", 0, month.app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join(5)


@pytest.mark.parametrize("width", [390, 1280])
def test_the_indicators_page_fits_and_draws_its_charts(width, chromium, screenshots, served, month):  # noqa: F811
    context = chromium.new_context(
        viewport={"width": width, "height": 900}, locale="vi-VN", is_mobile=width < 500
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"{served}/login")
        page.fill("#email", month.emails["supervisor"])
        page.fill("#password", PASSWORD)
        page.click("button.primary")
        page.wait_for_url(f"{served}/")
        url = f"/projects/{month.project_id}/indicators?period=range&from=2026-01-01&to=2026-11-30"
        response = page.goto(f"{served}{url}")
        assert response.status == 200
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        card = page.locator("#ind-I1")
        assert card.locator("[data-value]").inner_text() == "9"
        assert card.locator("svg.tbar").bounding_box()["width"] > 200
        chart = card.locator("svg.trend")
        assert chart.bounding_box()["height"] > 40
        assert chart.locator("rect.col").count() == 12
        page.screenshot(path=str(screenshots / f"indicators-{width}.png"), full_page=False)
        card.locator("summary").click()  # the numbers as a table, for screen readers too
        assert card.locator("table.trend-table").is_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        assert errors == []
    finally:
        context.close()
