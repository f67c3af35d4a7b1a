"""Every route of the app (from the URL map, so a new one cannot be forgotten) tried by every
kind of caller: anonymous, an app user's phone, web users of each role in the project, a
supervisor of another project, and supervisors limited to one ward (the submission's, or
another). Each answer must be what server/auth/routes.py declares: refused (401/403, or the
login page) when the role lacks the verb, served otherwise; a supervisor of another ward
finds no trace of the submission (404), and no route answers 500."""

from __future__ import annotations

import hashlib

import pytest

import forms
from server.auth import routes
from server.auth.permissions import ANONYMOUS, SYSTEM, can, reaches_form
from server.models.deliveries import Delivery
from server.services import app_users, drafts, ingest, projects, sessions, users
from server.services.app_users import principal_for_token
from tests.support.xmls import instance
from tests.web.conftest import REVIEW_MD

CALLERS = [
    "anonymous",
    "app_user",
    "app_user_without_forms",
    "admin",
    "manager",
    "supervisor",
    "viewer",
    "collector",
    "other_project_supervisor",
    "ward_supervisor",
    "other_ward_supervisor",
]
ROLE = {
    "admin": ("admin", None, ()),
    "manager": ("manager", "project", ()),
    "supervisor": ("supervisor", "project", ()),
    "viewer": ("viewer", "project", ()),
    "collector": ("collector", "project", ()),
    "other_project_supervisor": ("supervisor", "other", ()),
    "ward_supervisor": ("supervisor", "project", ("00008",)),
    "other_ward_supervisor": ("supervisor", "project", ("00004",)),
}
METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")


#: Tried last, since they end the caller's session (or, deleting the project, the world).
LAST = ("api.end_session", "web.log_out", "web.log_out_everywhere", "api.delete_project")


def all_routes(app) -> list[tuple[str, str, object]]:
    return sorted(
        (
            (rule.endpoint, method, rule)
            for rule in app.url_map.iter_rules()
            for method in rule.methods
            if method in METHODS
        ),
        key=lambda r: (r[0] in LAST, r[0], r[1]),
    )


def test_every_route_declares_a_permission(app):
    endpoints = {endpoint for endpoint, _m, _r in all_routes(app)}
    assert endpoints - set(routes.PERMISSIONS) == set()
    assert set(routes.PERMISSIONS) - endpoints == set()  # and nothing stale is declared


def test_a_route_with_no_declaration_is_refused():
    from server.errors import InsufficientRights

    with pytest.raises(InsufficientRights):
        routes.enforce(SYSTEM, "web.some_new_page", {})


@pytest.fixture
def world(app, db, project, make_form, settings):
    """A project with a published form, a draft of it, an app user, one submission (ward
    00008) with a delivery; and another project."""
    make_form(REVIEW_MD)
    with db.transaction() as session:
        other = projects.create_project(session, None, "Dự án khác")
        issued = app_users.create_app_user(session, SYSTEM, project.id, "TNV Lan", all_forms=True)
        formless = app_users.create_app_user(session, SYSTEM, project.id, "Công an phường")
    draft = forms.compile_xlsform(
        REVIEW_MD.replace("| review          | 1 ", "| review          | 2 ").encode(),
        filename="f.md",
        validate=False,
    )
    ext = app.extensions["donghanh"]
    with db.transaction() as session:
        drafts.create_draft(
            session, ext.blobs, SYSTEM, project.id, draft.xform, None, [], False, "review"
        )
        principal = principal_for_token(session, issued.token)
        xml = instance("review", "uuid:s1", ma_xa="00008", ho_ten="Bình", anh="proof.png")
        ingest.ingest_submission(
            session,
            ext.blobs,
            principal,
            project.id,
            ingest.Incoming(
                envelope=forms.read_instance(xml),
                xml=xml,
                xml_sha256=hashlib.sha256(xml).hexdigest(),
                parts={},
                device_id="collect:x",
                user_agent="test",
            ),
            ext.target_names,
        )
        delivery_id = session.query(Delivery.id).scalar()
    return {
        "project": project,
        "other": other,
        "app_user": issued,
        "app_user_without_forms": formless,
        "delivery_id": delivery_id,
    }


def values_for(rule, world) -> dict:
    values = {}
    for arg in rule.arguments:
        values[arg] = {
            "project_id": world["project"].id,
            "xml_form_id": "review",
            "instance_id": "uuid:s1",
            "version_id": "uuid:s1",
            "version": "1",
            "delivery_id": world["delivery_id"],
            "actor_id": world["app_user"].actor_id,
            "role_id": "2",
            "table": "Submissions",
            "entity_id": "12345678-1234-4234-8234-123456789012",
            "referral_id": "uuid:s1",  # a referral page by its slip's instanceID
            "filename": "leaflet.js" if "vendor" in rule.rule else "app.css",
            "name": "clients" if "datasets" in rule.rule else "proof.png",
            "token": "not-a-password-link",
            "code": "I1",  # an indicator code (docs/indicators.md)
            "a": "12345678-1234-4234-8234-123456789012",  # a suspected duplicate pair
            "b": "22345678-1234-4234-8234-123456789012",
            "job_id": "no-such-job",  # an export job (services/export_jobs): its starter's only
        }[arg]
    return values


def caller_setup(caller: str, world, db, app, make_user, enrol_totp=None):
    """(principal, bearer token, cookie session (token, csrf), key prefix or '')."""
    if caller == "anonymous":
        return ANONYMOUS, None, None, ""
    if caller in ("app_user", "app_user_without_forms"):
        token = world[caller].token
        with db.transaction(write=False) as session:
            principal = principal_for_token(session, token)
        return principal, None, None, f"/v1/key/{token}"
    role, where, wards = ROLE[caller]
    project_id = {"project": world["project"].id, "other": world["other"].id, None: None}[where]
    email = f"{caller}@example.org"
    if make_user is not None:  # None: the user exists, only open new sessions
        make_user(email, role=role, project_id=project_id, wards=wards)
        if role == "admin" and enrol_totp is not None:
            enrol_totp(email)  # administrators must have a one-time code to use the web UI
    with db.transaction() as session:
        bearer = sessions.log_in(session, email, "correct horse battery", None, "bearer").issued
        cookie = sessions.log_in(session, email, "correct horse battery", None, "cookie").issued
        principal = users.principal_for_user(session, users.find_user(session, email))
    return principal, bearer.token, (cookie.token, cookie.csrf), ""


def outcome(response, is_web: bool) -> str:
    status = response.status_code
    if status in (401, 403):
        return "refused"
    if is_web and status == 302 and "/login?next=" in response.headers["Location"]:
        return "refused"  # the web's way of asking a visitor to log in first
    if status == 404:
        return "not found"
    if 400 <= status < 500:
        return "invalid"  # past the permission check, refused for its body
    if status >= 500:
        return "error"
    return "ok"


@pytest.mark.parametrize("caller", CALLERS)
def test_every_route_answers_each_caller_as_declared(caller, app, db, world, make_user, enrol_totp):
    principal, bearer, cookie, prefix = caller_setup(caller, world, db, app, make_user, enrol_totp)
    client = app.test_client()
    csrf = ""
    if cookie:
        client.set_cookie("dh_session", cookie[0])
        csrf = cookie[1]
    wrong = []
    for endpoint, method, rule in all_routes(app):
        if endpoint in LAST and cookie:  # each of these ends the session: start a new one
            _p, bearer, cookie, _k = caller_setup(caller, world, db, app, None)
            client.set_cookie("dh_session", cookie[0])
            csrf = cookie[1]
        needed = routes.PERMISSIONS[endpoint]
        is_web = endpoint.startswith("web.")
        values = values_for(rule, world)
        path = rule.build(values, append_unknown=False)[1]
        seen_as = principal
        if is_web and caller.startswith("app_user"):
            seen_as = ANONYMOUS  # a phone's key opens no web page
        if path.startswith("/v1/") and prefix:
            path = prefix + path[3:]
        headers = {"X-OpenRosa-Version": "1.0"}
        if bearer and not is_web:
            headers["Authorization"] = f"Bearer {bearer}"
        data = {"csrf_token": csrf} if is_web and method == "POST" else {}
        response = client.open(path, method=method, headers=headers, data=data)
        got = outcome(response, is_web)
        response.close()
        if needed in (routes.OPEN, routes.LOOPBACK):
            allowed = True
        elif needed == routes.SIGNED_IN:
            allowed = not seen_as.is_anonymous
        else:
            allowed = (
                not seen_as.is_anonymous
                and can(seen_as, needed, values.get("project_id"))
                and ("xml_form_id" not in values or reaches_form(seen_as, values["xml_form_id"]))
            )
        if not allowed or endpoint == "api.end_session_by_token":
            # (a token that opens no session is refused as another's is, as in Central: the
            # write matrix tries real ones)
            expected = {"refused"}
        elif caller == "other_ward_supervisor" and "instance_id" in values:
            expected = {"not found", "invalid"}  # no trace of another ward's submission
        else:
            expected = {"ok", "not found", "invalid"}
        if got not in expected:
            wrong.append((method, rule.rule, needed, response.status_code, got, sorted(expected)))
    assert wrong == []
