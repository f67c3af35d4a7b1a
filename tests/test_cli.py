"""The command line: init, forms publish, users create, app-users create/revoke/list."""

from __future__ import annotations

import base64
import json
import zlib
from pathlib import Path

from sqlalchemy import func, select

from server.models.actors import AppUser, User
from server.models.forms import Form, FormVersion
from server.services import app_users
from tests.conftest import VISIT_MD
from tests.support.facilities import add_facilities

ROOT = Path(__file__).resolve().parent.parent


def count(db, model) -> int:
    with db.transaction(write=False) as session:
        return session.scalar(select(func.count()).select_from(model))


def write_md(tmp_path, version: str) -> Path:
    path = tmp_path / f"visit_v{version}.md"
    path.write_text(VISIT_MD.format(version=version))
    return path


def test_init_creates_project_admin_app_user_and_publishes_xlsforms(app, db, tmp_path):
    forms_dir = tmp_path / "xlsforms"
    forms_dir.mkdir()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["init", "--forms-dir", str(forms_dir)])
    assert result.exit_code == 0, result.output
    assert "Administrator: admin@donghanh.local  password in " in result.output
    password_file = Path(app.instance_path) / "admin-password"
    assert password_file.stat().st_mode & 0o777 == 0o600
    password = password_file.read_text().strip()
    assert len(password) >= 12
    assert password not in result.output  # never in the output stream
    assert "https://donghanh.example.org/v1/key/" in result.output
    assert count(db, User) == 1
    assert count(db, AppUser) == 1
    pngs = list(Path(app.instance_path).glob("collect-app-user-*.png"))
    assert len(pngs) == 1
    assert pngs[0].read_bytes().startswith(b"\x89PNG")
    again = runner.invoke(args=["init", "--forms-dir", str(forms_dir)])
    assert again.exit_code == 0, again.output
    assert "password" not in again.output  # nothing created twice
    assert count(db, User) == 1
    assert count(db, AppUser) == 1


def test_init_publishes_the_programs_xlsforms_once(app, db):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["init"])
    assert first.exit_code == 0, first.output
    shipped = sorted((ROOT / "xlsforms").glob("*.xlsx"))
    assert shipped, "xlsforms/ must hold the program's forms"
    assert count(db, Form) == len(shipped)
    assert runner.invoke(args=["init"]).exit_code == 0
    assert count(db, FormVersion) == len(shipped)


def test_forms_publish_refuses_the_same_id_and_version_and_takes_a_new_one(
    app, db, project, tmp_path
):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["forms", "publish", str(write_md(tmp_path, "1"))])
    assert first.exit_code == 0, first.output
    assert "Published visit_v1.md as version '1'" in first.output
    second = runner.invoke(args=["forms", "publish", str(write_md(tmp_path, "1"))])
    assert second.exit_code == 1
    assert "already" in second.output
    third = runner.invoke(args=["forms", "publish", str(write_md(tmp_path, "2"))])
    assert third.exit_code == 0, third.output
    assert count(db, FormVersion) == 2
    with db.transaction(write=False) as session:
        form = session.scalar(select(Form))
        assert session.get(FormVersion, form.current_version_id).version == "2"


def test_forms_publish_reports_the_sheet_and_row_of_an_error(app, project, tmp_path):
    bad = tmp_path / "bad.md"
    bad.write_text(
        VISIT_MD.format(version="1").replace("| text          | ma_kh", "| txet          | ma_kh")
    )
    result = app.test_cli_runner().invoke(args=["forms", "publish", str(bad)])
    assert result.exit_code == 1
    assert "txet" in result.output


def test_users_create_reads_the_password_from_stdin(app, db):
    result = app.test_cli_runner().invoke(
        args=["users", "create", "Admin@Example.org", "--role", "admin"],
        input="a long enough password\n",
    )
    assert result.exit_code == 0, result.output
    with db.transaction(write=False) as session:
        assert session.scalar(select(User.email)) == "admin@example.org"


def test_users_create_refuses_a_short_password(app, db):
    result = app.test_cli_runner().invoke(
        args=["users", "create", "a@example.org"], input="short\n"
    )
    assert result.exit_code != 0
    assert "at least" in result.output
    assert count(db, User) == 0


def test_app_users_create_prints_url_and_collect_qr_settings_then_revoke(app, db, project):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["app-users", "create", "TNV Hoa", "--project", str(project.id)])
    assert result.exit_code == 0, result.output
    url = next(
        line.split(": ", 1)[1]
        for line in result.output.splitlines()
        if line.startswith("Collect server URL")
    )
    token = url.split("/v1/key/")[1].split("/")[0]
    assert len(token) == 64
    assert url == f"https://donghanh.example.org/v1/key/{token}/projects/{project.id}"
    with db.transaction(write=False) as session:
        app_user = session.scalar(select(AppUser))
        assert token not in (app_user.token_sha256 or "")
    listing = runner.invoke(args=["app-users", "list", "--project", str(project.id)])
    assert "TNV Hoa" in listing.output
    assert "active" in listing.output
    revoked = runner.invoke(args=["app-users", "revoke", str(app_user.actor_id)])
    assert revoked.exit_code == 0, revoked.output
    assert "revoked" in runner.invoke(args=["app-users", "list"]).output


def test_app_users_get_every_form_or_the_forms_named(app, db, project, visit_form):
    add_facilities(db, project.id, "VCT-01")
    runner = app.test_cli_runner()
    every = runner.invoke(args=["app-users", "create", "TNV Hoa", "--project", str(project.id)])
    named = runner.invoke(
        args=[
            "app-users",
            "create",
            "Công an",
            "--project",
            str(project.id),
            "--form",
            "visit",
            "--site",
            "VCT-01",
        ]
    )
    assert every.exit_code == 0, every.output
    assert named.exit_code == 0, named.output
    unknown = runner.invoke(
        args=["app-users", "create", "X", "--project", str(project.id), "--form", "nope"]
    )
    assert unknown.exit_code != 0
    assert "nope" in unknown.output
    with db.transaction(write=False) as session:
        rows = {a.actor_id: a for a in session.scalars(select(AppUser))}
        hoa, police = sorted(rows)
        assert rows[hoa].all_forms is True
        assert rows[police].all_forms is False
        assert app_users.assigned_forms(session, [police]) == {police: ["visit"]}
        assert app_users.sites_by_actor(session, [police]) == {police: ["VCT-01"]}
    cleared = runner.invoke(args=["app-users", "forms", str(police), "--project", str(project.id)])
    assert "every form" in cleared.output
    with db.transaction(write=False) as session:
        assert session.get(AppUser, police).all_forms is True


def test_collect_qr_payload_is_base64_zlib_json_with_general_and_admin(app_user):
    payload = app_user.qr_payload("https://donghanh.example.org")
    settings = json.loads(zlib.decompress(base64.b64decode(payload)))
    assert settings["general"]["server_url"] == app_user.server_url("https://donghanh.example.org")
    assert settings["admin"] == {}
    assert settings["project"]["name"] == "Phường Bồ Đề"


def test_forms_draft_qr_prints_the_draft_url_or_says_there_is_none(app, db, project, make_form):
    from server.auth.permissions import SYSTEM
    from server.services import drafts

    make_form(VISIT_MD.format(version="1"))
    runner = app.test_cli_runner()
    none = runner.invoke(args=["forms", "draft-qr", "visit", "--project", str(project.id)])
    assert none.exit_code != 0
    assert "no draft" in none.output
    with db.transaction() as session:
        drafts.copy_published_to_draft(
            session, app.extensions["donghanh"].blobs, SYSTEM, project.id, "visit"
        )
    shown = runner.invoke(args=["forms", "draft-qr", "visit", "--project", str(project.id)])
    assert shown.exit_code == 0, shown.output
    assert "https://donghanh.example.org/v1/test/" in shown.output
    assert f"/projects/{project.id}/forms/visit/draft" in shown.output


def test_users_create_refuses_a_common_password(app, db):
    result = app.test_cli_runner().invoke(
        args=["users", "create", "a@example.org"], input="password1234\n"
    )
    assert result.exit_code != 0
    assert "too weak" in result.output
    assert count(db, User) == 0


def test_users_reset_password_prints_a_one_time_link(app, db, make_user):
    make_user("lan@example.org", role="viewer")
    result = app.test_cli_runner().invoke(args=["users", "reset-password", "Lan@example.org"])
    assert result.exit_code == 0, result.output
    link = result.output.strip().splitlines()[-1]
    assert "/reset/" in link
    path = "/" + link.split("/", 3)[3]
    assert app.test_client().get(path).status_code == 200
    missing = app.test_cli_runner().invoke(args=["users", "reset-password", "x@example.org"])
    assert missing.exit_code != 0


def test_users_reset_code_takes_a_lost_one_time_code_away(app, db, make_user, enrol_totp):
    from server.services import second_factor, users

    make_user("lan@example.org", role="viewer")
    enrol_totp("lan@example.org")
    result = app.test_cli_runner().invoke(args=["users", "reset-code", "lan@example.org"])
    assert result.exit_code == 0, result.output
    with db.transaction(write=False) as session:
        user = users.find_user(session, "lan@example.org")
        assert not second_factor.is_enrolled(session, user.actor_id)
    again = app.test_cli_runner().invoke(args=["users", "reset-code", "lan@example.org"])
    assert again.exit_code != 0
