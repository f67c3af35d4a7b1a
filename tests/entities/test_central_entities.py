"""Entities as Central has them, driven by pyodk over real HTTP: a CSV of clients uploaded
as Central's bulk create, a deleted client restored, a client's versions, and a conflict
resolved; each in the caller's wards (a ward's manager reaches only its ward's clients)."""

from __future__ import annotations

import csv
import io
import uuid
from pathlib import Path

import pytest

from tests.entities.test_follow_up import (  # noqa: F401  (fixtures)
    forms_published,
    registration,
    visit,
    ward_phone,
)
from tests.support.central_client import central_client
from tests.web.conftest import login_as  # noqa: F401  (a fixture)

CSV = "label,uic,ma_xa\nLAHU1M1990 - 00118,LAHU1M1990,00118\nNGVA2F1985 - 00007,NGVA2F1985,00007\n"


@pytest.fixture
def manager(live_server, make_user, project, tmp_path: Path, forms_published):  # noqa: F811
    make_user("ql@example.org", role="manager", project_id=project.id)
    with central_client(live_server, "ql@example.org", tmp_path, project.id) as client:
        yield client


def _by_label(client) -> dict[str, str]:
    return {e.currentVersion.label: e.uuid for e in client.entities.list("clients")}


def test_a_csv_of_clients_is_created_restored_and_its_versions_read(
    manager, make_user, live_server, project, tmp_path
):
    rows = list(csv.DictReader(io.StringIO(CSV)))
    assert manager.entities.create_many(rows, "clients", create_source="clients.csv")
    made = _by_label(manager)
    assert sorted(made) == ["LAHU1M1990 - 00118", "NGVA2F1985 - 00007"]
    here, there = made["LAHU1M1990 - 00118"], made["NGVA2F1985 - 00007"]

    manager.entities.update(here, "clients", data={"uic": "LAHU1M1991"}, base_version=1)
    base = f"projects/{project.id}/datasets/clients/entities"
    versions = manager.get(f"{base}/{here}/versions").json()
    assert [(v["version"], v["current"], v["data"]["uic"]) for v in versions] == [
        (1, False, "LAHU1M1990"),
        (2, True, "LAHU1M1991"),
    ]

    assert manager.entities.delete(here, "clients")
    assert here not in _by_label(manager).values()
    restored = manager.post(f"{base}/{here}/restore")
    assert (restored.status_code, restored.json()) == (200, {"success": True})
    assert here in _by_label(manager).values()
    again = manager.post(f"{base}/{here}/restore")  # a live entity is not found, as in Central
    assert again.status_code == 404

    # A manager of ward 00118 only: the other ward's client is no more than "not found".
    make_user("ward@example.org", role="manager", project_id=project.id, wards=("00118",))
    with central_client(live_server, "ward@example.org", tmp_path, project.id) as ward:
        assert ward.get(f"{base}/{here}/versions").status_code == 200
        assert ward.get(f"{base}/{there}/versions").status_code == 404
        assert manager.entities.delete(there, "clients")
        assert ward.post(f"{base}/{there}/restore").status_code == 404
        assert manager.entities.delete(here, "clients")
        assert ward.post(f"{base}/{here}/restore").status_code == 200


def test_a_conflict_is_resolved_as_in_central(manager, ward_phone, project, db):  # noqa: F811
    client = str(uuid.uuid4())
    ward_phone.submit(registration("uuid:r", client, "LAHU1M1990", "00118"))
    ward_phone.submit(visit("uuid:v1", client, 1, "2026-12-01"))
    ward_phone.submit(visit("uuid:v2", client, 1, "2026-12-05"))  # made offline from version 1
    path = f"projects/{project.id}/datasets/clients/entities/{client}"
    assert manager.get(path).json()["conflict"] == "soft"

    stale = manager.patch(f"{path}?resolve=true&baseVersion=2", json={})
    assert (stale.status_code, stale.json()["code"]) == (409, 409.15)
    resolved = manager.patch(f"{path}?resolve=true&baseVersion=3", json={})
    assert resolved.status_code == 200
    assert (resolved.json()["conflict"], resolved.json()["currentVersion"]["version"]) == (None, 3)
    again = manager.patch(f"{path}?resolve=true&baseVersion=3", json={})
    assert (again.status_code, again.json()["code"]) == (400, 400.32)


def test_the_list_page_resolves_a_conflict_for_its_manager_only(
    forms_published,  # noqa: F811
    ward_phone,  # noqa: F811
    project,
    login_as,  # noqa: F811
):
    client = str(uuid.uuid4())
    ward_phone.submit(registration("uuid:r", client, "LAHU1M1990", "00118"))
    ward_phone.submit(visit("uuid:v1", client, 1, "2026-12-01"))
    ward_phone.submit(visit("uuid:v2", client, 1, "2026-12-05"))
    page = f"/projects/{project.id}/lists/clients"
    viewer = login_as("viewer")
    assert "Cập nhật xung đột" in viewer.get(page).text
    assert "Đánh dấu đã giải quyết" not in viewer.get(page).text
    assert viewer.post(f"{page}/{client}/resolve", {"base_version": "3"}).status_code == 403

    manager = login_as("manager")
    listed = manager.get(page).text
    assert 'name="base_version" value="3"' in listed
    stale = manager.post(f"{page}/{client}/resolve", {"base_version": "2"})
    assert stale.status_code == 409
    done = manager.post(f"{page}/{client}/resolve", {"base_version": "3"})
    assert done.status_code == 303
    assert "Cập nhật xung đột" not in manager.get(page).text
