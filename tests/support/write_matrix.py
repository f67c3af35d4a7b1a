"""The world the write-permission matrix (tests/auth/test_write_permission_matrix.py) writes
into: two projects with forms, phones and users, and a fresh target for every call (a
submission, an entity, a phone, a draft, a user in the target's ward or project), so that one
caller's write never changes what the next call finds."""

from __future__ import annotations

import hashlib
import io
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update

import forms
from server.auth import tokens, totp
from server.auth.permissions import SYSTEM
from server.errors import ResetLinkInvalid
from server.models.actors import User, WebSession
from server.models.credentials import RecoveryCode, TotpFactor
from server.models.deliveries import Delivery
from server.models.entities import Entity
from server.services import (
    app_users,
    drafts,
    entity_api,
    ingest,
    lifecycle,
    passwords,
    projects,
    second_factor,
    sessions,
    users,
)
from server.services import forms as form_service
from tests.entities.test_follow_up import REGISTER_MD, VISIT_MD, visit
from tests.support.xlsforms import visit_xlsx
from tests.web.conftest import REVIEW_MD, review_instance

PASSWORD = "correct horse battery"
IN, OUT = "inside", "outside"
WARD = {IN: "00004", OUT: "00008"}  # the scoped callers hold 00004 (both in xlsforms/wards.csv)
MEDIA_MD = """
| survey   |                                  |       |         |
|          | type                             | name  | label   |
|          | select_one_from_file schools.csv | truong | School |
| settings |                                  |       |         |
|          | form_id                          | version |       |
|          | media                            | 1     |         |
"""


@dataclass
class Req:
    method: str
    path: str
    json: object = None
    data: object = None
    content_type: str | None = None
    headers: dict = field(default_factory=dict)
    cookies: dict = field(default_factory=dict)
    #: After the answer: "kept" when a write was accepted but not applied (else None).
    probe: Callable[[], str | None] | None = None


class World:
    """Two projects, forms, phones and users; each call makes a new target, so that one
    caller's write never changes what the next call finds."""

    def __init__(self, app, db, project):
        self.app, self.db, self.ext = app, db, app.extensions["donghanh"]
        self.counter = itertools.count(1)
        self.project = project
        self.secret_key = self.ext.settings.secret_key
        #: The caller of this run (set by the test): its actor id, and whether it is a web user.
        self.caller_id: int | None = None
        self.caller_is_user = False
        self.caller_must_enrol = False  # an administrator: a one-time code is required
        with db.transaction() as session:
            self.other = projects.create_project(session, None, "Dự án khác")
        for md in (REVIEW_MD, REGISTER_MD, VISIT_MD, MEDIA_MD):
            self.publish(md, project.id)
        self.publish(MEDIA_MD, self.other.id)
        with db.transaction() as session:
            self.sender = app_users.create_app_user(
                session, SYSTEM, project.id, "sender", all_forms=True, wards=[WARD[IN]]
            )
            self.sender_principal = app_users.principal_for_token(session, self.sender.token)
            entity_api.create_dataset(session, SYSTEM, self.other.id, "clients")
            users.create_user(session, None, "login@example.org", PASSWORD, "donghanh", None)

    def sub_path(self, instance_id: str) -> str:
        return f"projects/{self.project.id}/forms/review/submissions/{instance_id}"

    def n(self) -> int:
        return next(self.counter)

    def pid(self, target: str) -> int:
        return self.project.id if target == IN else self.other.id

    def publish(self, md: str, project_id: int) -> None:
        compiled = forms.compile_xlsform(md.encode(), filename="f.md", validate=False)
        with self.db.transaction() as session:
            form_service.publish_form(
                session, self.ext.blobs, SYSTEM, project_id, compiled.xform, None, []
            )

    def submission(self, target: str, deleted: bool = False) -> str:
        """A review submission sent by the ward's phone, in the target's ward."""
        instance_id = f"uuid:s{self.n()}"
        xml = review_instance(instance_id, ma_xa=WARD[target])
        with self.db.transaction() as session:
            ingest.ingest_submission(
                session,
                self.ext.blobs,
                self.sender_principal,
                self.project.id,
                ingest.Incoming(
                    forms.read_instance(xml),
                    xml,
                    hashlib.sha256(xml).hexdigest(),
                    {},
                    "collect:x",
                    "test",
                ),
                self.ext.target_names,
            )
            if deleted:
                lifecycle.delete_submission(session, SYSTEM, self.project.id, "review", instance_id)
        return instance_id

    def delivery(self, target: str) -> tuple[str, int]:
        instance_id = self.submission(target)
        with self.db.transaction() as session:
            delivery_id = session.scalar(select(Delivery.id).order_by(Delivery.id.desc()))
        return instance_id, delivery_id

    def entity(self, target: str) -> str:
        with self.db.transaction() as session:
            [made] = entity_api.create_entities(
                session,
                SYSTEM,
                self.project.id,
                "clients",
                [{"label": "K", "data": {"uic": f"U{self.n()}", "ma_xa": WARD[target]}}],
            )
            return made.uuid

    def deleted_entity(self, target: str) -> str:
        """A client of the target's ward, deleted (for Central's restore)."""
        made = self.entity(target)
        with self.db.transaction() as session:
            entity_api.delete_entity(session, SYSTEM, self.project.id, "clients", made)
        return made

    def conflicted_entity(self, target: str) -> str:
        """A client of the target's ward with a conflict to resolve (set-up: the conflict
        itself comes from offline visits, tests/entities/test_follow_up.py)."""
        made = self.entity(target)
        with self.db.transaction() as session:
            session.execute(update(Entity).where(Entity.uuid == made).values(conflict="soft"))
        return made

    def entity_version(self, uuid: str) -> int:
        with self.db.transaction(write=False) as session:
            return session.scalar(select(Entity.version).where(Entity.uuid == uuid))

    def phone(self, target: str, forms: tuple = ()) -> int:
        with self.db.transaction() as session:
            return app_users.create_app_user(
                session,
                SYSTEM,
                self.project.id,
                f"phone {self.n()}",
                all_forms=not forms,
                forms=forms,
                wards=[WARD[target]],
            ).actor_id

    def draft(self, target: str) -> str:
        """A new draft (version ``d<n>``) of the media form; its URL under /v1."""
        self.draft_version = f"d{self.n()}"
        md = MEDIA_MD.replace(
            "| media                            | 1 ", f"| media | {self.draft_version} "
        )
        compiled = forms.compile_xlsform(md.encode(), filename="f.md", validate=False)
        with self.db.transaction() as session:
            drafts.create_draft(
                session,
                self.ext.blobs,
                SYSTEM,
                self.pid(target),
                compiled.xform,
                None,
                [],
                False,
                "media",
            )
        return f"/v1/projects/{self.pid(target)}/forms/media"

    def user(self, target: str) -> tuple[int, str]:
        """A viewer of the target's project: (actor id, email)."""
        with self.db.transaction() as session:
            made = users.create_user(
                session,
                None,
                f"u{self.n()}@example.org",
                PASSWORD,
                "donghanh",
                "viewer",
                self.pid(target),
            )
            return made.actor_id, made.email

    # --- One-time codes, reset links -------------------------------------------------------

    def drop_factor(self, actor_id: int) -> None:
        """No one-time code on the account (set-up, not the route under test)."""
        with self.db.transaction() as session:
            session.execute(delete(RecoveryCode).where(RecoveryCode.actor_id == actor_id))
            session.execute(delete(TotpFactor).where(TotpFactor.actor_id == actor_id))

    def begin_factor(self, actor_id: int) -> str:
        """A one-time code being set up (not yet confirmed) on the account: its secret."""
        self.drop_factor(actor_id)
        with self.db.transaction() as session:
            return second_factor.begin_enrolment(session, actor_id, self.secret_key).secret

    def enrol(self, actor_id: int) -> tuple[str, list[str]]:
        """A confirmed one-time code on the account (confirmed with the previous step's code,
        so that the current one is still free): its secret and recovery codes."""
        secret = self.begin_factor(actor_id)
        earlier = totp.code_at(secret, datetime.now(UTC) - timedelta(seconds=30))
        with self.db.transaction() as session:
            codes = second_factor.confirm_enrolment(session, actor_id, earlier, self.secret_key)
        assert codes
        return secret, codes

    def is_enrolled(self, actor_id: int) -> bool:
        with self.db.transaction(write=False) as session:
            return second_factor.is_enrolled(session, actor_id)

    def enrolled_user(self, target: str) -> int:
        actor_id, _ = self.user(target)
        self.enrol(actor_id)
        return actor_id

    def held_session(self, target: str) -> tuple[str, str, str]:
        """A user with a one-time code who gave the password: the cookie session waiting for
        the code (token, csrf) and the code their app shows now."""
        actor_id, email = self.user(target)
        secret, _ = self.enrol(actor_id)
        with self.db.transaction() as session:
            issued = sessions.log_in(session, email, PASSWORD, None, "cookie").issued
            assert second_factor.hold_for_code(session, issued.token)
        return issued.token, issued.csrf, totp.code_at(secret, datetime.now(UTC))

    def is_held(self, token: str) -> bool:
        with self.db.transaction(write=False) as session:
            row = session.scalar(
                select(WebSession).where(WebSession.token_sha256 == tokens.token_sha256(token))
            )
            return row is None or row.factor_pending

    def reset_token(self, target: str) -> str:
        """A live one-time reset link an administrator made for a user: its token."""
        actor_id, _ = self.user(target)
        with self.db.transaction() as session:
            return passwords.create_reset(session, SYSTEM, actor_id=actor_id).token

    def is_reset_live(self, token: str) -> bool:
        with self.db.transaction(write=False) as session:
            try:
                passwords.find_reset(session, token)
            except ResetLinkInvalid:
                return False
            return True


class Targets(dict):
    """What a request template names, made on first use for the call's target:
    {p} the project (inside) or the other one (outside), {pid} the project, {ward}, {n},
    {sub} / {deleted_sub} a submission's path, {entity} / {entity_id}, {phone} /
    {phone_with_review} (an app user's id), {draft} a new draft's form path, {user} /
    {user_email} a user of the target's project, {enrolled_user} one with a one-time code,
    {pair} two clients of the target's ward ("<a>/<b>"), {me} the caller's own actor id,
    {account} the caller's (inside) or another user's (outside), {delivery} a delivery's path
    and {delivery_id}."""

    def __init__(self, world: World, target: str):
        super().__init__()
        self.w, self.t = world, target

    def __missing__(self, key: str) -> object:
        w, t = self.w, self.t
        made = {
            "p": lambda: w.pid(t),
            "pid": lambda: w.project.id,
            "ward": lambda: WARD[t],
            "n": w.n,
            "sub": lambda: w.sub_path(w.submission(t)),
            "deleted_sub": lambda: w.sub_path(w.submission(t, deleted=True)),
            "entity_id": lambda: w.entity(t),
            "deleted_entity": lambda: w.deleted_entity(t),
            "conflicted_entity": lambda: w.conflicted_entity(t),
            "pair": lambda: f"{w.entity(t)}/{w.entity(t)}",  # two clients of the target's ward
            "entity": lambda: (
                f"projects/{w.project.id}/datasets/clients/entities/{self['entity_id']}"
            ),
            "phone": lambda: w.phone(t),
            "phone_with_review": lambda: w.phone(t, ("review",)),
            "draft": lambda: w.draft(t)[4:],
            "user_pair": lambda: w.user(t),
            "user": lambda: self["user_pair"][0],
            "user_email": lambda: self["user_pair"][1],
            "enrolled_user": lambda: w.enrolled_user(t),
            "me": lambda: w.caller_id if w.caller_id is not None else self["user"],
            "account": lambda: self["me"] if t == IN else self["user"],
            "delivery_pair": lambda: w.delivery(t),
            "delivery_id": lambda: self["delivery_pair"][1],
            "delivery": lambda: (
                f"{w.sub_path(self['delivery_pair'][0])}/deliveries/{self['delivery_pair'][1]}"
            ),
        }[key]()
        self[key] = made
        return made

    def fill(self, value):
        """A template (a string, or the strings of a dict or a list) with its names filled in."""
        if isinstance(value, str):
            return value.format_map(self)
        if isinstance(value, dict):
            return {k: self.fill(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.fill(v) for v in value]
        return value


def openrosa_post(xml: bytes) -> dict:
    return {"xml_submission_file": (io.BytesIO(xml), "x.xml", "text/xml")}


def post_new(w: World, target: str) -> Req:
    xml = review_instance(f"uuid:n{w.n()}", ma_xa=WARD[target])
    return Req("POST", f"/v1/projects/{w.project.id}/submission", data=openrosa_post(xml))


def post_new_on_web_form(w: World, target: str) -> Req:
    """The same POST as the /f/ page sends it for a logged-in web user: the session cookie and
    the page's header instead of a Bearer token (a phone still uses its key)."""
    req = post_new(w, target)
    req.headers["X-Donghanh-Web-Form"] = "1"
    return req


def post_edit(w: World, target: str) -> Req:
    old = w.submission(target)
    xml = review_instance(f"uuid:e{w.n()}", old, ma_xa=WARD[target], gap="khong")
    return Req("POST", f"/v1/projects/{w.project.id}/submission", data=openrosa_post(xml))


def post_entity_update(w: World, target: str) -> Req:
    client = w.entity(target)
    xml = visit(f"uuid:v{w.n()}", client, 1, "2026-12-20")
    return Req(
        "POST",
        f"/v1/projects/{w.project.id}/submission",
        data=openrosa_post(xml),
        probe=lambda: None if w.entity_version(client) == 2 else "kept",
    )


def rest_create(w: World, target: str) -> Req:
    xml = review_instance(f"uuid:r{w.n()}", ma_xa=WARD[target])
    path = f"/v1/projects/{w.project.id}/forms/review/submissions"
    return Req("POST", path, data=xml, content_type="application/xml")


def rest_edit(w: World, target: str) -> Req:
    old = w.submission(target)
    xml = review_instance(f"uuid:e{w.n()}", old, ma_xa=WARD[target], gap="khong")
    path = f"/v1/projects/{w.project.id}/forms/review/submissions/{old}"
    return Req("PUT", path, data=xml, content_type="application/xml")


def draft_submission(w: World, target: str) -> Req:
    path = w.draft(target)
    xml = (
        f'<data id="media" version="{w.draft_version}"><truong>a</truong><meta><instanceID>uuid:d{w.n()}'
        "</instanceID></meta></data>"
    ).encode()
    return Req("POST", f"{path}/draft/submission", data=openrosa_post(xml))


def web_retry(w: World, target: str) -> Req:
    instance_id, delivery_id = w.delivery(target)
    base = f"/projects/{w.project.id}/forms/review/submissions/{instance_id}"
    return Req("POST", f"{base}/deliveries/{delivery_id}/retry")


def xlsx_upload(form_id: str) -> dict:
    return {"xlsform": (io.BytesIO(visit_xlsx(form_id=form_id)), "f.xlsx")}


# --- One's own one-time code, the code page, a reset link --------------------------------
# A web user sets up and turns off their own code; the code page and a reset link are open
# to anyone, the held session (its cookie) and the link being the credential the request
# carries. Each sets up what it needs first, so that the answer depends on the caller only.


def confirm_own_code(w: World, target: str) -> Req:
    """POST /account/two-factor with the code of a set-up the caller has just begun."""
    code = "000000"
    if w.caller_is_user:
        code = totp.code_at(w.begin_factor(w.caller_id), datetime.now(UTC))
    return Req(
        "POST",
        "/account/two-factor",
        data={"code": code},
        probe=lambda: None if w.is_enrolled(w.caller_id) else "kept",
    )


def disable_own_code(w: World, target: str) -> Req:
    """POST /account/two-factor/disable with the caller's password and a recovery code. An
    administrator, who must have a code, sets one up again afterwards (the probe)."""
    code = "000000"
    if w.caller_is_user:
        code = w.enrol(w.caller_id)[1][0]

    def probe() -> str | None:
        turned_off = not w.is_enrolled(w.caller_id)
        if w.caller_must_enrol:
            w.enrol(w.caller_id)
        return None if turned_off else "kept"

    return Req(
        "POST",
        "/account/two-factor/disable",
        data={"password": PASSWORD, "code": code},
        probe=probe,
    )


def enter_held_code(w: World, target: str) -> Req:
    """POST /login/code on a session waiting for its code (its own cookie and csrf)."""
    token, csrf, code = w.held_session(target)
    return Req(
        "POST",
        "/login/code",
        data={"csrf_token": csrf, "code": code, "next": "/"},
        cookies={"dh_session": token},
        probe=lambda: "kept" if w.is_held(token) else None,
    )


def reset_through_link(w: World, target: str) -> Req:
    """POST /reset/<token>: a new password through a live one-time link."""
    token = w.reset_token(target)
    new = "quiet harbour lantern seven"
    return Req(
        "POST",
        f"/reset/{token}",
        data={"csrf_token": "n", "new": new, "repeat": new},
        cookies={"dh_reset": "n"},
        probe=lambda: "kept" if w.is_reset_live(token) else None,
    )


def end_named_session(w: World, target: str) -> Req:
    """DELETE /v1/sessions/{token} (Central's logout by token): inside, a new session of the
    caller's own (a web user's; a phone has none, so it names another's); outside, another
    user's. The probe says "kept" when the session still opens."""
    with w.db.transaction() as session:
        if target == IN and w.caller_is_user:
            email = session.scalar(select(User.email).where(User.actor_id == w.caller_id))
        else:
            email = None
    if email is None:
        _, email = w.user(target)
    with w.db.transaction() as session:
        token = sessions.log_in(session, email, PASSWORD, None, "bearer").issued.token

    def probe() -> str | None:
        with w.db.transaction(write=False) as session:
            row = session.scalar(
                select(WebSession.id).where(WebSession.token_sha256 == tokens.token_sha256(token))
            )
        return None if row is None else "kept"

    return Req("DELETE", f"/v1/sessions/{token}", probe=probe)
