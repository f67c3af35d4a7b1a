"""A supervisor's journey in a real browser, on a phone-sized screen and on a desktop: log in,
filter the list, open a submission with a photo and a map, approve it with a comment,
watch its delivery to the register change state, and see the form's submissions on a map. Screenshots go to test-artifacts/."""

from __future__ import annotations

import pytest

from server.auth.permissions import SYSTEM
from server.models.types import utcnow
from server.services import forms as form_service
from sync.worker import ATTACHMENT_GRACE, drain
from tests.web.conftest import PNG, review_instance

VIEWPORTS = {"phone": (390, 844), "desktop": (1280, 800)}


@pytest.mark.parametrize("screen", list(VIEWPORTS))
def test_supervisor_reviews_a_visit_and_sees_it_reach_the_register(
    screen,
    chromium,
    screenshots,
    app,
    db,
    live_server,
    make_user,
    review_form,
    collect,
    project,
    register,
):
    with db.transaction() as session:
        form_service.set_forward_policy(session, SYSTEM, project.id, "review", "on_approval")
    make_user("giam.sat@example.org", role="supervisor", project_id=project.id)
    sent = collect.submit(
        review_instance("uuid:b1", name="Thăm anh Bình", ho_ten="Nguyễn Văn Bình"),
        {"proof.png": PNG},
    )
    assert sent[-1].status == 201
    assert (
        collect.submit(
            review_instance("uuid:b2", name="Thăm chị Hà", ho_ten="Trần Thị Hà"), {"proof.png": PNG}
        )[-1].status
        == 201
    )
    width, height = VIEWPORTS[screen]
    context = chromium.new_context(viewport={"width": width, "height": height}, locale="vi-VN")
    page = context.new_page()
    errors: list[str] = []
    page.on(
        "console",
        lambda m: errors.append(f"{m.text} {m.location.get('url')}") if m.type == "error" else None,
    )
    page.on("pageerror", lambda e: errors.append(str(e)))
    external: list[str] = []
    page.on(
        "request",
        lambda r: external.append(r.url) if not r.url.startswith((live_server, "data:")) else None,
    )
    shot = 0

    def snap(name: str) -> None:
        nonlocal shot
        shot += 1
        page.screenshot(path=str(screenshots / f"{screen}-{shot:02d}-{name}.png"), full_page=True)

    try:
        page.goto(f"{live_server}/projects/{project.id}")
        assert page.url.startswith(f"{live_server}/login")
        page.fill("#email", "giam.sat@example.org")
        page.fill("#password", "wrong password")
        page.click("button.primary")
        assert page.locator(".alert").inner_text().startswith("Email hoặc mật khẩu không đúng")
        snap("wrong-password")
        errors.clear()  # the browser logs the 401 of the wrong password as an error
        page.fill("#password", "correct horse battery")
        page.click("button.primary")
        page.wait_for_url(f"{live_server}/projects/{project.id}")
        snap("project")
        page.click("text=Phiếu thăm")
        page.wait_for_selector("#submissions")
        assert page.locator("#count").inner_text() == "2 phiếu"
        page.click("details.filters summary")  # the filters fold away until asked for
        page.fill("#q", "binh")
        page.click("#filters button[type=submit]")
        page.wait_for_url("**q=binh**")
        assert page.locator("#count").inner_text() == "1 phiếu"
        assert page.locator("#submissions .title").all_inner_texts() == ["Thăm anh Bình"]
        snap("filtered")
        page.click("#submissions a.row")
        page.wait_for_selector("#deliveries")
        assert errors == []
        page.wait_for_selector(".map.map-ready")
        photo = page.locator("img.photo")
        photo.scroll_into_view_if_needed()
        page.wait_for_function("document.querySelector('img.photo').complete")
        assert page.evaluate("document.querySelector('img.photo').naturalWidth") == 1
        assert page.locator(".map .leaflet-interactive").count() >= 1  # the point (and accuracy)
        assert "Nguyễn Văn Bình" in page.locator("#answers").inner_text()
        assert "sẽ được chuyển khi được duyệt" in page.locator("#deliveries").inner_text()
        snap("submission")
        page.check("input[value=approved]")
        page.fill("#comment", "Đã xác minh với TNV.")
        page.click("#review button[type=submit]")
        page.wait_for_selector(".notice")  # back to the list, with its filter
        assert page.locator(".notice").inner_text() == "Đã lưu kết quả duyệt."
        assert "q=binh" in page.url
        assert page.locator("#submissions .title").all_inner_texts() == ["Thăm anh Bình"]
        snap("back-to-list")
        page.click("#submissions a.row")
        page.wait_for_selector("#deliveries")
        assert page.locator("#review-state").inner_text() == "Đã duyệt"
        assert "→ Đã duyệt" in page.locator("#review-history").inner_text()
        assert "Đã xác minh với TNV." in page.locator("#comments").inner_text()
        assert page.locator("#deliveries .delivery").get_attribute("data-state") == "pending"
        snap("approved")
        assert drain(app, utcnow() + 2 * ATTACHMENT_GRACE) >= 1
        page.reload()
        assert page.locator("#deliveries .delivery").get_attribute("data-state") == "delivered"
        assert "Đã chuyển" in page.locator("#deliveries").inner_text()
        snap("delivered")
        page.goto(f"{live_server}/projects/{project.id}/forms/review/submissions/map")
        page.wait_for_selector(".map-all.map-ready")
        assert page.locator(".map-all .leaflet-interactive").count() == 2  # both visits
        snap("map")
        page_width = page.evaluate("document.documentElement.scrollWidth")
        assert page_width <= width  # nothing overflows sideways, even at 390 px
    finally:
        context.close()
    assert len(register.stored) == 1
    assert errors == []
    assert external == []  # no request leaves the server: no CDN, no map tiles by default
