"""App users (Central's field keys): create with a token and a Collect QR code, revoke, resolve."""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session

from server.auth import tokens
from server.auth.permissions import Principal, reaches_phone, require
from server.errors import AlreadyExists, InsufficientRights, NotFound
from server.models.actors import Actor, AppUser, FormAssignment, RetiredKey
from server.models.entities import AppUserSite, AppUserWard
from server.models.forms import Form
from server.models.types import utcnow
from server.services import audit, entities, places
from server.services.projects import get_project

#: Central's role id (and system name) for the form role an app user holds.
APP_USER_ROLE_ID = 2
APP_USER_ROLE = "app-user"


@dataclass(frozen=True, slots=True)
class IssuedAppUser:
    """A new app user and its token, which is shown once and never stored."""

    actor_id: int
    display_name: str
    project_id: int
    project_name: str
    token: str

    def server_url(self, public_url: str) -> str:
        return f"{public_url.rstrip('/')}/v1/key/{self.token}/projects/{self.project_id}"

    def qr_payload(self, public_url: str) -> str:
        """What Collect's QR scanner decodes to set this phone up."""
        return collect_qr_payload(self.server_url(public_url), self.project_name)


def collect_qr_payload(server_url: str, project_name: str, icon: str | None = None) -> str:
    """base64(zlib(JSON)) of Collect's settings; Collect's schema requires `general` and
    `admin` (odk-protocol.md section 4). Managed devices match the server's forms exactly."""
    settings = {
        "general": {
            "server_url": server_url,
            "form_update_mode": "match_exactly",
            "autosend": "wifi_and_cellular",
        },
        "project": {"name": project_name, **({"icon": icon} if icon else {})},
        "admin": {},
    }
    raw = json.dumps(settings, ensure_ascii=False).encode("utf-8")
    return base64.b64encode(zlib.compress(raw)).decode("ascii")


def create_app_user(
    session: Session,
    principal: Principal,
    project_id: int,
    display_name: str,
    *,
    all_forms: bool = False,
    forms: Iterable[str] = (),
    wards: Iterable[str] = (),
    sites: Iterable[str] = (),
) -> IssuedAppUser:
    """A new app user. As in Central it receives no form until forms are assigned to it;
    ``all_forms`` gives it every form of the project, including forms published later.
    ``wards`` and ``sites``: whose clients, and which facilities' referrals, its phone gets."""
    require(principal, "app_user.create", project_id)
    wards, sites = list(wards), list(sites)
    _require_reach(principal, "app_user.create", project_id, wards, sites)
    project = get_project(session, project_id)
    token = tokens.new_token()
    actor = Actor(type="field_key", display_name=display_name)
    session.add(actor)
    session.flush()
    session.add(
        AppUser(
            actor_id=actor.id,
            project_id=project_id,
            token_sha256=tokens.token_sha256(token),
            created_by_id=principal.actor_id,
            all_forms=all_forms,
        )
    )
    audit.record(
        session,
        principal.actor_id,
        "field_key.create",
        "actor",
        actor.id,
        {"projectId": project_id},
    )
    session.flush()
    form_ids = _form_ids(session, project_id, forms)
    for form_id in form_ids.values():
        session.add(FormAssignment(form_id=form_id, actor_id=actor.id))
    if form_ids:
        audit.record(
            session,
            principal.actor_id,
            "field_key.update.forms",
            "actor",
            actor.id,
            {"forms": sorted(form_ids)},
        )
    if wards:
        _set_codes(session, principal, actor.id, "wards", wards, entities.set_wards, new=True)
    if sites:
        _set_codes(session, principal, actor.id, "sites", sites, entities.set_sites, new=True)
    session.flush()
    return IssuedAppUser(actor.id, display_name, project_id, project.name, token)


def revoke_app_user(
    session: Session, principal: Principal, actor_id: int, project_id: int | None = None
) -> None:
    """Revoke the token at once; the phone is refused on its next request."""
    app_user = session.get(AppUser, actor_id)
    if app_user is None or (project_id is not None and app_user.project_id != project_id):
        raise NotFound(f"Could not find app user {actor_id}.")
    require(principal, "app_user.revoke", app_user.project_id)
    require_phone_in_reach(session, principal, "app_user.revoke", app_user)
    _retire_key(session, app_user)
    session.execute(
        update(AppUser)
        .where(AppUser.actor_id == actor_id)
        .values(token_sha256=None, revoked_at=utcnow())
    )
    audit.record(session, principal.actor_id, "field_key.revoke", "actor", actor_id)


def list_app_users(
    session: Session, principal: Principal, project_id: int, live_only: bool = False
) -> list[tuple]:
    """The project's app users, revoked ones too unless ``live_only`` (Central's listing)."""
    require(principal, "app_user.list", project_id)
    query = (
        select(
            Actor.id, Actor.display_name, Actor.created_at, AppUser.revoked_at, AppUser.token_sha256
        )
        .join(AppUser, AppUser.actor_id == Actor.id)
        .where(AppUser.project_id == project_id)
        .order_by(Actor.id)
    )
    if live_only:
        query = query.where(AppUser.revoked_at.is_(None))
    return list(session.execute(query).all())


def listed_token(token_sha256: str | None, revoked: bool) -> str | None:
    """What a listing shows in Central's ``token`` field. Central keeps the key and lists it;
    here only its sha256 is kept, so a live app user shows a marker that is not a key (the
    hash's first 12 digits, "sha256:…", which no key matches) and a revoked one null, as in
    Central. pyodk's create_app_users skips every name listed with a token, so a second run
    creates no second app user of the same name."""
    if revoked or token_sha256 is None:
        return None
    return f"sha256:{token_sha256[:12]}"


def created_at(session: Session, actor_id: int):
    return session.get(Actor, actor_id).created_at


def actors(session: Session, actor_ids: list[int]) -> list[Actor]:
    """The actors with these ids, in id order (each once)."""
    if not actor_ids:
        return []
    return list(session.scalars(select(Actor).where(Actor.id.in_(actor_ids)).order_by(Actor.id)))


def principal_for_token(session: Session, token: str) -> Principal | None:
    """The app user whose live token this is, or None (unknown, revoked or malformed)."""
    if not tokens.is_well_formed(token):
        return None
    row = session.execute(_BY_TOKEN, {"digest": tokens.token_sha256(token)}).first()
    if row is None:
        return None
    forms = None if row.all_forms else frozenset(assigned_forms(session, [row.id]).get(row.id, ()))
    return Principal(
        row.id,
        "field_key",
        row.display_name,
        frozenset({("collector", row.project_id)}),
        forms=forms,
    )


#: Built once: every request of a phone reads it. Exact each time: a revoked key is found
#: no more at once, and the form assignments are read anew.
_BY_TOKEN = (
    select(Actor.id, Actor.display_name, AppUser.project_id, AppUser.all_forms)
    .join(AppUser, AppUser.actor_id == Actor.id)
    .where(AppUser.token_sha256 == bindparam("digest"), Actor.deleted_at.is_(None))
)


def retired_key_owner(session: Session, token: str) -> int | None:
    """The app user whose revoked or replaced key this is (or whose actor was deleted), or
    None (a key never ours)."""
    if not tokens.is_well_formed(token):
        return None
    digest = tokens.token_sha256(token)
    return session.scalar(
        select(RetiredKey.actor_id).where(RetiredKey.token_sha256 == digest)
    ) or session.scalar(select(AppUser.actor_id).where(AppUser.token_sha256 == digest))


def _retire_key(session: Session, app_user: AppUser) -> None:
    """Remember the key being revoked or replaced, so that a phone still sending it is told
    403 without counting as a guess (services/throttle.py)."""
    if app_user.token_sha256 is not None:
        session.add(RetiredKey(token_sha256=app_user.token_sha256, actor_id=app_user.actor_id))
        session.flush()


def set_wards(session: Session, principal: Principal, actor_id: int, wards: list[str]) -> None:
    """Replace the wards whose entities (clients) this app user's phone receives."""
    _set_codes(session, principal, actor_id, "wards", wards, entities.set_wards)


def set_sites(session: Session, principal: Principal, actor_id: int, sites: list[str]) -> None:
    """Replace the sites (facility codes) whose referrals this app user's phone receives."""
    _set_codes(session, principal, actor_id, "sites", sites, entities.set_sites)


def _set_codes(
    session, principal, actor_id: int, kind: str, codes: list[str], store, new: bool = False
) -> None:
    """Replace a phone's wards or sites: the caller must reach the phone as it is (unless it
    is being created) and as it will be."""
    app_user = session.get(AppUser, actor_id)
    if app_user is None:
        raise NotFound(f"Could not find app user {actor_id}.")
    require(principal, "app_user.create", app_user.project_id)
    codes = places.check_codes(session, app_user.project_id, kind, codes)
    wards, sites = _phone_codes(session, actor_id)
    if not new:
        _require_reach(principal, "app_user.create", app_user.project_id, wards, sites)
    if kind == "wards":
        wards = codes
    else:
        sites = codes
    _require_reach(principal, "app_user.create", app_user.project_id, wards, sites)
    store(session, actor_id, codes)
    audit.record(
        session,
        principal.actor_id,
        f"field_key.update.{kind}",
        "actor",
        actor_id,
        {kind: sorted(codes)},
    )


def _phone_codes(session: Session, actor_id: int) -> tuple[list[str], list[str]]:
    """(wards, sites) of one app user as stored."""
    return (
        wards_by_actor(session, [actor_id]).get(actor_id, []),
        sites_by_actor(session, [actor_id]).get(actor_id, []),
    )


def _require_reach(
    principal: Principal, verb: str, project_id: int, wards: list[str], sites: list[str]
) -> None:
    if not reaches_phone(
        principal,
        verb,
        project_id,
        [w.strip() for w in wards if w.strip()],
        [s.strip() for s in sites if s.strip()],
    ):
        raise InsufficientRights(
            "A role held for some communes/wards may give phones only its own wards (at "
            "least one) and no facility, and may change only such phones."
        )


def require_phone_in_reach(
    session: Session, principal: Principal, verb: str, app_user: AppUser
) -> None:
    """InsufficientRights unless the caller reaches this phone as it is: a ward-scoped role
    may re-issue, revoke or re-assign only phones whose wards all lie in its own
    (permissions.reaches_phone). The one check every app-user write makes."""
    wards, sites = _phone_codes(session, app_user.actor_id)
    _require_reach(principal, verb, app_user.project_id, wards, sites)


def reachable(
    session: Session, principal: Principal, project_id: int, actor_ids: list[int]
) -> set[int]:
    """Those of these app users the caller may re-issue, revoke and re-assign (the page
    offers those actions only for them)."""
    wards, sites = wards_by_actor(session, actor_ids), sites_by_actor(session, actor_ids)
    return {
        a
        for a in actor_ids
        if reaches_phone(
            principal, "app_user.create", project_id, wards.get(a, []), sites.get(a, [])
        )
    }


def sites_by_actor(session: Session, actor_ids: list[int]) -> dict[int, list[str]]:
    """The site codes each app user serves."""
    return _codes_by_actor(
        session,
        select(AppUserSite.actor_id, AppUserSite.site)
        .where(AppUserSite.actor_id.in_(actor_ids))
        .order_by(AppUserSite.site),
        actor_ids,
    )


def wards_by_actor(session: Session, actor_ids: list[int]) -> dict[int, list[str]]:
    """The ward codes each app user's phone receives clients of."""
    return _codes_by_actor(
        session,
        select(AppUserWard.actor_id, AppUserWard.ward)
        .where(AppUserWard.actor_id.in_(actor_ids))
        .order_by(AppUserWard.ward),
        actor_ids,
    )


def _codes_by_actor(session: Session, statement, actor_ids: list[int]) -> dict:
    """{actor id: [code, ...]} from a statement selecting (actor id, code) rows."""
    out: dict[int, list[str]] = {}
    if actor_ids:
        for actor_id, code in session.execute(statement).all():
            out.setdefault(actor_id, []).append(code)
    return out


def reissue_app_user(
    session: Session, principal: Principal, actor_id: int, project_id: int
) -> IssuedAppUser:
    """A new key (and QR code) for the same field user: the old key is refused at once, what
    the phone sent before stays its own. Works on a revoked user too (a phone found again)."""
    app_user = session.get(AppUser, actor_id)
    if app_user is None or app_user.project_id != project_id:
        raise NotFound(f"Could not find app user {actor_id}.")
    require(principal, "app_user.create", project_id)
    require_phone_in_reach(session, principal, "app_user.create", app_user)
    _retire_key(session, app_user)
    token = tokens.new_token()
    session.execute(
        update(AppUser)
        .where(AppUser.actor_id == actor_id)
        .values(token_sha256=tokens.token_sha256(token), revoked_at=None)
    )
    actor = session.get(Actor, actor_id)
    audit.record(session, principal.actor_id, "field_key.reissue", "actor", actor_id)
    return IssuedAppUser(
        actor_id, actor.display_name, project_id, get_project(session, project_id).name, token
    )


# --- Forms an app user receives (Central's form assignments, role "app-user", id 2) --------


def _form_ids(session: Session, project_id: int, xml_form_ids: Iterable[str]) -> dict[str, int]:
    """{xmlFormId: forms.id} for the named forms of the project; NotFound for one it lacks."""
    wanted = list(dict.fromkeys(xml_form_ids))
    if not wanted:
        return {}
    found = dict(
        session.execute(
            select(Form.xml_form_id, Form.id).where(
                Form.project_id == project_id, Form.xml_form_id.in_(wanted)
            )
        ).all()
    )
    missing = [f for f in wanted if f not in found]
    if missing:
        raise NotFound(f"Could not find the form '{missing[0]}' in project {project_id}.")
    return found


def _app_user_of(session: Session, project_id: int, actor_id: int) -> AppUser:
    app_user = session.get(AppUser, actor_id)
    if app_user is None or app_user.project_id != project_id:
        raise NotFound(f"Could not find app user {actor_id} in project {project_id}.")
    return app_user


def assigned_forms(session: Session, actor_ids: list[int]) -> dict[int, list[str]]:
    """The xmlFormIds explicitly assigned to each app user (not counting ``all_forms``)."""
    return _codes_by_actor(
        session,
        select(FormAssignment.actor_id, Form.xml_form_id)
        .join(Form, Form.id == FormAssignment.form_id)
        .where(FormAssignment.actor_id.in_(actor_ids))
        .order_by(Form.xml_form_id),
        actor_ids,
    )


def all_forms_actors(session: Session, actor_ids: list[int]) -> set[int]:
    """Those of these app users that receive every form of their project."""
    if not actor_ids:
        return set()
    return set(
        session.scalars(
            select(AppUser.actor_id).where(
                AppUser.actor_id.in_(actor_ids), AppUser.all_forms.is_(True)
            )
        )
    )


def set_forms(
    session: Session,
    principal: Principal,
    project_id: int,
    actor_id: int,
    all_forms: bool,
    xml_form_ids: Iterable[str] = (),
) -> None:
    """Replace the forms an app user's phone receives: every form, or exactly these."""
    require(principal, "app_user.create", project_id)
    app_user = _app_user_of(session, project_id, actor_id)
    require_phone_in_reach(session, principal, "app_user.create", app_user)
    form_ids = {} if all_forms else _form_ids(session, project_id, xml_form_ids)
    app_user.all_forms = all_forms
    session.execute(delete(FormAssignment).where(FormAssignment.actor_id == actor_id))
    for form_id in form_ids.values():
        session.add(FormAssignment(form_id=form_id, actor_id=actor_id))
    audit.record(
        session,
        principal.actor_id,
        "field_key.update.forms",
        "actor",
        actor_id,
        {"allForms": True} if all_forms else {"forms": sorted(form_ids)},
    )
    session.flush()


def form_assignees(
    session: Session, principal: Principal, project_id: int, xml_form_id: str | None = None
) -> list[tuple[int, str]]:
    """(actorId, xmlFormId) for every live app user of the project and every form it receives,
    one form or all; an app user holding every form is listed with each of them."""
    require(principal, "app_user.list", project_id)
    forms_query = select(Form.id, Form.xml_form_id).where(Form.project_id == project_id)
    if xml_form_id is not None:
        forms_query = forms_query.where(Form.xml_form_id == xml_form_id)
    forms = session.execute(forms_query.order_by(Form.xml_form_id)).all()
    if xml_form_id is not None and not forms:
        raise NotFound(f"Could not find the form '{xml_form_id}' in project {project_id}.")
    live = (
        select(AppUser.actor_id)
        .join(Actor, Actor.id == AppUser.actor_id)
        .where(
            AppUser.project_id == project_id,
            AppUser.revoked_at.is_(None),
            Actor.deleted_at.is_(None),
        )
    )
    every = list(session.scalars(live.where(AppUser.all_forms.is_(True))))
    explicit = session.execute(
        select(FormAssignment.actor_id, Form.xml_form_id)
        .join(Form, Form.id == FormAssignment.form_id)
        .where(
            FormAssignment.actor_id.in_(live.where(AppUser.all_forms.is_(False))),
            Form.id.in_([f.id for f in forms]),
        )
    ).all()
    pairs = [(a, f.xml_form_id) for f in forms for a in every] + [tuple(r) for r in explicit]
    return sorted(pairs, key=lambda pair: (pair[1], pair[0]))


def assign_form(
    session: Session, principal: Principal, project_id: int, xml_form_id: str, actor_id: int
) -> None:
    """Give one form to an app user's phone; 409 when it has it already."""
    require(principal, "app_user.create", project_id)
    app_user = _app_user_of(session, project_id, actor_id)
    require_phone_in_reach(session, principal, "app_user.create", app_user)
    form_id = _form_ids(session, project_id, [xml_form_id])[xml_form_id]
    if app_user.all_forms or session.get(FormAssignment, (form_id, actor_id)) is not None:
        raise AlreadyExists(f"App user {actor_id} already receives the form '{xml_form_id}'.")
    session.add(FormAssignment(form_id=form_id, actor_id=actor_id))
    audit.record(
        session,
        principal.actor_id,
        "form.assignment.create",
        "form",
        form_id,
        {"actorId": actor_id, "roleId": APP_USER_ROLE_ID},
    )
    session.flush()


def unassign_form(
    session: Session, principal: Principal, project_id: int, xml_form_id: str, actor_id: int
) -> None:
    """Take one form away from an app user's phone (Collect removes it at its next update when
    the phone matches the server exactly). An app user holding every form keeps all the
    project's other forms of today."""
    require(principal, "app_user.create", project_id)
    app_user = _app_user_of(session, project_id, actor_id)
    require_phone_in_reach(session, principal, "app_user.create", app_user)
    form_id = _form_ids(session, project_id, [xml_form_id])[xml_form_id]
    if app_user.all_forms:
        app_user.all_forms = False
        for other in session.scalars(
            select(Form.id).where(Form.project_id == project_id, Form.id != form_id)
        ):
            session.add(FormAssignment(form_id=other, actor_id=actor_id))
    else:
        removed = session.execute(
            delete(FormAssignment).where(
                FormAssignment.form_id == form_id, FormAssignment.actor_id == actor_id
            )
        ).rowcount
        if not removed:
            raise NotFound(f"App user {actor_id} does not receive the form '{xml_form_id}'.")
    audit.record(
        session,
        principal.actor_id,
        "form.assignment.delete",
        "form",
        form_id,
        {"actorId": actor_id, "roleId": APP_USER_ROLE_ID},
    )
    session.flush()
