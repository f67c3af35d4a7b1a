"""App users (Central's field keys): create with a token and a Collect QR code, revoke, resolve."""

from __future__ import annotations

import base64
import json
import zlib
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from server.auth import tokens
from server.auth.permissions import Principal, require
from server.errors import NotFound
from server.models.actors import Actor, AppUser
from server.models.entities import AppUserWard
from server.models.types import utcnow
from server.services import audit, entities
from server.services.projects import get_project


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
    session: Session, principal: Principal, project_id: int, display_name: str
) -> IssuedAppUser:
    require(principal, "app_user.create", project_id)
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
    return IssuedAppUser(actor.id, display_name, project_id, project.name, token)


def revoke_app_user(
    session: Session, principal: Principal, actor_id: int, project_id: int | None = None
) -> None:
    """Revoke the token at once; the phone is refused on its next request."""
    app_user = session.get(AppUser, actor_id)
    if app_user is None or (project_id is not None and app_user.project_id != project_id):
        raise NotFound(f"Could not find app user {actor_id}.")
    require(principal, "app_user.revoke", app_user.project_id)
    session.execute(
        update(AppUser)
        .where(AppUser.actor_id == actor_id)
        .values(token_sha256=None, revoked_at=utcnow())
    )
    audit.record(session, principal.actor_id, "field_key.revoke", "actor", actor_id)


def list_app_users(session: Session, principal: Principal, project_id: int) -> list[tuple]:
    require(principal, "app_user.list", project_id)
    return list(
        session.execute(
            select(Actor.id, Actor.display_name, Actor.created_at, AppUser.revoked_at)
            .join(AppUser, AppUser.actor_id == Actor.id)
            .where(AppUser.project_id == project_id)
            .order_by(Actor.id)
        ).all()
    )


def principal_for_token(session: Session, token: str) -> Principal | None:
    """The app user whose live token this is, or None (unknown, revoked or malformed)."""
    if not tokens.is_well_formed(token):
        return None
    row = session.execute(
        select(Actor.id, Actor.display_name, AppUser.project_id)
        .join(AppUser, AppUser.actor_id == Actor.id)
        .where(AppUser.token_sha256 == tokens.token_sha256(token), Actor.deleted_at.is_(None))
    ).first()
    if row is None:
        return None
    return Principal(
        row.id, "field_key", row.display_name, frozenset({("collector", row.project_id)})
    )


def set_wards(session: Session, principal: Principal, actor_id: int, wards: list[str]) -> None:
    """Replace the wards whose entities (clients) this app user's phone receives."""
    app_user = session.get(AppUser, actor_id)
    if app_user is None:
        raise NotFound(f"Could not find app user {actor_id}.")
    require(principal, "app_user.create", app_user.project_id)
    entities.set_wards(session, actor_id, wards)
    audit.record(
        session,
        principal.actor_id,
        "field_key.update.wards",
        "actor",
        actor_id,
        {"wards": sorted(set(wards))},
    )


def wards_by_actor(session: Session, actor_ids: list[int]) -> dict[int, list[str]]:
    """The ward codes each app user's phone receives clients of."""
    out: dict[int, list[str]] = {}
    if actor_ids:
        rows = session.execute(
            select(AppUserWard.actor_id, AppUserWard.ward)
            .where(AppUserWard.actor_id.in_(actor_ids))
            .order_by(AppUserWard.ward)
        ).all()
        for actor_id, ward in rows:
            out.setdefault(actor_id, []).append(ward)
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
