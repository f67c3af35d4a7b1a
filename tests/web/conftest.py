"""Fixtures for the web UI: a review form with every kind of answer, submissions sent the way
Collect sends them, and clients logged in through the login page with a role."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from server.auth import totp
from tests.support.xmls import instance
from tests.sync.conftest import register, settings  # noqa: F401  (forward to a loopback register)

REVIEW_MD = """
| survey   |                 |          |                          |                        |                     |
|          | type            | name     | label::Tiếng Việt (vi)   | label::English (en)    | bind::dh:sensitive  |
|          | text            | ma_xa    | Xã/phường                | Commune/ward           |                     |
|          | text            | ho_ten   | Họ tên                   | Full name              | identifying         |
|          | select_one yn   | gap      | Gặp được?                | Met?                   |                     |
|          | select_multiple nc | nhu_cau | Nhu cầu               | Needs                  | special             |
|          | geopoint        | vi_tri   | Vị trí                   | Location               |                     |
|          | image           | anh      | Ảnh minh chứng           | Proof photo            |                     |
|          | audio           | ghi_am   | Ghi âm                   | Recording              |                     |
|          | begin_repeat    | lan_gap  | Lần gặp                  | Contacts               |                     |
|          | date            | ngay     | Ngày                     | Date                   |                     |
|          | text            | ghi_chu  | Ghi chú                  | Note                   |                     |
|          | end_repeat      |          |                          |                        |                     |
| choices  |                 |          |                          |                        |                     |
|          | list_name       | name     | label::Tiếng Việt (vi)   | label::English (en)    |                     |
|          | yn              | co       | Có                       | Yes                    |                     |
|          | yn              | khong    | Không                    | No                     |                     |
|          | nc              | xn_hiv   | Xét nghiệm HIV           | HIV testing            |                     |
|          | nc              | mmt      | Điều trị methadone       | Methadone              |                     |
| settings |                 |          |                          |                        |                     |
|          | form_id         | version  | form_title               | namespaces             |                     |
|          | review          | 1        | Phiếu thăm               | dh="https://donghanh.vn/xforms" |            |
"""
# A 1x1 PNG, so that browsers really decode the photo.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc00000030101005d0b4e2a0000000049454e44ae426082"
)


@pytest.fixture
def review_form(make_form):
    return make_form(REVIEW_MD)


def review_instance(instance_id: str, deprecated_id: str | None = None, **answers) -> bytes:
    values = {
        "ma_xa": "00004",
        "ho_ten": "Nguyễn Văn Bình",
        "gap": "co",
        "nhu_cau": "xn_hiv mmt",
        "vi_tri": "21.0285 105.8542 12 5",
        "anh": "proof.png",
        "lan_gap": [{"ngay": "2026-11-20", "ghi_chu": "Tại nhà"}],
    }
    values.update(answers)
    return instance(
        "review",
        instance_id,
        version="1",
        deprecated_id=deprecated_id,
        instance_name=values.pop("name", None),
        **values,
    )


@dataclass
class Browser:
    """The Flask test client, logged in through the login page like a person would."""

    client: object
    csrf: str

    def get(self, url: str, **kw):
        return self.client.get(url, **kw)

    def post(self, url: str, data: dict | None = None, **kw):
        return self.client.post(url, data={"csrf_token": self.csrf, **(data or {})}, **kw)


def log_in(client, email: str, password: str = "correct horse battery", secret: str = ""):
    """Log in through the login page; with a TOTP ``secret``, through the code page too."""
    page = client.get("/login")
    nonce = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    response = client.post(
        "/login", data={"csrf_token": nonce, "email": email, "password": password, "next": "/"}
    )
    if secret and response.status_code == 302 and "/login/code" in response.headers["Location"]:
        page = client.get(response.headers["Location"])
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        code = totp.code_at(secret, datetime.now(UTC))
        response = client.post("/login/code", data={"csrf_token": csrf, "code": code, "next": "/"})
    return response


@pytest.fixture
def login_as(app, make_user, enrol_totp, project):
    """login_as(role, project_id=project.id, wards=()) -> Browser logged in as a new user
    (an administrator with a one-time code set up, as administrators must have)."""
    counter = iter(range(1000))

    def make(
        role: str, project_id: int | None = -1, email: str | None = None, wards: tuple = ()
    ) -> Browser:
        email = email or f"{role}{next(counter)}@example.org"
        make_user(
            email,
            role=role,
            project_id=project.id if project_id == -1 else project_id,
            wards=wards,
        )
        secret = enrol_totp(email) if role == "admin" else ""
        client = app.test_client()
        response = log_in(client, email, secret=secret)
        assert response.status_code == 302, response.text
        home = client.get("/")
        token = re.search(r'name="csrf_token" value="([^"]+)"', home.text)
        return Browser(client, token.group(1) if token else "")

    return make
