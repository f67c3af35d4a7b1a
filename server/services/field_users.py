"""Field users (phones) as supervisors see them: each phone's wards and sites with their
names, when it last reached the server and last sent a submission, and how many it sent this
week and this month. Read-only for supervisors (``app_user.activity``); a manager changes a
phone's wards and sites through the same service the command line uses (app_users)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from server.auth.permissions import SYSTEM, Principal, can, require, ward_scope
from server.errors import NotFound
from server.models.actors import Actor, AppUser
from server.models.audits import Audit
from server.models.submissions import Submission
from server.services import app_users, audit, places

VERB = "app_user.activity"


@dataclass(frozen=True, slots=True)
class FieldUser:
    actor_id: int
    name: str
    revoked: bool
    wards: list[places.Place]
    sites: list[places.Place]
    last_contact: datetime | None  # the phone's latest request the audit log recorded
    last_submission: datetime | None
    week: int  # submissions received since Monday (local time)
    month: int  # since the first of the month
    editable: bool  # the caller may change its wards and sites
    other_wards: int = 0  # its wards outside a ward-scoped caller's, counted, not named


def _aware(value) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):  # SQLite's MAX() is text
        value = datetime.fromisoformat(str(value))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _start(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), zone).astimezone(UTC)


def activity(
    session: Session, principal: Principal, project_id: int, timezone: str, now: datetime
) -> list[FieldUser]:
    """The project's phones the caller may see (a ward-scoped caller: the phones working in
    one of its wards), with their places and activity, in name order. A ward-scoped caller
    sees of each phone only its own wards (the others counted) and only the submissions it
    sent in them: a phone shared with another ward tells nothing of that ward's work."""
    require(principal, VERB, project_id)
    # list_app_users asks for app_user.list, which supervisors do not hold; activity's own
    # verb was checked above, so the listing is read as the command line reads it
    rows = app_users.list_app_users(session, SYSTEM, project_id)
    ids = [r.id for r in rows]
    wards, sites = app_users.wards_by_actor(session, ids), app_users.sites_by_actor(session, ids)
    mine = ward_scope(principal, VERB, project_id)
    if mine is not None:
        ids = [a for a in ids if set(wards.get(a, ())) & mine]
    zone = ZoneInfo(timezone)
    today = now.astimezone(zone).date()
    week, month = (
        _start(today - timedelta(days=today.weekday()), zone),
        _start(today.replace(day=1), zone),
    )
    sent = {
        a: (last, int(w or 0), int(m or 0))
        for a, last, w, m in session.execute(
            select(
                Submission.submitter_id,
                func.max(Submission.created_at),
                func.sum(case((Submission.created_at >= week, 1), else_=0)),
                func.sum(case((Submission.created_at >= month, 1), else_=0)),
            )
            .where(
                Submission.submitter_id.in_(ids),
                Submission.draft.is_(False),
                Submission.deleted_at.is_(None),
                *([] if mine is None else [Submission.ward.in_(sorted(mine))]),
            )
            .group_by(Submission.submitter_id)
        )
    } if ids else {}  # fmt: skip
    seen = dict(
        session.execute(
            select(Audit.actor_id, func.max(Audit.acted_at))
            .where(Audit.actor_id.in_(ids))
            .group_by(Audit.actor_id)
        ).all()
    ) if ids else {}  # fmt: skip
    ward_names = {p.code: p for p in places.wards()}
    site_names = {p.code: p for p in places.facilities(session, project_id)}
    editable = (
        app_users.reachable(session, principal, project_id, ids)
        if can(principal, "app_user.create", project_id)
        else set()
    )
    by_id = {r.id: r for r in rows}
    out = []
    for a in ids:
        r = by_id[a]
        last, w, m = sent.get(a, (None, 0, 0))
        codes = wards.get(a, [])
        shown = codes if mine is None else [c for c in codes if c in mine]
        out.append(
            FieldUser(
                a,
                r.display_name,
                r.revoked_at is not None,
                [ward_names.get(c) or places.Place(c, c, "") for c in shown],
                [site_names.get(c) or places.Place(c, c, "") for c in sites.get(a, [])],
                _aware(seen.get(a)),
                _aware(last),
                w,
                m,
                a in editable,
                len(codes) - len(shown),
            )
        )
    audit.record(session, principal.actor_id, "app_user.activity.read", "project", project_id,
                 {"count": len(out)})  # fmt: skip
    return sorted(out, key=lambda u: (u.revoked, u.name.casefold(), u.actor_id))


def set_places(
    session: Session,
    principal: Principal,
    project_id: int,
    actor_id: int,
    wards: list[str],
    sites: list[str],
) -> None:
    """Replace a phone's wards and sites: the command line's service (app_users.set_wards,
    set_sites), checked and audited there; the phone must be of this project."""
    app_user = session.get(AppUser, actor_id)
    actor = session.get(Actor, actor_id)
    if app_user is None or actor is None or app_user.project_id != project_id:
        raise NotFound(f"Could not find app user {actor_id}.")
    app_users.set_wards(session, principal, actor_id, wards)
    app_users.set_sites(session, principal, actor_id, sites)
