"""Work lists of a ward or a counselling point: what staff should do next, one row per client,
referral or submission, in the caller's wards. The web page and the API call the same
functions here.

- ``overdue_referrals``: DQ1 (docs/indicators.md), as the indicator engine decides it
  (``indicators.overdue``): an F3 whose ``han`` is before today whose latest F4 has not
  closed it; read from the indicator facts, never from XML.
- ``post_rehab_unvisited``: open post-rehab clients (``sau_cai=co``, management not ended)
  not met on a home visit (an F5 with ``gap=co``, as I11 counts visits) for 30 days.
- ``paused_or_lost``: clients paused (``trang_thai=tam_dung``: residential rehab, detention)
  or closed as lost to follow-up (their latest F7 has ``ly_do=mat_lien_lac``).
- ``awaiting_review``: submissions of every form no one has reviewed yet (review state
  "received", the project page's "to review").
- ``missed_appointments``: open clients whose next appointment (``ngay_hen``, set by the latest
  F2 or F5) is before today.

A counselling point (a site: a facility code) narrows the referrals to those sent to it and
the other lists to its ward. Reading a list is audited (it names people).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from server.auth.permissions import Principal, require, ward_scope
from server.errors import InsufficientRights, NotFound, UnexpectedValue
from server.models.entities import Dataset, Entity
from server.models.forms import Form, FormVersion
from server.models.indicators import IndicatorFact
from server.models.submissions import Submission, SubmissionVersion
from server.services import audit, indicators, places
from server.services import indicator_words as words

NAMES = (
    "overdue_referrals",
    "post_rehab_unvisited",
    "paused_or_lost",
    "awaiting_review",
    "missed_appointments",
)
VERB = "entity.read"
UNVISITED_DAYS = 30
LOST = "mat_lien_lac"  # F7 ly_do: lost to follow-up (> 90 days)
PAGE = 100


@dataclass(frozen=True, slots=True)
class WorkRow:
    """One thing to do. ``client`` is the client's entity uuid (after merges) when the row
    names one; ``day`` the date the row is late from (due date, last visit, appointment);
    ``what`` a code of the forms (a service, a status, a reason) for the edge to label."""

    client: str | None
    client_label: str | None
    ward: str | None
    day: date | None
    what: str | None = None
    since: date | None = None  # the event the row counts from (referral date, last visit)
    referral: str | None = None
    submission: tuple[str, str] | None = None  # (xmlFormId, instanceID) of the row's record
    form_name: str | None = None
    extra: dict = field(default_factory=dict)

    def days_late(self, today: date) -> int | None:
        return (today - self.day).days if self.day else None


@dataclass(frozen=True, slots=True)
class WorkList:
    name: str
    rows: list[WorkRow]  # one page, most urgent first
    total: int
    offset: int
    today: date


@dataclass(frozen=True, slots=True)
class Where:
    """What a request looks at: the caller's wards (None: every ward), a chosen ward or site,
    and the site's own ward."""

    wards: frozenset[str] | None
    ward: str | None
    site: str | None
    site_ward: str | None

    def ward_ok(self, ward: str | None) -> bool:
        if self.wards is not None and ward not in self.wards:
            return False
        if self.ward and ward != self.ward:
            return False
        return not (self.site and ward != self.site_ward)

    def ward_values(self) -> list[str] | None:
        """The wards a client list may show, for SQL (None: no limit)."""
        chosen = {w for w in (self.ward, self.site_ward if self.site else None) if w}
        if self.site and not self.site_ward:
            return []
        if self.wards is None:
            return sorted(chosen) if chosen else None
        return sorted(self.wards & chosen if chosen else self.wards)


def where_of(
    session: Session,
    principal: Principal,
    project_id: int,
    ward: str | None = None,
    site: str | None = None,
) -> Where:
    """The caller's scope and choice, checked: a ward outside the caller's is refused (403),
    an unknown ward or site code is a 400 naming it."""
    require(principal, VERB, project_id)
    wards = ward_scope(principal, VERB, project_id)
    ward = places.check_codes(session, project_id, "wards", [ward])[0] if ward else None
    if ward and wards is not None and ward not in wards:
        raise InsufficientRights("This commune/ward is not one of yours.")
    site_ward = None
    if site:
        site = places.check_codes(session, project_id, "sites", [site])[0]
        site_ward = _facility_ward(session, project_id, site)
    return Where(wards, ward or None, site or None, site_ward)


def _facility_ward(session: Session, project_id: int, code: str) -> str | None:
    data = session.scalar(
        select(Entity.data)
        .join(Dataset, Dataset.id == Entity.dataset_id)
        .where(
            Dataset.project_id == project_id,
            Dataset.name == places.FACILITIES,
            Entity.uuid == code,
        )
    )
    return (data or {}).get("ma_xa") or None


def worklist(
    session: Session,
    principal: Principal,
    project_id: int,
    name: str,
    where: Where,
    today: date,
    offset: int = 0,
    limit: int = PAGE,
) -> WorkList:
    """One page of a work list (``name`` one of NAMES) in ``where``; the look is audited."""
    if name not in NAMES:
        raise NotFound(f"There is no work list '{name}'.")
    if offset < 0 or limit < 1:
        raise UnexpectedValue("offset and limit must be positive numbers.", field="offset")
    rows = _ROWS[name](session, project_id, where, today)
    audit.record(
        session,
        principal.actor_id,
        "worklist.read",
        "project",
        project_id,
        {"list": name, "count": len(rows), **({"ward": where.ward} if where.ward else {}),
         **({"site": where.site} if where.site else {})},
    )  # fmt: skip
    return WorkList(name, rows[offset : offset + limit], len(rows), offset, today)


def counts(
    session: Session, principal: Principal, project_id: int, where: Where, today: date
) -> dict[str, int]:
    """How many rows each work list has in ``where`` (no person named: not audited)."""
    require(principal, VERB, project_id)
    return {name: len(_ROWS[name](session, project_id, where, today)) for name in NAMES}


# --- the clients list ----------------------------------------------------------------------


def _prop(name: str):
    return Entity.data[name].as_string()


def _clients_query(project_id: int, where: Where, *conditions):
    """Live, unmerged clients in the ward(s) of ``where``, as (uuid, label, ward, ...)."""
    query = (
        select(Entity.uuid, Entity.label, _prop("ma_xa").label("ward"))
        .join(Dataset, Dataset.id == Entity.dataset_id)
        .where(
            Dataset.project_id == project_id,
            Dataset.name == "clients",
            Entity.deleted_at.is_(None),
            func.coalesce(_prop("gop_vao"), "") == "",
            *conditions,
        )
    )
    wards = where.ward_values()
    if wards is not None:
        query = query.where(_prop("ma_xa").in_(wards))
    return query


def _merges(session: Session, project_id: int) -> dict[str, str]:
    """Merged duplicate -> the client it was merged into (gop_vao), for the clients named by
    facts of a duplicate."""
    rows = session.execute(
        select(Entity.uuid, _prop("gop_vao"))
        .join(Dataset, Dataset.id == Entity.dataset_id)
        .where(
            Dataset.project_id == project_id,
            Dataset.name == "clients",
            func.coalesce(_prop("gop_vao"), "") != "",
        )
    ).all()
    return {u: str(g).lower() for u, g in rows}


def _survivor(merged: dict[str, str], uuid: str | None) -> str | None:
    seen = set()
    while uuid in merged and uuid not in seen:
        seen.add(uuid)
        uuid = merged[uuid]
    return uuid


def _labels(session: Session, project_id: int, uuids: set[str]) -> dict[str, tuple[str, str]]:
    """uuid -> (label, ward) of these clients."""
    out: dict[str, tuple[str, str]] = {}
    names = sorted(u for u in uuids if u)
    for i in range(0, len(names), 500):
        for uuid, label, ward in session.execute(
            select(Entity.uuid, Entity.label, _prop("ma_xa"))
            .join(Dataset, Dataset.id == Entity.dataset_id)
            .where(
                Dataset.project_id == project_id,
                Dataset.name == "clients",
                Entity.uuid.in_(names[i : i + 500]),
            )
        ):
            out[uuid] = (label, ward)
    return out


def _fact_days(session: Session, project_id: int, form: str, *conditions) -> dict[str, str]:
    """client -> the latest event date (ISO) of the form's live facts matching."""
    rows = session.execute(
        select(IndicatorFact.client, func.max(IndicatorFact.day))
        .where(
            IndicatorFact.project_id == project_id,
            IndicatorFact.form == form,
            IndicatorFact.live.is_(True),
            IndicatorFact.client.is_not(None),
            *conditions,
        )
        .group_by(IndicatorFact.client)
    ).all()
    return {c: str(d)[:10] for c, d in rows if d is not None}


def _day(text) -> date | None:
    try:
        return date.fromisoformat(str(text)[:10]) if text else None
    except ValueError:
        return None


# --- the five lists ------------------------------------------------------------------------


def _overdue_referrals(session: Session, project_id: int, where: Where, today: date) -> list:
    fact = IndicatorFact
    query = select(
        fact.referral, fact.client, fact.dv, fact.han, fact.day, fact.ma_xa,
        fact.instance_id,
    ).where(
        fact.project_id == project_id,
        fact.form == indicators.F3,
        fact.live.is_(True),
        fact.referral.is_not(None),
        fact.han < today,
    )  # fmt: skip
    if where.wards is not None:
        query = query.where(fact.ma_xa.in_(sorted(where.wards)))
    if where.ward:
        query = query.where(fact.ma_xa == where.ward)
    f3s = {}
    for row in session.execute(query.order_by(fact.day, fact.submission_id)):
        f3s.setdefault(row.referral, row)  # the first F3 of a referral, as the engine keeps
    outcomes = _outcomes(session, project_id, list(f3s))
    sites = _referral_sites(session, project_id, list(f3s)) if where.site else {}
    iso = today.isoformat()
    merged = _merges(session, project_id)
    open_ = []
    for ref, f3 in f3s.items():
        if not indicators.overdue(f3.han.isoformat(), outcomes.get(ref), iso):
            continue
        if where.site and sites.get(ref) != where.site:
            continue
        open_.append((f3, _survivor(merged, f3.client)))
    labels = _labels(session, project_id, {c for _, c in open_ if c})
    rows = [
        WorkRow(
            client,
            labels.get(client, (None, None))[0],
            f3.ma_xa,
            f3.han,
            f3.dv,
            f3.day,
            referral=f3.referral,
            submission=(indicators.F3, f3.instance_id),
            extra={"outcome": getattr(outcomes.get(f3.referral), "kq", None)},
        )
        for f3, client in open_
    ]
    return sorted(rows, key=lambda r: (r.day, r.since or r.day, r.referral))


def _outcomes(session: Session, project_id: int, referrals: list[str]) -> dict[str, object]:
    """referral -> its latest live F4 fact (by F4 ``ngay``, then order of receipt)."""
    out: dict[str, object] = {}
    for i in range(0, len(referrals), 500):
        for row in session.execute(
            select(
                IndicatorFact.referral,
                IndicatorFact.kq,
                IndicatorFact.day,
                IndicatorFact.submission_id,
            ).where(
                IndicatorFact.project_id == project_id,
                IndicatorFact.form == indicators.F4,
                IndicatorFact.live.is_(True),
                IndicatorFact.referral.in_(referrals[i : i + 500]),
            )
        ):
            out[row.referral] = indicators.latest_outcome(out.get(row.referral), _Outcome(row))
    return out


class _Outcome:
    """An F4 fact row with its day as ISO text, as the engine compares them."""

    __slots__ = ("day", "kq", "submission_id")

    def __init__(self, row):
        self.kq, self.submission_id = row.kq, row.submission_id
        self.day = row.day.isoformat() if row.day else None


def _referral_sites(session: Session, project_id: int, referrals: list[str]) -> dict[str, str]:
    out = {}
    for i in range(0, len(referrals), 500):
        for uuid, site in session.execute(
            select(Entity.uuid, _prop("co_so"))
            .join(Dataset, Dataset.id == Entity.dataset_id)
            .where(
                Dataset.project_id == project_id,
                Dataset.name == "referrals",
                Entity.uuid.in_(referrals[i : i + 500]),
            )
        ):
            out[uuid] = site
    return out


def _post_rehab_unvisited(session: Session, project_id: int, where: Where, today: date) -> list:
    iso = today.isoformat()
    clients = session.execute(
        _clients_query(
            project_id,
            where,
            _prop("sau_cai") == "co",
            func.coalesce(_prop("trang_thai"), "mo") == "mo",
            or_(func.coalesce(_prop("qlsc_ket_thuc"), "") == "", _prop("qlsc_ket_thuc") >= iso),
        ).add_columns(_prop("qlsc_bat_dau"))
    ).all()
    met = _fact_days(session, project_id, indicators.F5, IndicatorFact.gap == "co")
    merged = _merges(session, project_id)
    for duplicate, survivor in merged.items():  # a duplicate's visits are its survivor's
        if duplicate in met:
            s = _survivor(merged, survivor)
            met[s] = max(met.get(s, ""), met[duplicate])
    limit = (today - timedelta(days=UNVISITED_DAYS)).isoformat()
    rows = []
    for uuid, label, ward, started in clients:
        last = met.get(uuid)
        if last is not None and last >= limit:
            continue
        since = _day(last) or _day(started)
        due = since + timedelta(days=UNVISITED_DAYS) if since else None
        rows.append(
            WorkRow(uuid, label, ward, due, None, _day(last), extra={"visited": bool(last)})
        )
    return sorted(rows, key=lambda r: (r.day or date.min, r.client))


def _paused_or_lost(session: Session, project_id: int, where: Where, today: date) -> list:
    clients = session.execute(
        _clients_query(
            project_id, where, _prop("trang_thai").in_(("tam_dung", "dong"))
        ).add_columns(_prop("trang_thai"))
    ).all()
    latest: dict[str, tuple] = {}
    for client, day, sid, reason in session.execute(
        select(
            IndicatorFact.client, IndicatorFact.day, IndicatorFact.submission_id,
            IndicatorFact.ly_do,
        ).where(
            IndicatorFact.project_id == project_id,
            IndicatorFact.form == indicators.F7,
            IndicatorFact.live.is_(True),
            IndicatorFact.client.is_not(None),
        )
    ):  # fmt: skip
        key = (str(day or ""), sid)
        if client not in latest or key > latest[client][0]:
            latest[client] = (key, reason, day)
    rows = []
    for uuid, label, ward, status in clients:
        _key, reason, day = latest.get(uuid, (None, None, None))
        if status == "dong" and reason != LOST:
            continue
        what = "mat_lien_lac" if status == "dong" else "tam_dung"
        rows.append(WorkRow(uuid, label, ward, day, what, day, extra={"reason": reason}))
    return sorted(rows, key=lambda r: (r.day or date.min, r.client))


def _awaiting_review(session: Session, project_id: int, where: Where, today: date) -> list:
    query = (
        select(
            Form.xml_form_id, FormVersion.title, Submission.instance_id,
            SubmissionVersion.instance_name, Submission.ward, Submission.created_at,
            IndicatorFact.client, IndicatorFact.day,
        )
        .join(Form, Form.id == Submission.form_id)
        .outerjoin(FormVersion, FormVersion.id == Form.current_version_id)
        .join(
            SubmissionVersion,
            (SubmissionVersion.submission_id == Submission.id) & SubmissionVersion.current,
        )
        .outerjoin(IndicatorFact, IndicatorFact.submission_id == Submission.id)
        .where(
            Form.project_id == project_id,
            Submission.draft.is_(False),
            Submission.deleted_at.is_(None),
            Submission.review_state.is_(None),
        )
        .order_by(Submission.created_at, Submission.id)
    )  # fmt: skip
    wards = where.ward_values()
    if wards is not None:
        query = query.where(Submission.ward.in_(wards))
    found = session.execute(query).all()
    merged = _merges(session, project_id)
    labels = _labels(session, project_id, {_survivor(merged, r.client) for r in found if r.client})
    rows = []
    for r in found:
        client = _survivor(merged, r.client)
        received = r.created_at.date() if r.created_at else None
        rows.append(
            WorkRow(
                client,
                labels.get(client, (None, None))[0] if client else None,
                r.ward,
                received,
                r.instance_name,
                r.day,
                submission=(r.xml_form_id, r.instance_id),
                form_name=r.title or r.xml_form_id,
            )
        )
    return rows


def _missed_appointments(session: Session, project_id: int, where: Where, today: date) -> list:
    iso = today.isoformat()
    clients = session.execute(
        _clients_query(
            project_id,
            where,
            func.coalesce(_prop("trang_thai"), "mo") == "mo",
            func.coalesce(_prop("ngay_hen"), "") != "",
            _prop("ngay_hen") < iso,
        ).add_columns(_prop("ngay_hen"), _prop("ngay_tiep_xuc_cuoi"), _prop("ngay_tham_cuoi"))
    ).all()
    rows = []
    for uuid, label, ward, due, contact, visit in clients:
        last = max((d for d in (_day(contact), _day(visit)) if d), default=None)
        rows.append(WorkRow(uuid, label, ward, _day(due), None, last))
    return sorted(rows, key=lambda r: (r.day or date.min, r.client))


_ROWS = {
    "overdue_referrals": _overdue_referrals,
    "post_rehab_unvisited": _post_rehab_unvisited,
    "paused_or_lost": _paused_or_lost,
    "awaiting_review": _awaiting_review,
    "missed_appointments": _missed_appointments,
}


# --- in the reader's words -----------------------------------------------------------------

#: Each list's title and what its date column means, Vietnamese then English.
TITLES = {
    "overdue_referrals": ("Chuyển gửi quá hạn xác nhận", "Referrals past their due date"),
    "post_rehab_unvisited": (
        "Người sau cai chưa được thăm 30 ngày",
        "Post-rehab clients not visited in 30 days",
    ),
    "paused_or_lost": ("Khách hàng tạm dừng hoặc mất liên lạc", "Clients paused or lost"),
    "awaiting_review": ("Phiếu chờ duyệt", "Submissions waiting for review"),
    "missed_appointments": ("Quá ngày hẹn", "Appointments passed"),
}
_STATUS = {
    "tam_dung": ("Tạm dừng", "Paused"),
    "mat_lien_lac": ("Mất liên lạc", "Lost to follow-up"),
}


def title(name: str, language: str) -> str:
    vi, en = TITLES[name]
    return en if language == "en" else vi


def describe(name: str, row: WorkRow, language: str, today: date) -> dict:
    """A row in the reader's words: labels from the forms' choices, ward names, dd/mm/yyyy;
    the codes and ISO dates beside them for the API."""
    if name == "overdue_referrals":
        what = words.choice_label("dich_vu", row.what, language)
    elif name == "paused_or_lost":
        vi, en = _STATUS[row.what]
        reason = words.choice_label("ly_do_cn", row.extra.get("reason"), language)
        what = (en if language == "en" else vi) + (f" · {reason}" if reason else "")
    elif name == "awaiting_review":
        what = row.form_name or ""
    else:
        what = ""
    late = row.days_late(today)
    return {
        "client": row.client,
        "clientLabel": row.client_label,
        "ward": row.ward,
        "wardName": words.place_name(row.ward) if row.ward else None,
        "day": row.day.isoformat() if row.day else None,
        "dayText": words.day_text(row.day) if row.day else "—",
        "since": row.since.isoformat() if row.since else None,
        "sinceText": words.day_text(row.since) if row.since else "—",
        "daysLate": late if late is not None and late > 0 else None,
        "code": row.what,
        "what": what,
        "title": row.what if name == "awaiting_review" else None,
        "referral": row.referral,
        "xmlFormId": row.submission[0] if row.submission else None,
        "instanceId": row.submission[1] if row.submission else None,
    }


def local_today() -> date:
    """Today in Asia/Ho_Chi_Minh, the day DQ1 compares due dates with."""
    return indicators.today_local()
