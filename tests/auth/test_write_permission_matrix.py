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

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from server.auth.permissions import ROLE_VERBS, SYSTEM
from server.services import app_users, sessions
from tests.support.write_matrix import (
    IN,
    OUT,
    PASSWORD,
    WARD,
    Req,
    Targets,
    World,
    confirm_own_code,
    disable_own_code,
    draft_submission,
    end_named_session,
    enter_held_code,
    post_edit,
    post_entity_update,
    post_new,
    post_new_on_web_form,
    reset_through_link,
    rest_create,
    rest_edit,
    xlsx_upload,
)
from tests.support.xlsforms import XLSX_TYPE, visit_xlsx
from tests.web.conftest import PNG

# Kinds of rule.
OPEN, SIGNED_IN = "open", "signed-in"
SCOPE_WARD = "ward"  # the target is in a ward: inside = 00004, outside = 00007, same project
SCOPE_PROJECT = "project"  # the target is the project (inside) or another project (outside)
SCOPE_SITE = "site"  # nothing to be inside of: users, deliveries, sessions
SCOPE_OWN = "own"  # an edit over OpenRosa: the sender, or submission.update in the ward
SCOPE_HOLDS = "holds"  # an entity update sent in a submission: only the entities one holds
SCOPE_SELF = "self"  # a user's account: one's own (inside), another user's (outside, the verb)


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


@dataclass(frozen=True)
class Write:
    """A rule (a verb of ROLE_VERBS, OPEN or SIGNED_IN, and a kind of scope) and one request
    that exercises it: a template (``method``, ``path`` and body, with Targets' names), or
    ``build(world, target)`` for the requests made of submission XML or files."""

    verb: str
    scope: str
    method: str = ""
    path: str = ""
    json: object = None
    data: object = None
    content_type: str | None = None
    build: Callable | None = None
    project_wide: bool = False  # a ward-scoped role never holds it
    fresh_session: bool = False  # the route ends the caller's session: give it its own

    def request(self, world: World, target: str) -> Req:
        if self.build is not None:
            return self.build(world, target)
        values = Targets(world, target)
        return Req(
            self.method,
            values.fill(self.path),
            values.fill(self.json),
            values.fill(self.data),
            self.content_type,
        )


def ward(verb: str, method: str, path: str, **body) -> Write:
    return Write(verb, SCOPE_WARD, method, path, **body)


def forms_write(verb: str, method: str, path: str, **body) -> Write:
    return Write(verb, SCOPE_PROJECT, method, path, project_wide=True, **body)


def site(verb: str, method: str, path: str, **body) -> Write:
    return Write(verb, SCOPE_SITE, method, path, **body)


LOGIN = {"email": "login@example.org", "password": PASSWORD}


def plan_row(kind: str, value: str) -> dict:
    """A plan target (PUT /targets): a ward's is written by a role in that ward; the whole
    project's only by a role held for the whole project (permissions.may_set_target)."""
    return {
        "scope": {"kind": kind, "value": value},
        "indicator": "I1",
        "period": "2026",
        "planned": 150,
    }


def plan_form(kind: str, value: str, planned: str | None = "150") -> dict:
    """The same target as the web page's form posts it."""
    form = {"scope": f"{kind}:{value}", "indicator": "I1", "period": "2026"}
    return form if planned is None else {**form, "planned": planned}


#: Every state-changing (endpoint, method), with the rule it follows and the request (or
#: the several ways of writing through it) tried for each target.
WRITES: dict[tuple[str, str], list[Write]] = {
    # --- OpenRosa ------------------------------------------------------------------------
    ("openrosa.post_submission", "POST"): [
        Write("submission.create", SCOPE_WARD, build=post_new),
        Write("submission.create", SCOPE_WARD, build=post_new_on_web_form),
        Write("submission.create", SCOPE_OWN, build=post_edit),
        Write("submission.create", SCOPE_HOLDS, build=post_entity_update),
    ],
    ("openrosa.post_draft_submission", "POST"): [
        Write("draft.submit", SCOPE_PROJECT, build=draft_submission)
    ],
    # --- REST API: submissions -------------------------------------------------------------
    ("api.create_submission", "POST"): [Write("submission.create", SCOPE_WARD, build=rest_create)],
    ("api.edit_submission", "PUT"): [Write("submission.update", SCOPE_WARD, build=rest_edit)],
    ("api.review_submission", "PATCH"): [
        ward("submission.update", "PATCH", "/v1/{sub}", json={"reviewState": "approved"})
    ],
    ("api.add_comment", "POST"): [
        ward("submission.update", "POST", "/v1/{sub}/comments", json={"body": "Gặp lại"})
    ],
    ("api.upload_submission_attachment", "POST"): [
        ward(
            "submission.update",
            "POST",
            "/v1/{sub}/attachments/proof.png",
            data=PNG,
            content_type="image/png",
        )
    ],
    ("api.delete_submission", "DELETE"): [ward("submission.delete", "DELETE", "/v1/{sub}")],
    ("api.restore_submission", "POST"): [
        ward("submission.delete", "POST", "/v1/{deleted_sub}/restore")
    ],
    ("api.erase_client", "POST"): [
        ward("data.purge", "POST", "/v1/projects/{pid}/erasures", json={"entityId": "{entity_id}"})
    ],
    # --- REST API: entities ------------------------------------------------------------------
    ("api.create_entities", "POST"): [
        ward(
            "entity.update",
            "POST",
            "/v1/projects/{pid}/datasets/clients/entities",
            json={"label": "K", "data": {"uic": "X", "ma_xa": "{ward}"}},
        )
    ],
    ("api.update_entity", "PATCH"): [
        ward("entity.update", "PATCH", "/v1/{entity}?force=true", json={"label": "K2"}),
        ward(  # Central's conflict resolution: the same rule
            "entity.update",
            "PATCH",
            "/v1/projects/{pid}/datasets/clients/entities/{conflicted_entity}?resolve=true&force=true",
            json={},
        ),
    ],
    ("web.resolve_entity_conflict", "POST"): [
        ward(
            "entity.update",
            "POST",
            "/projects/{pid}/lists/clients/{conflicted_entity}/resolve",
            data={"base_version": "1"},
        )
    ],
    ("api.restore_entity", "POST"): [
        ward(
            "entity.update",
            "POST",
            "/v1/projects/{pid}/datasets/clients/entities/{deleted_entity}/restore",
        )
    ],
    ("api.delete_entity", "DELETE"): [ward("entity.update", "DELETE", "/v1/{entity}")],
    # --- REST API: suspected duplicates (both clients' wards: permissions) ----------------
    ("api.decide_duplicate", "POST"): [
        ward(
            "duplicate.review",
            "POST",
            "/v1/projects/{pid}/datasets/clients/duplicates/{pair}",
            json={"decision": "different"},
        ),
        ward(
            "duplicate.review",
            "POST",
            "/v1/projects/{pid}/datasets/clients/duplicates/{pair}",
            json={"decision": "same"},
        ),
    ],
    ("api.create_dataset", "POST"): [
        forms_write("form.create", "POST", "/v1/projects/{p}/datasets", json={"name": "d{n}"})
    ],
    ("api.add_property", "POST"): [
        forms_write(
            "form.update",
            "POST",
            "/v1/projects/{p}/datasets/clients/properties",
            json={"name": "p{n}"},
        )
    ],
    # --- REST API: forms ---------------------------------------------------------------------
    ("api.create_form", "POST"): [
        Write(
            "form.create",
            SCOPE_PROJECT,
            build=lambda w, t: Req(
                "POST",
                f"/v1/projects/{w.pid(t)}/forms?ignoreWarnings=true",
                data=visit_xlsx(form_id=f"f{w.n()}"),
                content_type=XLSX_TYPE,
            ),
            project_wide=True,
        )
    ],
    ("api.update_form", "PATCH"): [
        forms_write("form.update", "PATCH", "/v1/projects/{p}/forms/media", json={"state": "open"})
    ],
    ("api.create_draft", "POST"): [
        forms_write("form.update", "POST", "/v1/projects/{p}/forms/media/draft")
    ],
    ("api.delete_draft", "DELETE"): [forms_write("form.update", "DELETE", "/v1/{draft}/draft")],
    ("api.publish_draft", "POST"): [
        forms_write("form.update", "POST", "/v1/{draft}/draft/publish")
    ],
    ("api.upload_draft_attachment", "POST"): [
        forms_write(
            "form.update",
            "POST",
            "/v1/{draft}/draft/attachments/schools.csv",
            data=b"name,label\na,A\n",
            content_type="text/csv",
        )
    ],
    # --- REST API: app users and their forms ---------------------------------------------------
    # Central's body names no ward: such a phone is project-wide.
    ("api.create_app_user", "POST"): [
        forms_write(
            "app_user.create", "POST", "/v1/projects/{p}/app-users", json={"displayName": "x"}
        )
    ],
    ("api.revoke_app_user", "DELETE"): [
        ward("app_user.revoke", "DELETE", "/v1/projects/{pid}/app-users/{phone}")
    ],
    ("api.change_form_assignment", "POST"): [
        ward(
            "app_user.create",
            "POST",
            "/v1/projects/{pid}/forms/media/assignments/app-user/{phone_with_review}",
        )
    ],
    ("api.change_form_assignment", "DELETE"): [
        ward(
            "app_user.create",
            "DELETE",
            "/v1/projects/{pid}/forms/review/assignments/app-user/{phone_with_review}",
        )
    ],
    # --- REST API: sessions, forwarding -------------------------------------------------------
    ("api.create_session", "POST"): [site(OPEN, "POST", "/v1/sessions", json=LOGIN)],
    ("api.end_session", "DELETE"): [
        Write(SIGNED_IN, SCOPE_SITE, "DELETE", "/v1/sessions/current", fresh_session=True)
    ],
    # Projects as in Central: an administrator creates one; a project-wide manager renames,
    # archives and deletes it (deleting runs last: the world's projects are gone after it).
    ("api.create_project", "POST"): [
        site("project.create", "POST", "/v1/projects", json={"name": "Đắk Lắk"})
    ],
    ("web.create_project", "POST"): [
        site("project.create", "POST", "/projects", data={"name": "Đắk Lắk"})
    ],
    ("api.update_project", "PATCH"): [
        forms_write("project.update", "PATCH", "/v1/projects/{p}", json={"archived": False})
    ],
    ("api.delete_project", "DELETE"): [
        # (last of all, so after the writes that end the caller's other sessions: its own)
        forms_write("project.delete", "DELETE", "/v1/projects/{p}", fresh_session=True)
    ],
    # Central's logout by token: one's own session, or anyone's for an administrator.
    ("api.end_session_by_token", "DELETE"): [
        Write("user.update", SCOPE_SELF, build=end_named_session)
    ],
    ("api.retry_delivery", "POST"): [
        site("delivery.retry", "POST", "/v1/deliveries/{delivery_id}/retry")
    ],
    ("api.retry_all_dead", "POST"): [site("delivery.retry", "POST", "/v1/deliveries/retry")],
    # --- REST API: the plan (targets) ---------------------------------------------------------
    ("api.set_targets", "PUT"): [
        ward(
            "target.update", "PUT", "/v1/projects/{pid}/targets", json=[plan_row("ward", "{ward}")]
        ),
        forms_write(
            "target.update", "PUT", "/v1/projects/{p}/targets", json=[plan_row("project", "")]
        ),
        forms_write(
            "target.update", "PUT", "/v1/projects/{p}/targets", json=[plan_row("model", "tnv")]
        ),
    ],
    # --- Web UI ------------------------------------------------------------------------------
    ("web.log_in", "POST"): [
        Write(
            OPEN,
            SCOPE_SITE,
            build=lambda w, t: Req(
                "POST", "/login", data={**LOGIN, "csrf_token": "n"}, cookies={"dh_login": "n"}
            ),
        )
    ],
    ("web.set_language", "POST"): [site(OPEN, "POST", "/language", data={"language": "en"})],
    ("web.log_out", "POST"): [Write(SIGNED_IN, SCOPE_SITE, "POST", "/logout", fresh_session=True)],
    ("web.log_out_everywhere", "POST"): [
        Write(SIGNED_IN, SCOPE_SITE, "POST", "/logout/everywhere", fresh_session=True)
    ],
    ("web.review_submission", "POST"): [
        ward("submission.update", "POST", "/{sub}/review", data={"review_state": "approved"})
    ],
    ("web.comment_submission", "POST"): [
        ward("submission.update", "POST", "/{sub}/comments", data={"body": "Gặp"})
    ],
    ("web.retry_delivery", "POST"): [ward("submission.update", "POST", "/{delivery}/retry")],
    # An export job reads (and audits) the caller's own wards' submissions into a file only
    # its starter may download: submission.read in the project, ward-scoped roles included.
    ("web.start_export", "POST"): [
        Write(
            "submission.read",
            SCOPE_PROJECT,
            "POST",
            "/projects/{p}/forms/media/submissions/exports",  # in both projects
            data={"kind": "csv.zip", "labels": "codes"},
        )
    ],
    ("web.delete_submission", "POST"): [ward("submission.delete", "POST", "/{sub}/delete")],
    ("web.restore_submission", "POST"): [
        ward("submission.delete", "POST", "/{deleted_sub}/restore")
    ],
    ("web.upload_form", "POST"): [
        Write(
            "form.create",
            SCOPE_PROJECT,
            build=lambda w, t: Req(
                "POST", f"/projects/{w.pid(t)}/forms/new", data=xlsx_upload(f"f{w.n()}")
            ),
            project_wide=True,
        )
    ],
    ("web.upload_draft", "POST"): [
        Write(
            "form.update",
            SCOPE_PROJECT,
            build=lambda w, t: Req(
                "POST", f"/projects/{w.pid(t)}/forms/media/draft", data=xlsx_upload("media")
            ),
            project_wide=True,
        )
    ],
    ("web.publish_draft", "POST"): [forms_write("form.update", "POST", "/{draft}/draft/publish")],
    ("web.delete_draft", "POST"): [forms_write("form.update", "POST", "/{draft}/draft/delete")],
    ("web.decide_duplicate", "POST"): [
        ward(
            "duplicate.review",
            "POST",
            "/projects/{pid}/lists/clients/duplicates/{pair}",
            data={"decision": "same"},
        )
    ],
    ("web.set_target", "POST"): [
        ward("target.update", "POST", "/projects/{pid}/targets", data=plan_form("ward", "{ward}")),
        forms_write(
            "target.update", "POST", "/projects/{p}/targets", data=plan_form("project", "")
        ),
    ],
    ("web.remove_target", "POST"): [
        ward(
            "target.update",
            "POST",
            "/projects/{pid}/targets/remove",
            data=plan_form("ward", "{ward}", None),
        ),
        forms_write(
            "target.update",
            "POST",
            "/projects/{p}/targets/remove",
            data=plan_form("province", "01", None),
        ),
    ],
    ("web.create_app_user", "POST"): [
        ward(
            "app_user.create",
            "POST",
            "/projects/{pid}/app-users",
            data={"display_name": "TNV", "wards": "{ward}", "form_access": "all"},
        )
    ],
    ("web.reissue_app_user", "POST"): [
        ward("app_user.create", "POST", "/projects/{pid}/app-users/{phone}/reissue")
    ],
    ("web.revoke_app_user", "POST"): [
        ward("app_user.revoke", "POST", "/projects/{pid}/app-users/{phone}/revoke")
    ],
    ("web.set_app_user_forms", "POST"): [
        ward(
            "app_user.create",
            "POST",
            "/projects/{pid}/app-users/{phone}/forms",
            data={"form_access": "all"},
        )
    ],
    ("web.set_app_user_places", "POST"): [
        ward(
            "app_user.create",
            "POST",
            "/projects/{pid}/app-users/{phone}/places",
            data={"wards": "{ward}"},
        )
    ],
    ("web.create_user", "POST"): [
        site(
            "user.update",
            "POST",
            "/users",
            data={"email": "n{n}@example.org", "password": PASSWORD},
        )
    ],
    ("web.assign_role", "POST"): [
        site(
            "user.update",
            "POST",
            "/users/{user}/roles",
            data={"role": "viewer", "project_id": "{pid}"},
        )
    ],
    ("web.remove_roles", "POST"): [
        site("user.update", "POST", "/users/{user}/roles/remove", data={"project_id": "{pid}"})
    ],
    ("web.end_user_sessions", "POST"): [site("user.update", "POST", "/users/{user}/sessions/end")],
    ("web.deactivate_user", "POST"): [site("user.update", "POST", "/users/{user}/deactivate")],
    # --- Passwords and one-time codes ---------------------------------------------------------
    # One's own password (the old one, then the new: the same, so that the caller's later
    # log-ins still work); another user's only for an administrator. It ends the user's
    # other sessions, so the call has a session of its own.
    ("api.change_password", "PUT"): [
        Write(
            "user.update",
            SCOPE_SELF,
            "PUT",
            "/v1/users/{account}/password",
            json={"old": PASSWORD, "new": PASSWORD},
            fresh_session=True,
        )
    ],
    ("web.change_password", "POST"): [
        Write(
            SIGNED_IN,
            SCOPE_SITE,
            "POST",
            "/account/password",
            data={"old": PASSWORD, "new": PASSWORD, "repeat": PASSWORD},
            fresh_session=True,
        )
    ],
    # A one-time reset link is answered to the one who asks: administrators only.
    ("api.initiate_reset", "POST"): [
        site("user.update", "POST", "/v1/users/reset/initiate", json={"email": "{user_email}"})
    ],
    ("web.create_reset_link", "POST"): [site("user.update", "POST", "/users/{user}/reset")],
    ("web.set_user_digest", "POST"): [
        site("user.update", "POST", "/users/{user}/digest", data={"digest": "on"})
    ],
    ("web.remove_user_two_factor", "POST"): [
        site("user.update", "POST", "/users/{enrolled_user}/two-factor/remove")
    ],
    # One's own one-time code: any web user sets it up and turns it off.
    ("web.confirm_two_factor", "POST"): [Write(SIGNED_IN, SCOPE_SITE, build=confirm_own_code)],
    ("web.disable_two_factor", "POST"): [Write(SIGNED_IN, SCOPE_SITE, build=disable_own_code)],
    # Open pages whose credential is in the request: the session waiting for its code, and
    # the one-time link (each request carries its own, whoever else the caller is).
    ("web.enter_code", "POST"): [Write(OPEN, SCOPE_SITE, build=enter_held_code)],
    ("web.reset_password", "POST"): [Write(OPEN, SCOPE_SITE, build=reset_through_link)],
}


#: Writes that leave the world unusable for the writes after them: they run last.
DESTRUCTIVE = ("api.delete_project",)


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
    if write.scope == SCOPE_SELF:
        if target == IN:
            return caller.kind == "user"
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
        if write.scope == SCOPE_SELF and target == IN and caller.kind == "phone":
            return {"refused", "not found"}  # a phone's own id is no user's
        return {"refused"}
    if write.scope == SCOPE_HOLDS and not holds_entity(caller, target):
        return {"kept"}
    return {"ok"}


# --- Running it ---------------------------------------------------------------------------


def log_in(db, caller: Caller, email: str) -> dict:
    """Sessions opened through the service: as after the password and, for an account with
    a one-time code, the code (holding a cookie session for its code is the login page's)."""
    with db.transaction() as session:
        bearer = sessions.log_in(session, email, PASSWORD, None, "bearer").issued
        cookie = sessions.log_in(session, email, PASSWORD, None, "cookie").issued
    return {"bearer": bearer.token, "cookie": cookie.token, "csrf": cookie.csrf}


def make_caller(world: World, make_user, caller: Caller) -> dict:
    if caller.kind == "anonymous":
        return {}
    if caller.name == "phone_of_the_ward":  # it sent every submission the calls target
        world.caller_id = world.sender.actor_id
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
        world.caller_id = issued.actor_id
        return {"key": issued.token}
    project_id = {None: None, "project": world.project.id, "other": world.other.id}[caller.project]
    email = f"{caller.name}@example.org"
    made = make_user(
        email, role=caller.role, project_id=project_id, wards=tuple(filter(None, [caller.ward]))
    )
    world.caller_id, world.caller_is_user = made.actor_id, True
    if caller.role == "admin" and caller.project is None:  # administrators must have a code
        world.caller_must_enrol = True
        world.enrol(made.actor_id)
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
    data = req.data
    web_form = req.headers.get("X-Donghanh-Web-Form") == "1"  # the /f/ page: the cookie
    if (web or web_form) and "cookie" in creds:
        client.set_cookie("dh_session", creds["cookie"])
        if web and req.method == "POST":
            data = {"csrf_token": creds["csrf"], **(data or {})}
    elif "bearer" in creds:
        headers["Authorization"] = f"Bearer {creds['bearer']}"
    for name, value in req.cookies.items():  # a credential of the request's own comes last
        client.set_cookie(name, value)
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
    ordered = sorted(
        WRITES.items(),
        key=lambda item: (item[0][0] in DESTRUCTIVE, any(w.fresh_session for w in item[1])),
    )
    for (endpoint, method), writes in ordered:
        for index, write in enumerate(writes):
            for target in (IN, OUT):
                req = write.request(world, target)
                web = not req.path.startswith("/v1/")
                use = creds
                if write.fresh_session and "email" in creds:
                    use = {**creds, **log_in(db, caller, creds["email"])}
                got = send(app, world, use, caller, req)
                want = expected(caller, write, target, web)
                if got not in want:
                    wrong.append((endpoint, method, index, target, got, sorted(want)))
    assert wrong == []
