"""One programme site per test module: the app after `flask init` (the real forms F1-F7
published), served over HTTP, a phone working in the test wards, and web users of each role
who read the indicators through the API. Module-scoped so that a module seeds its data once;
each test reads its own wards or months, so that tests do not see each other's records."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field

import pytest
import requests
from werkzeug.serving import make_server

from server.auth.permissions import SYSTEM
from server.services import app_users, projects, users
from server.web import LANG_COOKIE
from tests.conftest import empty_all_tables
from tests.support.collect import Collect
from tests.support.programme_app import programme_app

PASSWORD = "correct horse battery"
#: The wards the tests use (xlsforms/wards.csv, Hà Nội): one per scenario.
WARDS = (
    "00004", "00008", "00025", "00070", "00082", "00091", "00097", "00103", "00118",
    "00127", "00136", "00145", "00160", "00166", "00175", "00190",
)  # fmt: skip


@dataclass
class Site:
    url: str
    project_id: int
    db: object
    phone: Collect
    tokens: dict[str, str] = field(default_factory=dict)

    def submit(self, xml: bytes) -> None:
        reply = self.phone.submit(xml)[0]
        assert reply.status == 201, (reply.status, reply.message)

    def get(self, path: str, who: str = "manager", **params) -> requests.Response:
        return requests.get(
            f"{self.url}/v1/projects/{self.project_id}{path}",
            params=params,
            headers={"Authorization": f"Bearer {self.tokens[who]}"},
            timeout=60,
        )

    def web(self, who: str, language: str = "vi") -> requests.Session:
        """A browser-like HTTP session logged in through the login page as
        ``who@example.org`` (with ``language`` "en", the English pages)."""
        web = requests.Session()
        page = web.get(f"{self.url}/login", timeout=10)
        nonce = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        reply = web.post(
            f"{self.url}/login",
            data={"csrf_token": nonce, "email": f"{who}@example.org", "password": PASSWORD,
                  "next": "/"},
            allow_redirects=False,
            timeout=10,
        )  # fmt: skip
        assert reply.status_code in (302, 303), reply.text
        if language == "en":
            web.cookies.set(LANG_COOKIE, "en")
        return web

    def report(self, who: str = "manager", **params) -> dict[str, dict]:
        """code -> the indicator's JSON (a 200 answer is asserted)."""
        reply = self.get("/indicators", who, **params)
        assert reply.status_code == 200, reply.text
        return {i["code"]: i for i in reply.json()["indicators"]}

    def value(self, code: str, who: str = "manager", **params):
        return self.report(who, **params)[code]["value"]

    def records(self, code: str, who: str = "manager", **params) -> list[dict]:
        reply = self.get(f"/indicators/{code}/records", who, **params)
        assert reply.status_code == 200, reply.text
        return reply.json()["records"]


@pytest.fixture(scope="module")
def site(migrated, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("indicators")
    app = programme_app(migrated, tmp, init=True)
    settings = app.extensions["donghanh"].settings
    db = app.extensions["donghanh"].db
    with db.transaction() as session:
        project = projects.list_projects(session)[0]
        phone_user = app_users.create_app_user(
            session, SYSTEM, project.id, "TNV Lan", all_forms=True
        )
        app_users.set_wards(session, SYSTEM, phone_user.actor_id, list(WARDS))
        roles = {
            "manager": ("manager", ()),
            "supervisor": ("supervisor", ()),
            "ward_supervisor": ("supervisor", ("00004",)),
            "viewer": ("viewer", ()),
            "collector": ("collector", ()),
        }
        for name, (role, wards) in roles.items():
            users.create_user(
                session,
                None,
                f"{name}@example.org",
                PASSWORD,
                settings.digest_realm,
                role,
                project.id,
                wards,
            )
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{httpd.server_port}"
    result = Site(url, project.id, db, Collect(phone_user.server_url(url)))
    for name in roles:
        reply = requests.post(
            f"{url}/v1/sessions",
            json={"email": f"{name}@example.org", "password": PASSWORD},
            timeout=10,
        )
        assert reply.status_code == 200, reply.text
        result.tokens[name] = reply.json()["token"]
    yield result
    httpd.shutdown()
    thread.join(5)
    empty_all_tables(db)
    db.dispose()
