"""The write-permission matrix, beside the read one (test_permission_matrix.py): every
state-changing route of the URL map (every method but GET), and each way a submission or an
entity is written (a new submission, an edit, an entity update from a submission), tried by
every kind of caller against a target inside its scope and one outside it. The expected
answer comes from the rules below, written out here as a specification (not taken from
the code under test): the role's verbs, ward scope, project-wide verbs, phones' own records.

A state-changing route that is not declared in WRITES fails
test_every_state_changing_route_is_declared, naming it: declare each new route here with
its rule and a request that exercises it.
"""

from __future__ import annotations

import hashlib
import io
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select

import forms
from server.auth.permissions import ROLE_VERBS, SYSTEM
from server.models.deliveries import Delivery
from server.models.entities import Entity
from server.services import (
    app_users,
    drafts,
    entity_api,
    ingest,
    lifecycle,
    projects,
    sessions,
    users,
)
from server.services import forms as form_service
from tests.entities.test_follow_up import REGISTER_MD, VISIT_MD, visit
from tests.support.xlsforms import XLSX_TYPE, visit_xlsx
from tests.web.conftest import PNG, REVIEW_MD, review_instance

PASSWORD = "correct horse battery"
IN, OUT = "inside", "outside"
WARD = {IN: "00004", OUT: "00007"}  # the scoped callers hold 00004
MEDIA_MD = """
| survey   |                                  |       |         |
|          | type                             | name  | label   |
|          | select_one_from_file schools.csv | truong | School |
| settings |                                  |       |         |
|          | form_id                          | version |       |
|          | media                            | 1     |         |
"""
# Kinds of rule.
OPEN, SIGNED_IN = "open", "signed-in"
SCOPE_WARD = "ward"  # the target is in a ward: inside = 00004, outside = 00007, same project
SCOPE_PROJECT = "project"  # the target is the project (inside) or another project (outside)
SCOPE_SITE = "site"  # nothing to be inside of: users, deliveries, sessions
SCOPE_OWN = "own"  # an edit over OpenRosa: the sender, or submission.update in the ward
SCOPE_HOLDS = "holds"  # an entity update sent in a submission: only the entities one holds


@dataclass(frozen=True)
class Caller:
    name: str
    kind: str  # "anonymous" | "user" | "phone" | "revoked"
    role: str | None = None
    project: str | None = "project"  # None: site-wide
    ward: str | None = None  # a role held only for this ward
    phone_ward: str | None = None  # the ward whose clients a phone receives


CALLERS = [
    Caller("anonymous", "anonymous", project=None),
    Caller("admin", "user", "admin", None),
    Caller("manager", "user", "manager"),
    Caller("ward_manager", "user", "manager", ward=WARD[IN]),
    Caller("supervisor", "user", "supervisor"),
    Caller("ward_supervisor", "user", "supervisor", ward=WARD[IN]),
    Caller("viewer", "user", "viewer"),
    Caller("collector", "user", "collector"),
    Caller("other_project_manager", "user", "manager", "other"),
    Caller("phone_of_the_ward", "phone", "collector", phone_ward=WARD[IN]),
    Caller("phone_of_another_ward", "phone", "collector", phone_ward=WARD[OUT]),
    Caller("revoked_phone", "revoked", "collector"),
]


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


@dataclass(frozen=True)
class Write:
    verb: str  # a verb of ROLE_VERBS, OPEN or SIGNED_IN
    scope: str
    build: Callable  # build(world, target) -> Req
    project_wide: bool = False  # a ward-scoped role never holds it
    fresh_session: bool = False  # the route ends the caller's session: give it its own


class World:
    """Two projects, forms, phones and users; each call makes a new target, so that one
    caller's write never changes what the next call finds."""

    def __init__(self, app, db, project):
        self.app, self.db, self.ext = app, db, app.extensions["donghanh"]
        self.counter = itertools.count(1)
        self.project = project
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

    def user(self) -> int:
        with self.db.transaction() as session:
            made = users.create_user(
                session,
                None,
                f"u{self.n()}@example.org",
                PASSWORD,
                "donghanh",
                "viewer",
                self.project.id,
            )
            return made.actor_id


def sub_url(w: World, target: str, tail: str = "", web: bool = False, deleted=False) -> str:
    base = "" if web else "/v1"
    instance_id = w.submission(target, deleted)
    return f"{base}/projects/{w.project.id}/forms/review/submissions/{instance_id}{tail}"


def entity_url(w: World, target: str) -> str:
    return f"/v1/projects/{w.project.id}/datasets/clients/entities/{w.entity(target)}"


def openrosa_post(xml: bytes) -> dict:
    return {"xml_submission_file": (io.BytesIO(xml), "x.xml", "text/xml")}


def post_new(w: World, target: str) -> Req:
    xml = review_instance(f"uuid:n{w.n()}", ma_xa=WARD[target])
    return Req("POST", f"/v1/projects/{w.project.id}/submission", data=openrosa_post(xml))


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


P = "/v1/projects/{p}"
W_APP_USERS = "/projects/{p}/app-users"

#: Every state-changing (endpoint, method), with the rule it follows and one request (or a
#: few: the ways of writing through it) per target.
WRITES: dict[tuple[str, str], list[Write]] = {
    # --- OpenRosa ----------------------------------------------------------------------
    ("openrosa.post_submission", "POST"): [
        Write("submission.create", SCOPE_WARD, post_new),
        Write("submission.create", SCOPE_OWN, post_edit),
        Write("submission.create", SCOPE_HOLDS, post_entity_update),
    ],
    ("openrosa.post_draft_submission", "POST"): [
        Write("draft.submit", SCOPE_PROJECT, draft_submission)
    ],
    # --- REST API: submissions -----------------------------------------------------------
    ("api.create_submission", "POST"): [Write("submission.create", SCOPE_WARD, rest_create)],
    ("api.edit_submission", "PUT"): [Write("submission.update", SCOPE_WARD, rest_edit)],
    ("api.review_submission", "PATCH"): [
        Write(
            "submission.update",
            SCOPE_WARD,
            lambda w, t: Req("PATCH", sub_url(w, t), json={"reviewState": "approved"}),
        )
    ],
    ("api.add_comment", "POST"): [
        Write(
            "submission.update",
            SCOPE_WARD,
            lambda w, t: Req("POST", sub_url(w, t, "/comments"), json={"body": "Gặp lại"}),
        )
    ],
    ("api.upload_submission_attachment", "POST"): [
        Write(
            "submission.update",
            SCOPE_WARD,
            lambda w, t: Req(
                "POST", sub_url(w, t, "/attachments/proof.png"), data=PNG, content_type="image/png"
            ),
        )
    ],
    ("api.delete_submission", "DELETE"): [
        Write("submission.delete", SCOPE_WARD, lambda w, t: Req("DELETE", sub_url(w, t)))
    ],
    ("api.restore_submission", "POST"): [
        Write(
            "submission.delete",
            SCOPE_WARD,
            lambda w, t: Req("POST", sub_url(w, t, "/restore", deleted=True)),
        )
    ],
    ("api.erase_client", "POST"): [
        Write(
            "data.purge",
            SCOPE_WARD,
            lambda w, t: Req(
                "POST", f"{P}/erasures".format(p=w.project.id), json={"entityId": w.entity(t)}
            ),
        )
    ],
    # --- REST API: entities --------------------------------------------------------------
    ("api.create_entities", "POST"): [
        Write(
            "entity.update",
            SCOPE_WARD,
            lambda w, t: Req(
                "POST",
                f"{P}/datasets/clients/entities".format(p=w.project.id),
                json={"label": "K", "data": {"uic": "X", "ma_xa": WARD[t]}},
            ),
        )
    ],
    ("api.update_entity", "PATCH"): [
        Write(
            "entity.update",
            SCOPE_WARD,
            lambda w, t: Req("PATCH", entity_url(w, t) + "?force=true", json={"label": "K2"}),
        )
    ],
    ("api.delete_entity", "DELETE"): [
        Write("entity.update", SCOPE_WARD, lambda w, t: Req("DELETE", entity_url(w, t)))
    ],
    ("api.create_dataset", "POST"): [
        Write(
            "form.create",
            SCOPE_PROJECT,
            lambda w, t: Req(
                "POST", f"{P}/datasets".format(p=w.pid(t)), json={"name": f"d{w.n()}"}
            ),
            project_wide=True,
        )
    ],
    ("api.add_property", "POST"): [
        Write(
            "form.update",
            SCOPE_PROJECT,
            lambda w, t: Req(
                "POST",
                f"{P}/datasets/clients/properties".format(p=w.pid(t)),
                json={"name": f"p{w.n()}"},
            ),
            project_wide=True,
        )
    ],
    # --- REST API: forms -----------------------------------------------------------------
    ("api.create_form", "POST"): [
        Write(
            "form.create",
            SCOPE_PROJECT,
            lambda w, t: Req(
                "POST",
                f"{P}/forms?ignoreWarnings=true".format(p=w.pid(t)),
                data=visit_xlsx(form_id=f"f{w.n()}"),
                content_type=XLSX_TYPE,
            ),
            project_wide=True,
        )
    ],
    ("api.update_form", "PATCH"): [
        Write(
            "form.update",
            SCOPE_PROJECT,
            lambda w, t: Req(
                "PATCH", f"{P}/forms/media".format(p=w.pid(t)), json={"state": "open"}
            ),
            project_wide=True,
        )
    ],
    ("api.create_draft", "POST"): [
        Write(
            "form.update",
            SCOPE_PROJECT,
            lambda w, t: Req("POST", f"{P}/forms/media/draft".format(p=w.pid(t))),
            project_wide=True,
        )
    ],
    ("api.delete_draft", "DELETE"): [
        Write(
            "form.update",
            SCOPE_PROJECT,
            lambda w, t: Req("DELETE", f"{w.draft(t)}/draft"),
            project_wide=True,
        )
    ],
    ("api.publish_draft", "POST"): [
        Write(
            "form.update",
            SCOPE_PROJECT,
            lambda w, t: Req("POST", f"{w.draft(t)}/draft/publish"),
            project_wide=True,
        )
    ],
    ("api.upload_draft_attachment", "POST"): [
        Write(
            "form.update",
            SCOPE_PROJECT,
            lambda w, t: Req(
                "POST",
                f"{w.draft(t)}/draft/attachments/schools.csv",
                data=b"name,label\na,A\n",
                content_type="text/csv",
            ),
            project_wide=True,
        )
    ],
    # --- REST API: app users and their forms ---------------------------------------------
    ("api.create_app_user", "POST"): [
        # Central's body names no ward: such a phone is project-wide.
        Write(
            "app_user.create",
            SCOPE_PROJECT,
            lambda w, t: Req(
                "POST", f"{P}/app-users".format(p=w.pid(t)), json={"displayName": "x"}
            ),
            project_wide=True,
        )
    ],
    ("api.revoke_app_user", "DELETE"): [
        Write(
            "app_user.revoke",
            SCOPE_WARD,
            lambda w, t: Req("DELETE", f"{P}/app-users/{w.phone(t)}".format(p=w.project.id)),
        )
    ],
    ("api.change_form_assignment", "POST"): [
        Write(
            "app_user.create",
            SCOPE_WARD,
            lambda w, t: Req(
                "POST",
                f"{P}/forms/media/assignments/app-user/{w.phone(t, ('review',))}".format(
                    p=w.project.id
                ),
            ),
        )
    ],
    ("api.change_form_assignment", "DELETE"): [
        Write(
            "app_user.create",
            SCOPE_WARD,
            lambda w, t: Req(
                "DELETE",
                f"{P}/forms/review/assignments/app-user/{w.phone(t, ('review',))}".format(
                    p=w.project.id
                ),
            ),
        )
    ],
    # --- REST API: sessions, forwarding ----------------------------------------------------
    ("api.create_session", "POST"): [
        Write(
            OPEN,
            SCOPE_SITE,
            lambda w, t: Req(
                "POST", "/v1/sessions", json={"email": "login@example.org", "password": PASSWORD}
            ),
        )
    ],
    ("api.end_session", "DELETE"): [
        Write(
            SIGNED_IN,
            SCOPE_SITE,
            lambda w, t: Req("DELETE", "/v1/sessions/current"),
            fresh_session=True,
        )
    ],
    ("api.retry_delivery", "POST"): [
        Write(
            "delivery.retry",
            SCOPE_SITE,
            lambda w, t: Req("POST", f"/v1/deliveries/{w.delivery(t)[1]}/retry"),
        )
    ],
    ("api.retry_all_dead", "POST"): [
        Write("delivery.retry", SCOPE_SITE, lambda w, t: Req("POST", "/v1/deliveries/retry"))
    ],
    # --- Web UI ----------------------------------------------------------------------------
    ("web.log_in", "POST"): [
        Write(
            OPEN,
            SCOPE_SITE,
            lambda w, t: Req(
                "POST",
                "/login",
                data={"email": "login@example.org", "password": PASSWORD, "csrf_token": "n"},
                cookies={"dh_login": "n"},
            ),
        )
    ],
    ("web.set_language", "POST"): [
        Write(OPEN, SCOPE_SITE, lambda w, t: Req("POST", "/language", data={"language": "en"}))
    ],
    ("web.log_out", "POST"): [
        Write(SIGNED_IN, SCOPE_SITE, lambda w, t: Req("POST", "/logout"), fresh_session=True)
    ],
    ("web.log_out_everywhere", "POST"): [
        Write(
            SIGNED_IN,
            SCOPE_SITE,
            lambda w, t: Req("POST", "/logout/everywhere"),
            fresh_session=True,
        )
    ],
    ("web.review_submission", "POST"): [
        Write(
            "submission.update",
            SCOPE_WARD,
            lambda w, t: Req(
                "POST", sub_url(w, t, "/review", web=True), data={"review_state": "approved"}
            ),
        )
    ],
    ("web.comment_submission", "POST"): [
        Write(
            "submission.update",
            SCOPE_WARD,
            lambda w, t: Req("POST", sub_url(w, t, "/comments", web=True), data={"body": "Gặp"}),
        )
    ],
    ("web.retry_delivery", "POST"): [Write("submission.update", SCOPE_WARD, web_retry)],
    ("web.delete_submission", "POST"): [
        Write(
            "submission.delete",
            SCOPE_WARD,
            lambda w, t: Req("POST", sub_url(w, t, "/delete", web=True)),
        )
    ],
    ("web.restore_submission", "POST"): [
        Write(
            "submission.delete",
            SCOPE_WARD,
            lambda w, t: Req("POST", sub_url(w, t, "/restore", web=True, deleted=True)),
        )
    ],
    ("web.upload_form", "POST"): [
        Write(
            "form.create",
            SCOPE_PROJECT,
            lambda w, t: Req(
                "POST", f"/projects/{w.pid(t)}/forms/new", data=xlsx_upload(f"f{w.n()}")
            ),
            project_wide=True,
        )
    ],
    ("web.upload_draft", "POST"): [
        Write(
            "form.update",
            SCOPE_PROJECT,
            lambda w, t: Req(
                "POST", f"/projects/{w.pid(t)}/forms/media/draft", data=xlsx_upload("media")
            ),
            project_wide=True,
        )
    ],
    ("web.publish_draft", "POST"): [
        Write(
            "form.update",
            SCOPE_PROJECT,
            lambda w, t: Req("POST", f"{w.draft(t)[3:]}/draft/publish"),
            project_wide=True,
        )
    ],
    ("web.delete_draft", "POST"): [
        Write(
            "form.update",
            SCOPE_PROJECT,
            lambda w, t: Req("POST", f"{w.draft(t)[3:]}/draft/delete"),
            project_wide=True,
        )
    ],
    ("web.create_app_user", "POST"): [
        Write(
            "app_user.create",
            SCOPE_WARD,
            lambda w, t: Req(
                "POST",
                W_APP_USERS.format(p=w.project.id),
                data={"display_name": "TNV", "wards": WARD[t], "form_access": "all"},
            ),
        )
    ],
    ("web.reissue_app_user", "POST"): [
        Write(
            "app_user.create",
            SCOPE_WARD,
            lambda w, t: Req("POST", f"{W_APP_USERS}/{w.phone(t)}/reissue".format(p=w.project.id)),
        )
    ],
    ("web.revoke_app_user", "POST"): [
        Write(
            "app_user.revoke",
            SCOPE_WARD,
            lambda w, t: Req("POST", f"{W_APP_USERS}/{w.phone(t)}/revoke".format(p=w.project.id)),
        )
    ],
    ("web.set_app_user_forms", "POST"): [
        Write(
            "app_user.create",
            SCOPE_WARD,
            lambda w, t: Req(
                "POST",
                f"{W_APP_USERS}/{w.phone(t)}/forms".format(p=w.project.id),
                data={"form_access": "all"},
            ),
        )
    ],
    ("web.create_user", "POST"): [
        Write(
            "user.update",
            SCOPE_SITE,
            lambda w, t: Req(
                "POST", "/users", data={"email": f"n{w.n()}@example.org", "password": PASSWORD}
            ),
        )
    ],
    ("web.assign_role", "POST"): [
        Write(
            "user.update",
            SCOPE_SITE,
            lambda w, t: Req(
                "POST",
                f"/users/{w.user()}/roles",
                data={"role": "viewer", "project_id": str(w.project.id)},
            ),
        )
    ],
    ("web.remove_roles", "POST"): [
        Write(
            "user.update",
            SCOPE_SITE,
            lambda w, t: Req(
                "POST", f"/users/{w.user()}/roles/remove", data={"project_id": str(w.project.id)}
            ),
        )
    ],
    ("web.end_user_sessions", "POST"): [
        Write(
            "user.update", SCOPE_SITE, lambda w, t: Req("POST", f"/users/{w.user()}/sessions/end")
        )
    ],
    ("web.deactivate_user", "POST"): [
        Write("user.update", SCOPE_SITE, lambda w, t: Req("POST", f"/users/{w.user()}/deactivate"))
    ],
}


def state_changing_routes(app) -> set[tuple[str, str]]:
    return {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        for method in rule.methods
        if method not in ("GET", "HEAD", "OPTIONS")
    }


def undeclared_writes(app) -> list[tuple[str, str]]:
    return sorted(state_changing_routes(app) - set(WRITES))


def test_every_state_changing_route_is_declared(app):
    undeclared = undeclared_writes(app)
    assert not undeclared, (
        "State-changing routes with no rule in the write-permission matrix "
        f"(declare them in WRITES, tests/auth/test_write_permission_matrix.py): {undeclared}"
    )
    assert sorted(set(WRITES) - state_changing_routes(app)) == []  # nothing stale


def test_a_route_added_without_a_rule_is_named(app):
    app.add_url_rule("/v1/some-new-write", "api.some_new_write", lambda: "", methods=["PUT"])
    assert undeclared_writes(app) == [("api.some_new_write", "PUT")]


# --- The rules, as a specification --------------------------------------------------------


def grants(caller: Caller, verb: str, project: str) -> bool:
    """The caller's role grants ``verb`` in ``project`` ("project" or "other")."""
    if caller.kind in ("anonymous", "revoked") or caller.role is None:
        return False
    if caller.project is not None and caller.project != project:
        return False
    verbs = ROLE_VERBS[caller.role]
    return "*" in verbs or verb in verbs


def allowed(caller: Caller, write: Write, target: str, web: bool) -> bool:
    if web and caller.kind != "user":
        caller = CALLERS[0]  # a phone's key opens no web page: it is anonymous there
    if write.verb == OPEN:
        return caller.kind != "revoked"
    if write.verb == SIGNED_IN:
        return caller.kind in ("user", "phone")
    if write.scope == SCOPE_SITE:
        return grants(caller, write.verb, "project") and caller.project is None
    if write.scope == SCOPE_PROJECT:
        project = "project" if target == IN else "other"
        return grants(caller, write.verb, project) and not (write.project_wide and caller.ward)
    if not grants(caller, write.verb, "project"):
        return False
    in_ward = caller.ward is None or target == IN
    if write.scope == SCOPE_OWN:  # the sender here is the phone of the ward
        is_sender = caller.name == "phone_of_the_ward"
        return is_sender or (grants(caller, "submission.update", "project") and in_ward)
    if write.scope == SCOPE_HOLDS:
        return caller.ward is None  # the visit form names no ward: only project-wide senders
    return in_ward


def holds_entity(caller: Caller, target: str) -> bool:
    """Whether the caller's update of a client of the target's ward is applied."""
    if caller.kind == "phone":
        return caller.phone_ward == WARD[target]
    return grants(caller, "entity.read", "project") and caller.ward is None


def expected(caller: Caller, write: Write, target: str, web: bool) -> set[str]:
    if not allowed(caller, write, target, web):
        in_some_ward = grants(caller, write.verb, "project") and caller.ward
        if in_some_ward and target == OUT and write.scope == SCOPE_WARD:
            return {"refused", "not found"}  # another ward's record is not even shown
        return {"refused"}
    if write.scope == SCOPE_HOLDS and not holds_entity(caller, target):
        return {"kept"}
    return {"ok"}


# --- Running it ---------------------------------------------------------------------------


def log_in(db, caller: Caller, email: str) -> dict:
    with db.transaction() as session:
        bearer = sessions.log_in(session, email, PASSWORD, None, "bearer").issued
        cookie = sessions.log_in(session, email, PASSWORD, None, "cookie").issued
    return {"bearer": bearer.token, "cookie": cookie.token, "csrf": cookie.csrf}


def make_caller(world: World, make_user, caller: Caller) -> dict:
    if caller.kind == "anonymous":
        return {}
    if caller.name == "phone_of_the_ward":  # it sent every submission the calls target
        return {"key": world.sender.token}
    if caller.kind in ("phone", "revoked"):
        with world.db.transaction() as session:
            issued = app_users.create_app_user(
                session,
                SYSTEM,
                world.project.id,
                caller.name,
                all_forms=True,
                wards=[caller.phone_ward] if caller.phone_ward else [],
            )
            if caller.kind == "revoked":
                app_users.revoke_app_user(session, SYSTEM, issued.actor_id)
        return {"key": issued.token}
    project_id = {None: None, "project": world.project.id, "other": world.other.id}[caller.project]
    email = f"{caller.name}@example.org"
    make_user(
        email, role=caller.role, project_id=project_id, wards=tuple(filter(None, [caller.ward]))
    )
    return {"email": email, **log_in(world.db, caller, email)}


def outcome(response, web: bool) -> str:
    status = response.status_code
    if status in (401, 403):
        return "refused"
    if web and status in (302, 303) and "/login?next=" in response.headers.get("Location", ""):
        return "refused"
    if status == 404:
        return "not found"
    if 400 <= status < 500:
        return f"invalid ({status})"
    if status >= 500:
        return "error"
    return "ok"


def send(app, world: World, creds: dict, caller: Caller, req: Req) -> str:
    web = not req.path.startswith("/v1/")
    client = app.test_client()
    headers = {"X-OpenRosa-Version": "1.0", **req.headers}
    path = req.path
    if "key" in creds and not web:
        path = f"/v1/key/{creds['key']}{path[3:]}"
    for name, value in req.cookies.items():
        client.set_cookie(name, value)
    data = req.data
    if web and "cookie" in creds:
        client.set_cookie("dh_session", creds["cookie"])
        if req.method == "POST":
            data = {"csrf_token": creds["csrf"], **(data or {})}
    elif "bearer" in creds:
        headers["Authorization"] = f"Bearer {creds['bearer']}"
    response = client.open(
        path,
        method=req.method,
        headers=headers,
        json=req.json,
        data=data,
        content_type=req.content_type,
    )
    got = outcome(response, web)
    response.close()
    if got == "ok" and req.probe is not None:
        got = req.probe() or got
    return got


@pytest.mark.parametrize("caller", CALLERS, ids=[c.name for c in CALLERS])
def test_every_write_answers_each_caller_as_the_rules_say(caller, app, db, project, make_user):
    world = World(app, db, project)
    creds = make_caller(world, make_user, caller)
    wrong = []
    ordered = sorted(WRITES.items(), key=lambda item: any(w.fresh_session for w in item[1]))
    for (endpoint, method), writes in ordered:
        for index, write in enumerate(writes):
            for target in (IN, OUT):
                req = write.build(world, target)
                web = not req.path.startswith("/v1/")
                use = creds
                if write.fresh_session and "email" in creds:
                    use = {**creds, **log_in(db, caller, creds["email"])}
                got = send(app, world, use, caller, req)
                want = expected(caller, write, target, web)
                if got not in want:
                    wrong.append((endpoint, method, index, target, got, sorted(want)))
    assert wrong == []
