"""The Digest HA1 is a password equivalent, so it is kept only for accounts that use Digest
(ODK Collect with an email and password): an administrator turns it on (users create
--digest, a checkbox on the users page); it is computed when the password is set while on,
and wiped when turned off. Accounts without it get Digest's 401 like a wrong password."""

from __future__ import annotations

from sqlalchemy import select

from server.auth.passwords import digest_ha1
from server.auth.permissions import SYSTEM
from server.models.actors import User
from server.services import passwords, users
from tests.support.collect import Collect

PASSWORD = "correct horse battery"
NEW = "mây trắng trên đồi chè"


def ha1_of(db, email: str) -> str | None:
    with db.transaction(write=False) as session:
        return session.scalar(select(User.digest_ha1).where(User.email == email))


def form_list_status(live_server, project, email: str, password: str = PASSWORD) -> int:
    collect = Collect(f"{live_server}/v1/projects/{project.id}", email, password)
    return collect.get(f"{collect.server_url}/formList").status_code


def test_an_account_without_digest_keeps_no_ha1_and_digest_refuses_it(
    db, live_server, project, make_user, visit_form
):
    make_user("lan@example.org", role="supervisor", project_id=project.id)
    assert ha1_of(db, "lan@example.org") is None
    assert form_list_status(live_server, project, "lan@example.org") == 401


def test_turning_digest_off_wipes_the_ha1_and_on_needs_a_new_password(
    db, live_server, project, make_user, visit_form
):
    user = make_user("tnv@example.org", role="collector", project_id=project.id, digest=True)
    # (One Digest success per test: nonces are still shared by every client in the same
    # second, so a second fresh client could be taken for a replay; issue 11, Digest nonces.)
    assert ha1_of(db, "tnv@example.org") == digest_ha1(user.email, "donghanh", PASSWORD)
    with db.transaction() as session:
        passwords.set_digest(session, SYSTEM, user.actor_id, False)
    assert ha1_of(db, "tnv@example.org") is None
    assert form_list_status(live_server, project, "tnv@example.org") == 401
    with db.transaction() as session:
        passwords.set_digest(session, SYSTEM, user.actor_id, True)
    assert ha1_of(db, "tnv@example.org") is None  # computed only from the password
    with db.transaction() as session:
        principal = users.principal_for_user(session, users.find_user(session, user.email))
        passwords.change_password(
            session, principal, user.actor_id, PASSWORD, "Mua thu Ha Noi 2026"
        )
    assert form_list_status(live_server, project, "tnv@example.org", "Mua thu Ha Noi 2026") == 200


def test_users_create_digest_on_the_command_line(app, db):
    runner = app.test_cli_runner()
    plain = runner.invoke(args=["users", "create", "a@example.org"], input=f"{PASSWORD}\n")
    with_digest = runner.invoke(
        args=["users", "create", "b@example.org", "--digest"], input=f"{PASSWORD}\n"
    )
    assert (plain.exit_code, with_digest.exit_code) == (0, 0)
    assert ha1_of(db, "a@example.org") is None
    assert len(ha1_of(db, "b@example.org")) == 32
    refused = runner.invoke(args=["users", "create", "c@example.org", "--digest"], input=f"{NEW}\n")
    assert refused.exit_code != 0
    assert "ASCII" in refused.output
