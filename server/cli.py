"""flask --app wsgi ...: init, db upgrade, forms publish/state, users create, app-users create/
revoke/list, projects create/list. Each command parses its arguments, opens one transaction and
calls services."""

from __future__ import annotations

import json
import mimetypes
import os
import secrets
import sys
from pathlib import Path

import click
import segno
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

import forms
from server import migrate
from server.auth.permissions import SYSTEM
from server.db import get_db
from server.errors import Problem, VersionConflict
from server.extension import get_blobs, get_settings
from server.services import (
    app_users,
    drafts,
    duplicates,
    entities,
    form_reads,
    lifecycle,
    passwords,
    projects,
    second_factor,
    storage,
    users,
)
from server.services import forms as form_service

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ROOT = Path(__file__).resolve().parent.parent


def register_cli(app: Flask) -> None:
    for group in (
        db_group,
        forms_group,
        users_group,
        app_users_group,
        data_group,
        duplicates_group,
        projects_group,
    ):
        app.cli.add_command(group)
    app.cli.add_command(init)


db_group = AppGroup("db", help="Database schema.")


@db_group.command("upgrade", help="Migrate the database to the newest schema.")
def db_upgrade() -> None:
    migrate.upgrade(get_settings().database_url)
    click.echo("Database is up to date.")


@click.command("init", help="Migrate, publish xlsforms/, create an admin and an app user if none.")
@click.option("--admin-email", default="admin@donghanh.local", show_default=True)
@click.option("--forms-dir", default=str(ROOT / "xlsforms"), show_default=True)
@with_appcontext
def init(admin_email: str, forms_dir: str) -> None:
    settings = get_settings()
    migrate.upgrade(settings.database_url)
    with get_db().transaction() as session:
        existing = projects.list_projects(session)
        project = existing[0] if existing else projects.create_project(session, None, "Đồng Hành")
        project_id = project.id
    lists = Path(forms_dir) / "entity_lists.json"
    if lists.is_file():
        with get_db().transaction() as session:
            for name, properties in json.loads(lists.read_text()).items():
                if not name.startswith("_"):
                    entities.ensure_reference_list(session, project_id, name, properties)
    for path in sorted(Path(forms_dir).glob("*.xlsx")):
        _publish_path(path, project_id, quiet_if_published=True)
    with get_db().transaction() as session:
        admin_needed = users.count_admins(session) == 0
        if admin_needed:
            password = secrets.token_urlsafe(12)
            users.create_user(session, None, admin_email, password, settings.digest_realm, "admin")
        has_app_user = bool(app_users.list_app_users(session, SYSTEM, project_id))
        issued = (
            None
            if has_app_user
            else app_users.create_app_user(
                session, SYSTEM, project_id, "Thiết bị 1", all_forms=True
            )
        )
    if admin_needed:
        path = _write_admin_password(password)
        click.echo(f"Administrator: {admin_email}  password in {path} (readable by you only)")
    click.echo(f"Web UI for supervisors: {settings.public_url}/  (log in with the administrator)")
    if issued is not None:
        _show_app_user(issued)
    else:
        click.echo(
            "An app user exists already; `flask --app wsgi app-users create NAME "
            f"--project {project_id}` makes a new one with its QR code."
        )


def _write_admin_password(password: str) -> Path:
    """The generated password goes to a 0600 file under instance/, never to the terminal:
    `make run` and docker send that stream to the same log as the access log."""
    path = Path(current_app.instance_path) / "admin-password"
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(password + "\n")
    return path


forms_group = AppGroup("forms", help="Forms.")


@forms_group.command("publish", help="Compile, validate and publish XLSForms or XForms.")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--project", "project_id", type=int, default=1, show_default=True)
def forms_publish(paths: tuple[str, ...], project_id: int) -> None:
    failed = 0
    for path in paths:
        failed += not _publish_path(Path(path), project_id)
    if failed:
        sys.exit(1)


@forms_group.command("state", help="Set a form's state: open, closing or closed.")
@click.argument("xml_form_id")
@click.argument("state", type=click.Choice(["open", "closing", "closed"]))
@click.option("--project", "project_id", type=int, default=1, show_default=True)
def forms_state(xml_form_id: str, state: str, project_id: int) -> None:
    with get_db().transaction() as session:
        form_service.set_state(session, SYSTEM, project_id, xml_form_id, state)
    click.echo(f"{xml_form_id} is now {state}.")


@forms_group.command(
    "draft-qr",
    help="Print the URL and QR code that open a form's draft in "
    "Collect, to try it on a phone before publishing.",
)
@click.argument("xml_form_id")
@click.option("--project", "project_id", type=int, default=1, show_default=True)
def forms_draft_qr(xml_form_id: str, project_id: int) -> None:
    try:
        with get_db().transaction(write=False) as session:
            view = form_reads.form_view(
                session,
                SYSTEM,
                project_id,
                xml_form_id,
                draft=True,
                public_url=get_settings().public_url,
            )
    except Problem as e:
        raise click.ClickException(e.message) from None
    click.echo(f"Draft of {xml_form_id}, version '{view.version}': {view.draft_url}")
    segno.make(view.draft_qr, error="m").terminal(compact=True)


@forms_group.command("policy", help="Forward each version on receipt or once approved.")
@click.argument("xml_form_id")
@click.argument("policy", type=click.Choice(["on_receipt", "on_approval"]))
@click.option("--project", "project_id", type=int, default=1, show_default=True)
def forms_policy(xml_form_id: str, policy: str, project_id: int) -> None:
    with get_db().transaction() as session:
        form_service.set_forward_policy(session, SYSTEM, project_id, xml_form_id, policy)
    click.echo(f"{xml_form_id} is now forwarded {policy.replace('_', ' ')}.")


def _publish_path(path: Path, project_id: int, quiet_if_published: bool = False) -> bool:
    try:
        if path.suffix.lower() == ".xml":
            xml, warnings, source = path.read_bytes(), [], None
        else:
            compiled = forms.compile_xlsform(path)
            xml, warnings = compiled.xform, compiled.warnings
            source = form_service.SourceFile(
                str(path),
                path.name,
                XLSX_TYPE if path.suffix == ".xlsx" else "application/octet-stream",
            )
        with get_db().transaction() as session:
            version = form_service.publish_form(
                session, get_blobs(), SYSTEM, project_id, xml, source, warnings
            )
    except forms.FormError as e:
        click.echo(f"{path.name}: {e}", err=True)
        return False
    except VersionConflict as e:
        if not quiet_if_published:
            click.echo(f"{path.name}: {e.message}", err=True)
        return quiet_if_published
    except Problem as e:
        click.echo(f"{path.name}: {e.message}", err=True)
        return False
    for warning in warnings:
        click.echo(f"{path.name}: warning: {warning}")
    click.echo(f"Published {path.name} as version '{version.version}' ({version.title}).")
    for name in _attach_neighbours(path, version):
        click.echo(f"  attached {name}")
    return True


def _attach_neighbours(path: Path, version) -> list[str]:
    """Attach the files the form expects that lie beside it (e.g. xlsforms/wards.csv)."""
    attached = []
    with get_db().transaction() as session:
        for slot in form_service.list_attachments(session, version.id):
            source = path.parent / slot.name
            if slot.dataset or not source.is_file():
                continue
            sha, md5, size = storage.hash_file(source)
            content_type = mimetypes.guess_type(slot.name)[0] or "application/octet-stream"
            drafts.set_attachment(
                session,
                get_blobs(),
                SYSTEM,
                version,
                slot.name,
                str(source),
                sha,
                md5,
                size,
                content_type,
            )
            attached.append(slot.name)
    return attached


users_group = AppGroup("users", help="Web users.")


@users_group.command("create", help="Create a web user; the password is read from stdin or asked.")
@click.argument("email")
@click.option(
    "--role", type=click.Choice(["admin", "manager", "supervisor", "viewer", "collector"])
)
@click.option("--project", "project_id", type=int, default=None)
@click.option("--ward", "wards", multiple=True, help="Limit the role to this ward (repeatable).")
@click.option(
    "--digest",
    is_flag=True,
    help="Also log in from ODK Collect with this email and password (keeps the Digest HA1).",
)
def users_create(email: str, role: str | None, project_id: int | None, wards, digest: bool) -> None:
    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\n")
    try:
        with get_db().transaction() as session:
            users.create_user(
                session,
                None,
                email,
                password,
                get_settings().digest_realm,
                role,
                project_id,
                list(wards),
                digest=digest,
            )
    except Problem as e:
        raise click.ClickException(e.message) from None
    click.echo(f"Created {email}" + (f" with role {role}" if role else "") + ".")


@users_group.command(
    "reset-password",
    help="Make a one-time link (24 hours) for a user to set a new password; prints it. "
    "No email is sent: hand the link over yourself.",
)
@click.argument("email")
def users_reset_password(email: str) -> None:
    try:
        with get_db().transaction() as session:
            issued = passwords.create_reset(session, SYSTEM, email=email)
    except Problem as e:
        raise click.ClickException(e.message) from None
    until = f"{issued.expires_at:%Y-%m-%d %H:%M} UTC"
    click.echo(f"Password link for {issued.email} (works once, until {until}):")
    click.echo(get_settings().public_url + issued.path())


@users_group.command(
    "reset-code",
    help="Take a user's one-time code away (lost phone and recovery codes); they set up a "
    "new one at their next log-in.",
)
@click.argument("email")
def users_reset_code(email: str) -> None:
    try:
        with get_db().transaction() as session:
            second_factor.remove(session, SYSTEM, email=email)
    except Problem as e:
        raise click.ClickException(e.message) from None
    click.echo(f"The one-time code of {email.strip().lower()} is removed; its sessions ended.")


app_users_group = AppGroup("app-users", help="App users: devices set up with a QR code.")


@app_users_group.command("create", help="Create an app user; prints its server URL and QR code.")
@click.argument("name")
@click.option("--project", "project_id", type=int, default=1, show_default=True)
@click.option(
    "--ward",
    "wards",
    multiple=True,
    help="A ward code whose clients this phone receives (repeat for several).",
)
@click.option(
    "--site",
    "sites",
    multiple=True,
    help="A facility code whose referrals this phone receives (repeat for several).",
)
@click.option(
    "--form",
    "forms",
    multiple=True,
    help="A form (xmlFormId) this phone receives (repeat for several); without it, every form "
    "of the project, including forms published later.",
)
def app_users_create(
    name: str,
    project_id: int,
    wards: tuple[str, ...],
    sites: tuple[str, ...],
    forms: tuple[str, ...],
) -> None:
    try:
        with get_db().transaction() as session:
            issued = app_users.create_app_user(
                session,
                SYSTEM,
                project_id,
                name,
                all_forms=not forms,
                forms=forms,
                wards=wards,
                sites=sites,
            )
    except Problem as e:
        raise click.ClickException(e.message) from None
    _show_app_user(issued)


@app_users_group.command("wards", help="Set the wards whose clients an app user receives.")
@click.argument("actor_id", type=int)
@click.argument("wards", nargs=-1)
def app_users_wards(actor_id: int, wards: tuple[str, ...]) -> None:
    try:
        with get_db().transaction() as session:
            app_users.set_wards(session, SYSTEM, actor_id, list(wards))
    except Problem as e:
        raise click.ClickException(e.message) from None
    click.echo(f"App user {actor_id} now receives the clients of: {', '.join(wards) or 'no ward'}.")


@app_users_group.command("sites", help="Set the facilities whose referrals an app user receives.")
@click.argument("actor_id", type=int)
@click.argument("sites", nargs=-1)
def app_users_sites(actor_id: int, sites: tuple[str, ...]) -> None:
    try:
        with get_db().transaction() as session:
            app_users.set_sites(session, SYSTEM, actor_id, list(sites))
    except Problem as e:
        raise click.ClickException(e.message) from None
    click.echo(
        f"App user {actor_id} now receives the referrals to: {', '.join(sites) or 'no site'}."
    )


@app_users_group.command("forms", help="Set the forms an app user receives (none: every form).")
@click.argument("actor_id", type=int)
@click.argument("forms", nargs=-1)
@click.option("--project", "project_id", type=int, default=1, show_default=True)
def app_users_forms(actor_id: int, forms: tuple[str, ...], project_id: int) -> None:
    try:
        with get_db().transaction() as session:
            app_users.set_forms(session, SYSTEM, project_id, actor_id, not forms, forms)
    except Problem as e:
        raise click.ClickException(e.message) from None
    click.echo(f"App user {actor_id} now receives: {', '.join(forms) or 'every form'}.")


@app_users_group.command("revoke", help="Revoke an app user's token at once.")
@click.argument("actor_id", type=int)
def app_users_revoke(actor_id: int) -> None:
    try:
        with get_db().transaction() as session:
            app_users.revoke_app_user(session, SYSTEM, actor_id)
    except Problem as e:
        raise click.ClickException(e.message) from None
    click.echo(f"App user {actor_id} is revoked; its phone is refused from now on.")


@app_users_group.command("list", help="List a project's app users.")
@click.option("--project", "project_id", type=int, default=1, show_default=True)
def app_users_list(project_id: int) -> None:
    with get_db().transaction(write=False) as session:
        rows = app_users.list_app_users(session, SYSTEM, project_id)
    for actor_id, name, created_at, revoked_at, _hash in rows:
        state = f"revoked {revoked_at:%Y-%m-%d}" if revoked_at else "active"
        click.echo(f"{actor_id}\t{name}\t{created_at:%Y-%m-%d}\t{state}")


def _show_app_user(issued: app_users.IssuedAppUser) -> None:
    settings = get_settings()
    url = issued.server_url(settings.public_url)
    qr = segno.make(issued.qr_payload(settings.public_url), error="m")
    png = Path(current_app.instance_path) / f"collect-app-user-{issued.actor_id}.png"
    qr.save(str(png), scale=6)
    png.chmod(0o600)
    click.echo(f"App user {issued.actor_id} '{issued.display_name}' in project {issued.project_id}")
    click.echo(f"Collect server URL: {url}")
    click.echo(
        f"QR code (scan in Collect: Project settings > Reconfigure with QR code), "
        f"also saved as {png}:"
    )
    qr.terminal(compact=True)


data_group = AppGroup("data", help="Retention: purge deleted submissions, erase a client.")


@data_group.command("purge", help="Remove for good what was deleted over 30 days ago.")
@click.option(
    "--received-before",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Also remove everything a project received before this day (retention).",
)
@click.option("--project", "project_id", type=int, default=None)
@click.option("--yes", is_flag=True, help="Confirm a --received-before purge.")
def data_purge(received_before, project_id: int | None, yes: bool) -> None:
    from datetime import UTC

    with get_db().transaction() as session:
        count = lifecycle.purge_deleted(session, get_blobs(), SYSTEM)
    click.echo(f"Deleted submissions purged: {count.as_dict()}")
    if received_before is None:
        return
    if project_id is None or not yes:
        raise click.ClickException("--received-before needs --project and --yes.")
    with get_db().transaction() as session:
        count = lifecycle.purge_received_before(
            session, get_blobs(), SYSTEM, project_id, received_before.replace(tzinfo=UTC)
        )
    click.echo(f"Received before {received_before:%Y-%m-%d}, purged: {count.as_dict()}")


@data_group.command("erase-client", help="Erase one client's data on request (entity uuid).")
@click.argument("entity_id")
@click.option("--project", "project_id", type=int, required=True)
@click.option("--yes", is_flag=True, required=True, help="Confirm: this cannot be undone.")
def data_erase_client(entity_id: str, project_id: int, yes: bool) -> None:
    try:
        with get_db().transaction() as session:
            count = lifecycle.erase_client(session, get_blobs(), SYSTEM, project_id, entity_id)
    except Problem as e:
        raise click.ClickException(e.message) from None
    click.echo(f"Erased client {entity_id}: {count.as_dict()}")


duplicates_group = AppGroup("duplicates", help="Suspected duplicate clients.")


@duplicates_group.command(
    "scan", help="Score every pair of open clients (the nightly run); prints the open pairs."
)
@click.option("--project", "project_id", type=int, default=None, help="One project (default: all).")
def duplicates_scan(project_id: int | None) -> None:
    with get_db().transaction() as session:
        found = duplicates.scan_project(session, SYSTEM, project_id)
    for pid, pairs in sorted(found.items()):
        click.echo(f"Project {pid}: {pairs} suspected duplicate pairs.")
    if not found:
        click.echo("No clients list to scan.")


projects_group = AppGroup("projects", help="Projects: one per programme on this server.")


@projects_group.command("create", help="Create a project (a programme); prints its id.")
@click.argument("name")
@click.option("--description", default=None)
def projects_create(name: str, description: str | None) -> None:
    try:
        with get_db().transaction() as session:
            project = projects.create_project(session, None, name, description)
            project_id = project.id
    except Problem as e:
        raise click.ClickException(e.message) from None
    click.echo(f"Project {project_id} '{name.strip()}' created.")


@projects_group.command("list", help="List the projects (deleted ones are not shown).")
def projects_list() -> None:
    with get_db().transaction(write=False) as session:
        rows = [(p.id, p.name, p.archived) for p in projects.list_projects(session)]
    for project_id, name, archived in rows:
        click.echo(f"{project_id}\t{name}{chr(9) + 'archived' if archived else ''}")
