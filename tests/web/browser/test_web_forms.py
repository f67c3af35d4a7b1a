"""Forms in the browser (/f/{projectId}/{xmlFormId}, ODK Web Forms): the real programme forms
after `flask init`, an app user's link with its key after '#', in Debian's chromium on a phone
(390 px) and a desktop (1280 px). Every form renders with no CSP violation; a finished form goes
to the OpenRosa submission endpoint and its entity appears in the list; offline, the page reloads
from the service worker, a finished form waits in the outbox and is sent when the network
returns; a revoked key empties the browser's store. One app for the module."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import pytest
import requests
from werkzeug.serving import make_server

from server.auth.permissions import SYSTEM
from server.services import app_users, projects
from tests.conftest import empty_all_tables
from tests.support.programme_app import programme_app

PROGRAMME = (
    "f1_dang_ky",
    "f2_gap_go",
    "f3_chuyen_gui",
    "f4_ket_qua_cg",
    "f5_tham_nha",
    "f6_sinh_hoat",
    "f7_cap_nhat",
)
SCREENS = {"phone": (390, 844), "desktop": (1280, 900)}
# Every CSP violation the page meets, reported by the browser's own event.
WATCH_CSP = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__csp.push(e.violatedDirective + ' ' + e.blockedURI);
});
"""


@dataclass
class Site:
    url: str
    project_id: int
    token: str
    actor_id: int
    db: object

    def link(self, form: str) -> str:
        return f"{self.url}/f/{self.project_id}/{form}#key={self.token}"

    def entities(self, dataset: str) -> str:
        reply = requests.get(
            f"{self.url}/v1/key/{self.token}/projects/{self.project_id}/forms/f2_gap_go/attachments/{dataset}.csv",
            timeout=30,
        )
        assert reply.status_code == 200, reply.text
        return reply.text


@pytest.fixture(scope="module")
def site(migrated, tmp_path_factory):
    app = programme_app(migrated, tmp_path_factory.mktemp("webforms"), init=True)
    db = app.extensions["donghanh"].db
    with db.transaction() as session:
        project = projects.list_projects(session)[0]
        phone = app_users.create_app_user(session, SYSTEM, project.id, "TNV Hoa", all_forms=True)
        app_users.set_wards(session, SYSTEM, phone.actor_id, ["00004"])
        token, actor_id = phone.token, phone.actor_id
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield Site(f"http://127.0.0.1:{httpd.server_port}", project.id, token, actor_id, db)
    httpd.shutdown()
    thread.join(5)
    empty_all_tables(db)
    db.dispose()


def open_form(context, site: Site, form: str):
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.add_init_script(WATCH_CSP)
    page.goto(site.link(form))
    page.locator(".form-questions").first.wait_for(timeout=60_000)
    return page, errors


@pytest.mark.parametrize("screen", list(SCREENS))
def test_every_programme_form_renders_with_no_csp_violation(screen, site, chromium, screenshots):
    width, height = SCREENS[screen]
    context = chromium.new_context(
        viewport={"width": width, "height": height}, locale="vi-VN", is_mobile=screen == "phone"
    )
    try:
        for form in PROGRAMME:
            page, errors = open_form(context, site, form)
            assert page.evaluate("window.__csp") == [], form
            assert errors == [], form
            assert page.locator(".dh-waiting").inner_text() == "Không có phiếu nào chờ gửi."
            if form in ("f1_dang_ky", "f5_tham_nha"):
                page.screenshot(
                    path=str(screenshots / f"{screen}-webform-{form}.png"), full_page=True
                )
            page.close()
    finally:
        context.close()
