"""Forms in the browser (/f/{projectId}/{xmlFormId}, ODK Web Forms): the real programme forms
after `flask init`, an app user's link with its key after '#', in Debian's chromium on a phone
(390 px) and a desktop (1280 px). Every form renders with no CSP violation; a finished form goes
to the OpenRosa submission endpoint and its entity appears in the list; offline, the page reloads
from the service worker, a finished form waits in the outbox and is sent when the network
returns; a revoked key empties the browser's store. One app for the module."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from urllib.parse import quote

import pytest
import requests
from sqlalchemy import func, select
from werkzeug.serving import make_server

from server.auth.permissions import SYSTEM
from server.models.indicators import PROGRAMME_FORMS
from server.models.submissions import Submission
from server.services import app_users, projects, users
from tests.conftest import empty_all_tables
from tests.support.programme_app import programme_app

PROGRAMME = PROGRAMME_FORMS  # F1-F7, the forms every page must render
COLLECTOR, PASSWORD = "tu.van@example.org", "correct horse battery"
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
        return f"{self.url}/f/{self.project_id}/{form}#key={quote(self.token, safe='')}"

    def clients(self) -> list[dict[str, str]]:
        """The clients entity list as this phone receives it (F2's attachment)."""
        import csv
        import io

        reply = requests.get(
            f"{self.url}/v1/key/{quote(self.token, safe='')}/projects/{self.project_id}"
            "/forms/f2_gap_go/attachments/clients.csv",
            timeout=30,
        )
        assert reply.status_code == 200, reply.text
        return list(csv.DictReader(io.StringIO(reply.text)))

    def submissions(self) -> int:
        with self.db.reading() as session:
            return session.scalar(select(func.count()).select_from(Submission))


@pytest.fixture(scope="module")
def site(migrated, tmp_path_factory):
    app = programme_app(migrated, tmp_path_factory.mktemp("webforms"), init=True)
    db = app.extensions["donghanh"].db
    with db.transaction() as session:
        project = projects.list_projects(session)[0]
        phone = app_users.create_app_user(session, SYSTEM, project.id, "TNV Hoa", all_forms=True)
        app_users.set_wards(session, SYSTEM, phone.actor_id, ["00004"])
        token, actor_id = phone.token, phone.actor_id
        realm = app.extensions["donghanh"].settings.digest_realm
        users.create_user(
            session, None, COLLECTOR, PASSWORD, realm, "collector", project.id, ["00004"]
        )
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
            if form == "f1_dang_ky":  # the date box: dd/mm/yyyy as written here, not mm/dd
                today = page.evaluate(
                    "(() => { const d = new Date(), p = (n) => String(n).padStart(2, '0');"
                    " return `${p(d.getDate())}/${p(d.getMonth() + 1)}/${d.getFullYear()}`; })()"
                )
                assert question(page, "Ngày đăng ký").locator("input").first.input_value() == today
            if form in ("f1_dang_ky", "f5_tham_nha"):
                page.screenshot(
                    path=str(screenshots / f"{screen}-webform-{form}.png"), full_page=True
                )
            page.close()
    finally:
        context.close()


def question(page, label: str):
    """One question of the Web Forms page, found by the start of its label."""
    return (
        page.locator(".question-container")
        .filter(has=page.locator(".control-text label", has_text=label))
        .first
    )


def choose(page, label: str, option: str) -> None:
    question(page, label).get_by_label(option, exact=True).check()


def pick(page, label: str, option: str) -> None:
    """A list with a search box (appearance autocomplete): open it, click the option."""
    question(page, label).locator("[role=combobox]").click()
    page.locator("li[role=option]", has_text=option).first.click()


def write(page, label: str, value: str) -> None:
    box = question(page, label).locator("input").first
    box.click()
    box.press_sequentially(value)
    box.press("Tab")


def send(page) -> None:
    page.get_by_role("button", name="Send").click()  # Web Forms' own word (not translatable)


def header(page) -> None:
    choose(page, "Tỉnh/Thành phố", "Hà Nội")
    pick(page, "Xã/Phường/Đặc khu", "Phường Ba Đình")
    choose(page, "Mô hình", "Tiếp cận cộng đồng")


def waiting(page, n: int) -> None:
    page.locator(f".dh-waiting[data-waiting='{n}']").wait_for(timeout=60_000)


def test_f1_then_f2_for_the_same_client_reach_the_server(site, chromium, screenshots):
    context = chromium.new_context(viewport={"width": 390, "height": 844}, locale="vi-VN")
    try:
        page, errors = open_form(context, site, "f1_dang_ky")
        header(page)
        choose(page, "Nguồn giới thiệu", "Tự đến")
        choose(page, "Khách hàng đồng ý", "Có")
        write(page, "Hai chữ cái đầu của TÊN mẹ", "La")
        write(page, "Hai chữ cái đầu của TÊN bố", "Th")
        choose(page, "Giới tính khi sinh", "Nam")
        choose(page, "Biết ngày sinh?", "Không")
        write(page, "Năm sinh", "1990")
        choose(page, "Nhóm khách hàng", "Người sử dụng ma túy")
        send(page)
        page.locator(".dh-ok", has_text="Đã gửi lên máy chủ.").wait_for(timeout=60_000)
        waiting(page, 0)
        [client] = [c for c in site.clients() if c["uic"].startswith("LATH")]
        assert (client["ma_xa"], client["trang_thai"], client["so_lan_tiep_xuc"]) == (
            "00004",
            "mo",
            "0",
        )
        page.close()

        page, errors = open_form(context, site, "f2_gap_go")
        header(page)
        choose(page, "Khách hàng đã có mã?", "Có")
        pick(page, "Chọn khách hàng", client["uic"])
        question(page, "Hình thức tiếp cận").locator("input[type=radio]").first.check()
        page.screenshot(path=str(screenshots / "phone-webform-f2-filled.png"), full_page=True)
        send(page)
        page.locator(".dh-ok", has_text="Đã gửi lên máy chủ.").wait_for(timeout=60_000)
        [after] = [c for c in site.clients() if c["name"] == client["name"]]
        assert after["so_lan_tiep_xuc"] == "1"  # F2 updated the client F1 registered
        assert errors == []
    finally:
        context.close()


def anonymous_contact(page) -> None:
    header(page)
    choose(page, "Khách hàng đã có mã?", "Không")
    choose(page, "Giới tính (ẩn danh)", "Nữ")
    question(page, "Nhóm tuổi (ẩn danh)").locator("input[type=radio]").first.check()
    question(page, "Hình thức tiếp cận").locator("input[type=radio]").first.check()
    send(page)


# Two finished forms put in the page's outbox as the page keeps them (under this key's owner).
PUT_IN_OUTBOX = """
async ([token, rows]) => {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(token));
  const owner = 'key:' + [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
  const db = await new Promise((ok, no) => {
    const req = indexedDB.open('dh-f');
    req.onsuccess = () => ok(req.result);
    req.onerror = () => no(req.error);
  });
  const store = db.transaction('outbox', 'readwrite').objectStore('outbox');
  rows.forEach(([id, xml], n) => store.put({
    instanceID: id, projectId: %d, formId: 'f2_gap_go', owner, savedAt: Date.now() + n,
    parts: [['xml_submission_file', new Blob([xml], { type: 'text/xml' }), 'submission.xml']],
  }));
  await new Promise((ok) => { store.transaction.oncomplete = ok; });
  db.close();
}
"""


def test_one_refused_form_keeps_the_others_and_empties_nothing(site, chromium):
    """A finished form the server refuses alone (here a form no longer assigned to the phone:
    403) stays in the outbox, the form after it is still sent, and nothing else is wiped: only
    a refused key (the form list refused too) empties the browser."""
    from tests.indicators import programme as p

    with site.db.transaction() as session:
        phone = app_users.create_app_user(
            session, SYSTEM, site.project_id, "TNV Minh", forms=["f2_gap_go"]
        )
        app_users.set_wards(session, SYSTEM, phone.actor_id, ["00004"])
    link = f"{site.url}/f/{site.project_id}/f2_gap_go#key={quote(phone.token, safe='')}"
    context = chromium.new_context(viewport={"width": 390, "height": 844}, locale="vi-VN")
    try:
        page = context.new_page()
        page.goto(link)
        page.locator(".form-questions").first.wait_for(timeout=60_000)
        assert "key=" not in page.url  # the key is not left in the browser's history
        before = site.submissions()
        ids = [f"uuid:{p.new_id()}", f"uuid:{p.new_id()}"]
        unassigned = p.f3(ids[0], p.new_id(), p.new_id(), "xn_hiv", "2026-11-30", "00004").decode()
        assigned = p.f2(ids[1], None, "2026-11-30", ward="00004").decode()
        rows = [[ids[0], unassigned], [ids[1], assigned]]
        page.evaluate(PUT_IN_OUTBOX % site.project_id, [phone.token, rows])
        page.evaluate("window.dispatchEvent(new Event('online'))")  # the page sends its outbox
        waiting(page, 1)
        assert site.submissions() == before + 1  # the second form went
        assert "403" in page.locator(".dh-error").inner_text()
        assert "dh-f" in page.evaluate("async () => (await indexedDB.databases()).map((d) => d.name)")
    finally:
        context.close()


def test_offline_the_page_reloads_a_form_waits_and_is_sent_then_a_revoked_key_empties_the_store(
    site, chromium, screenshots
):
    context = chromium.new_context(
        viewport={"width": 1280, "height": 900}, locale="vi-VN", service_workers="allow"
    )
    try:
        page, _ = open_form(context, site, "f2_gap_go")
        page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=60_000)
        before = site.submissions()

        context.set_offline(True)
        page.reload()
        page.locator(".form-questions").first.wait_for(timeout=60_000)  # from the worker's cache
        anonymous_contact(page)
        waiting(page, 1)
        assert page.locator(".dh-waiting").inner_text() == "1 phiếu đã điền xong đang chờ gửi."
        page.screenshot(
            path=str(screenshots / "desktop-webform-offline-waiting.png"), full_page=True
        )
        assert site.submissions() == before

        context.set_offline(False)  # the browser's online event sends the outbox
        waiting(page, 0)
        assert site.submissions() == before + 1

        context.set_offline(True)
        anonymous_contact(page)
        waiting(page, 1)
        with site.db.transaction() as session:
            app_users.revoke_app_user(session, SYSTEM, site.actor_id)
        context.set_offline(False)  # the server now refuses the key: everything kept is wiped
        page.locator(".dh-error", has_text="quyền truy cập đã bị thu hồi").wait_for(timeout=60_000)
        stored = page.evaluate(
            "async () => ({dbs: (await indexedDB.databases()).map((d) => d.name),"
            " caches: await caches.keys()})"
        )
        assert stored == {"dbs": [], "caches": []}
        assert site.submissions() == before + 1
    finally:
        context.close()


def log_in(context, site: Site):
    page = context.new_page()
    page.goto(f"{site.url}/login")
    page.fill("#email", COLLECTOR)
    page.fill("#password", PASSWORD)
    page.click("button.primary")
    page.wait_for_url(f"{site.url}/")
    return page


def test_a_logged_in_web_user_fills_a_form_on_its_session(site, chromium, screenshots):
    """A counselling-point worker at a desk: no key, the web session; the OpenRosa routes take
    that cookie only with the /f/ page's header, so another site cannot use it."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    try:
        log_in(context, site).close()
        cookies = {c["name"]: c["value"] for c in context.cookies()}
        form_list = f"{site.url}/v1/projects/{site.project_id}/formList"
        bare = requests.get(form_list, cookies=cookies, headers={"X-OpenRosa-Version": "1.0"})
        assert bare.status_code == 401  # the cookie alone is no credential for OpenRosa
        with_header = requests.get(
            form_list,
            cookies=cookies,
            headers={"X-OpenRosa-Version": "1.0", "X-Donghanh-Web-Form": "1"},
            timeout=30,
        )
        assert with_header.status_code == 200
        assert "f2_gap_go" in with_header.text

        before = site.submissions()
        page = context.new_page()
        page.add_init_script(WATCH_CSP)
        page.goto(f"{site.url}/f/{site.project_id}/f2_gap_go")
        page.locator(".form-questions").first.wait_for(timeout=60_000)
        anonymous_contact(page)
        page.locator(".dh-ok", has_text="Đã gửi lên máy chủ.").wait_for(timeout=60_000)
        assert site.submissions() == before + 1
        assert page.evaluate("window.__csp") == []
        page.screenshot(path=str(screenshots / "desktop-webform-web-user.png"))
        kept = "async () => ({dbs: (await indexedDB.databases()).map((d) => d.name), caches: (await caches.keys()).length})"
        assert page.evaluate(kept)["caches"] == 1

        page.goto(f"{site.url}/")  # logging out wipes what the /f/ page kept (Clear-Site-Data)
        page.locator("details.menu summary").click()
        page.click("text=Đăng xuất")
        page.wait_for_url(f"{site.url}/login*")
        assert page.evaluate(kept) == {"dbs": [], "caches": 0}
    finally:
        context.close()


def test_only_the_form_pages_loosen_the_policy(site):
    page = requests.get(f"{site.url}/f/{site.project_id}/f5_tham_nha", timeout=30)
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self' 'wasm-unsafe-eval'" in policy
    assert "style-src 'self' 'unsafe-inline'" in policy
    assert "font-src 'self' data:" in policy
    assert "connect-src 'self'" in policy
    assert page.headers["Permissions-Policy"] == "camera=(self), geolocation=(self), microphone=()"
    assert site.token not in page.text  # the key lives after '#', never in the page
    login = requests.get(f"{site.url}/login", timeout=30)
    assert "wasm-unsafe-eval" not in login.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in login.headers["Content-Security-Policy"]
    assert login.headers["Permissions-Policy"] == "camera=(), microphone=(), geolocation=()"
