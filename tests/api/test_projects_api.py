"""Projects as in Central, one per programme on the server: pyodk (its HTTP session, over
real HTTP) creates, renames, archives and deletes them; the web page and the command line
create them too. Only an administrator creates one; a project-wide manager renames,
archives and deletes its own."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.services import projects
from tests.support.central_client import central_client


@pytest.fixture
def admin(live_server, make_user, project, tmp_path: Path):
    make_user("admin@example.org", role="admin")
    with central_client(live_server, "admin@example.org", tmp_path, project.id) as client:
        yield client


def test_pyodk_creates_renames_archives_and_deletes_a_project(admin, visit_form):
    created = admin.post("projects", json={"name": "Đắk Lắk", "description": "Buôn Ma Thuột"})
    assert created.status_code == 200
    body = created.json()
    assert (body["name"], body["description"], body["archived"]) == (
        "Đắk Lắk",
        "Buôn Ma Thuột",
        False,
    )
    pid = body["id"]
    assert {p.name for p in admin.projects.list()} >= {"Phường Bồ Đề", "Đắk Lắk"}

    renamed = admin.patch(f"projects/{pid}", json={"name": "Đắk Lắk 2027", "archived": True})
    assert (renamed.json()["name"], renamed.json()["archived"]) == ("Đắk Lắk 2027", True)
    assert renamed.json()["updatedAt"] is not None
    assert admin.projects.get(pid).name == "Đắk Lắk 2027"

    ended = admin.delete(f"projects/{pid}")
    assert (ended.status_code, ended.json()) == (200, {"success": True})
    for path in (f"projects/{pid}", f"projects/{pid}/forms", f"projects/{pid}/app-users"):
        gone = admin.get(path)
        assert (gone.status_code, gone.json()["code"]) == (404, 404.1), path
    assert "Đắk Lắk 2027" not in {p.name for p in admin.projects.list()}


def test_a_project_without_a_name_is_refused_and_nothing_is_made(admin, db):
    refused = admin.post("projects", json={"name": "  "})
    assert (refused.status_code, refused.json()["code"]) == (400, 400.2)
    with db.transaction(write=False) as session:
        assert [p.name for p in projects.list_projects(session)] == ["Phường Bồ Đề"]


def test_only_an_administrator_creates_and_a_manager_updates_its_own(
    live_server, make_user, project, db, tmp_path
):
    with db.transaction() as session:
        other = projects.create_project(session, None, "Dự án khác")
    make_user("ql@example.org", role="manager", project_id=project.id)
    with central_client(live_server, "ql@example.org", tmp_path, project.id) as manager:
        refused = manager.post("projects", json={"name": "Của tôi"})
        assert (refused.status_code, refused.json()["code"]) == (403, 403.1)
        assert manager.patch(f"projects/{project.id}", json={"archived": True}).status_code == 200
        elsewhere = manager.patch(f"projects/{other.id}", json={"archived": True})
        assert elsewhere.status_code == 403
    with db.transaction(write=False) as session:
        assert projects.get_project(session, project.id).archived is True
        assert projects.get_project(session, other.id).archived is False


def test_the_web_page_and_the_command_line_create_projects(app, db, login_as):
    admin = login_as("admin", project_id=None)
    assert 'id="new-project"' in admin.get("/").text
    made = admin.post("/projects", data={"name": "Hà Nội"})
    assert made.status_code == 303
    assert "Hà Nội" in admin.get(made.headers["Location"]).text
    empty = admin.post("/projects", data={"name": " "})
    assert "Nhập tên dự án." in empty.text

    manager = login_as("manager")
    assert 'id="new-project"' not in manager.get("/").text
    assert manager.post("/projects", data={"name": "X"}).status_code == 403

    result = app.test_cli_runner().invoke(args=["projects", "create", "Đắk Lắk"])
    assert result.exit_code == 0, result.output
    listed = app.test_cli_runner().invoke(args=["projects", "list"]).output
    assert "Hà Nội" in listed
    assert "Đắk Lắk" in listed
    with db.transaction(write=False) as session:
        assert sorted(p.name for p in projects.list_projects(session)) == [
            "Hà Nội",
            "Phường Bồ Đề",
            "Đắk Lắk",
        ]
