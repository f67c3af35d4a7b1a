"""The export tests share the web UI's fixtures: the review form (a repeat, a geopoint, a
photo, a special-category select_multiple), Collect over HTTP, and logged-in people; and
``api_as``: an API caller with a Bearer session, as pyodk signs in."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest

from tests.web.conftest import login_as, register, review_form, settings  # noqa: F401


@dataclass
class ApiCaller:
    client: object
    token: str

    def get(self, url: str, **kw):
        return self.client.get(url, headers={"Authorization": f"Bearer {self.token}"}, **kw)

    def patch(self, url: str, **kw):
        return self.client.patch(url, headers={"Authorization": f"Bearer {self.token}"}, **kw)


@pytest.fixture
def api_as(app, make_user, project):
    """api_as(role, wards=()) -> ApiCaller signed in through POST /v1/sessions."""
    counter = itertools.count()

    def make(role: str, wards: tuple = ()) -> ApiCaller:
        email = f"api-{role}{next(counter)}@example.org"
        make_user(email, role=role, project_id=project.id, wards=wards)
        client = app.test_client()
        response = client.post(
            "/v1/sessions", json={"email": email, "password": "correct horse battery"}
        )
        assert response.status_code == 200, response.text
        return ApiCaller(client, response.json["token"])

    return make
