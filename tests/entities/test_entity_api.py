"""The entity API as pyodk calls it: entity lists, properties, create one and many, update
with baseVersion or force, delete; and what a deletion does to the phone's list."""

from __future__ import annotations

import uuid

import pytest
import requests

PASSWORD = "correct horse battery"


@pytest.fixture
def api(live_server, make_user, project):
    make_user("manager@example.org", PASSWORD, "manager", project.id)
    token = requests.post(
        f"{live_server}/v1/sessions",
        timeout=10,
        json={"email": "manager@example.org", "password": PASSWORD},
    ).json()["token"]
    base = f"{live_server}/v1/projects/{project.id}"

    def call(method, path, **kwargs):
        return requests.request(
            method, base + path, timeout=10, headers={"Authorization": f"Bearer {token}"}, **kwargs
        )

    return call


def test_entity_list_lifecycle(api):
    assert api("POST", "/datasets", json={"name": "facilities"}).status_code == 200
    assert api("POST", "/datasets", json={"name": "facilities"}).status_code == 409
    assert api("POST", "/datasets/facilities/properties", json={"name": "ma_xa"}).json() == {
        "success": True
    }
    dataset = api("GET", "/datasets/facilities").json()
    assert dataset["name"] == "facilities"
    assert [p["name"] for p in dataset["properties"]] == ["ma_xa"]
    assert [d["name"] for d in api("GET", "/datasets").json()] == ["facilities"]


def test_entities_are_created_updated_and_deleted(api):
    api("POST", "/datasets", json={"name": "facilities"})
    api("POST", "/datasets/facilities/properties", json={"name": "ma_xa"})
    entity_id = str(uuid.uuid4())
    created = api(
        "POST",
        "/datasets/facilities/entities",
        json={"uuid": entity_id, "label": "Trạm y tế Bồ Đề", "data": {"ma_xa": "00118"}},
    )
    assert created.status_code == 200, created.text
    assert created.json()["currentVersion"]["version"] == 1
    many = api(
        "POST",
        "/datasets/facilities/entities",
        json={
            "entities": [
                {"label": "Điểm tư vấn A", "data": {"ma_xa": "00004"}},
                {"label": "Điểm tư vấn B", "data": {}},
            ],
            "source": {"name": "pyodk"},
        },
    )
    assert many.json() == {"success": True}
    assert len(api("GET", "/datasets/facilities/entities").json()) == 3
    path = f"/datasets/facilities/entities/{entity_id}"
    stale = api("PATCH", f"{path}?baseVersion=3", json={"label": "x"})
    assert stale.status_code == 409
    assert "Current version of the Entity is '1'" in stale.json()["message"]
    updated = api("PATCH", f"{path}?baseVersion=1", json={"data": {"ma_xa": "00120"}})
    assert updated.json()["currentVersion"]["version"] == 2
    assert updated.json()["currentVersion"]["data"]["ma_xa"] == "00120"
    forced = api("PATCH", f"{path}?force=true", json={"label": "Trạm y tế mới"})
    assert forced.json()["currentVersion"]["label"] == "Trạm y tế mới"
    assert api("DELETE", path).json() == {"success": True}
    assert api("GET", path).status_code == 404
    assert len(api("GET", "/datasets/facilities/entities").json()) == 2


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"label": "x", "data": {"ma_xa": 5}}, 400.11),
        ({"label": "x", "data": {"unknown": "1"}}, 400.2),
        ({"label": "x", "colour": "red"}, 400.2),
        ({"data": {}}, 400.2),
    ],
)
def test_bad_entities_are_refused_with_a_json_problem(api, body, code):
    api("POST", "/datasets", json={"name": "facilities"})
    api("POST", "/datasets/facilities/properties", json={"name": "ma_xa"})
    response = api("POST", "/datasets/facilities/entities", json=body)
    assert response.status_code == 400
    assert response.json()["code"] == code
    assert api("GET", "/datasets/facilities/entities").json() == []
