"""Work lists of a ward or a counselling point: what staff should do next, one row per client,
referral or submission, in the caller's wards. The web page and the API call the same
functions here.

- ``overdue_referrals``: DQ1 (docs/indicators.md), the indicator engine's rule
  (``indicators.overdue``, with its OPEN_OUTCOMES) written as SQL: an F3 whose ``han`` is
  before today whose latest F4 (by ``ngay``, then receipt) has not closed it; read from the
  indicator facts, never from XML.
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

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Select, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from server.auth.permissions import Principal, require, ward_scope
from server.errors import InsufficientRights, NotFound
from server.models.entities import Dataset, Entity
from server.models.forms import Form, FormVersion
from server.models.indicators import IndicatorFact
from server.models.submissions import Submission, SubmissionVersion
from server.services import audit, entity_views, indicators, paging, places
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
    """One page of a work list (``name`` one of NAMES) in ``where``, most urgent first,
    counted and paged by the database; the look is audited."""
    if name not in NAMES:
        raise NotFound(f"There is no work list '{name}'.")
    paging.check(offset, "offset")
    paging.check(limit, "limit", least=1)
    plan = _PLANS[name](session, project_id, where, today)
    if isinstance(plan, list):  # a list read whole (few rows), paged here
        total, rows = len(plan), plan[offset : offset + limit]
    else:
        query, make = plan
        total = _count(session, query)
        rows = [make(r) for r in session.execute(query.offset(offset).limit(limit)).all()]
    rows = _labelled(session, project_id, rows, where.wards)
    audit.record(
        session,
        principal.actor_id,
        "worklist.read",
        "project",
        project_id,
        {"list": name, "count": len(rows), **({"ward": where.ward} if where.ward else {}),
         **({"site": where.site} if where.site else {})},
    )  # fmt: skip
    return WorkList(name, rows, total, offset, today)


def counts(
    session: Session, principal: Principal, project_id: int, where: Where, today: date
) -> dict[str, int]:
    """How many rows each work list has in ``where`` (no person named: not audited)."""
    require(principal, VERB, project_id)
    out = {}
    for name in NAMES:
        plan = _PLANS[name](session, project_id, where, today)
        out[name] = len(plan) if isinstance(plan, list) else _count(session, plan[0])
    return out


def _count(session: Session, query: Select) -> int:
    """The rows of a list's query, counted by the database."""
    return int(session.scalar(select(func.count()).select_from(query.order_by(None).subquery())))


# --- the clients list ----------------------------------------------------------------------


def _prop(name: str):
    return Entity.data[name].as_string()


def _dataset_id(session: Session, project_id: int, name: str) -> int | None:
    return session.scalar(
        select(Dataset.id).where(Dataset.project_id == project_id, Dataset.name == name)
    )


def _merged_into(session: Session, project_id: int) -> dict[str, str]:
    """merged client uuid -> the uuid it was merged into (gop_vao), for every merged client
    of the project: few, read in one query."""
    merged = _prop("gop_vao")
    return {
        uuid: str(into).lower()
        for uuid, into in session.execute(
            select(Entity.uuid, merged).where(
                Entity.dataset_id == _dataset_id(session, project_id, "clients"),
                func.coalesce(merged, "") != "",
            )
        )
    }


def _survivor(merged: dict[str, str], uuid: str) -> str:
    """The record ``uuid`` stands for after merges (a loop in the chain stops after 5)."""
    for _ in range(5):
        if uuid not in merged:
            break
        uuid = merged[uuid]
    return uuid


def _clients_query(session: Session, project_id: int, where: Where, *conditions) -> Select:
    """Live, unmerged clients in the ward(s) of ``where``, as (uuid, ward, ...)."""
    query = select(Entity.uuid, _prop("ma_xa").label("ward")).where(
        Entity.dataset_id == _dataset_id(session, project_id, "clients"),
        Entity.deleted_at.is_(None),
        func.coalesce(_prop("gop_vao"), "") == "",
        *conditions,
    )
    wards = where.ward_values()
    if wards is not None:
        query = query.where(_prop("ma_xa").in_(wards))
    return query


def _labelled(
    session: Session, project_id: int, rows: list[WorkRow], wards: frozenset[str] | None
) -> list[WorkRow]:
    """The page's rows with their clients after merges (gop_vao, followed) and the clients'
    labels: read for the page only. A client who is now in a ward outside ``wards`` (merged
    into another ward's record, or moved) is named by neither uuid nor label: the row says
    only that the client is in another ward."""
    dataset_id = _dataset_id(session, project_id, "clients")
    known: dict[str, tuple[str, str | None]] = {}
    ward_of: dict[str, str | None] = {}
    wanted = {r.client for r in rows if r.client}
    for _ in range(5):  # a merge chain is short; a loop in it stops here
        wanted -= set(known)
        if not wanted:
            break
        for uuid, label, merged, ward in session.execute(
            select(Entity.uuid, Entity.label, _prop("gop_vao"), _prop("ma_xa")).where(
                Entity.dataset_id == dataset_id, Entity.uuid.in_(sorted(wanted))
            )
        ):
            merged = str(merged).lower() if merged else None
            known[uuid] = (label, merged)
            ward_of[uuid] = ward
        wanted = {m for _, m in known.values() if m and m not in known}

    def survivor(uuid: str) -> str:
        seen = set()
        while uuid in known and known[uuid][1] and uuid not in seen:
            seen.add(uuid)
            uuid = known[uuid][1]
        return uuid

    out = []
    for r in rows:
        if r.client:
            client = survivor(r.client)
            if wards is not None and ward_of.get(client) not in wards:
                r = replace(r, client=None, client_label=None, extra={**r.extra, "elsewhere": True})
            else:
                r = replace(r, client=client, client_label=known.get(client, (None, None))[0])
        out.append(r)
    return out


def _day(text) -> date | None:
    try:
        return date.fromisoformat(str(text)[:10]) if text else None
    except ValueError:
        return None


_FIRST_DAY = date(1, 1, 1)  # an undated F4 or F7 sorts first, as the engine sorts it


# --- the five lists: each a query in order of urgency and how to read its rows -------------


def _overdue_referrals(session: Session, project_id: int, where: Where, today: date):
    f3, f4, first = aliased(IndicatorFact), aliased(IndicatorFact), aliased(IndicatorFact)
    outcomes = (f4.project_id == project_id, f4.form == indicators.F4, f4.live.is_(True),
                f4.referral == f3.referral)  # fmt: skip
    # a referral sent twice (two F3s naming one referral) is listed once, by the F3 received
    # first, the one the indicators read as its header
    earlier = exists().where(
        first.project_id == project_id, first.form == indicators.F3, first.live.is_(True),
        first.referral == f3.referral, first.submission_id < f3.submission_id,
    )  # fmt: skip
    latest = (
        select(f4.kq)
        .where(*outcomes)
        .order_by(func.coalesce(f4.day, _FIRST_DAY).desc(), f4.submission_id.desc())
        .limit(1)
        .correlate(f3)
        .scalar_subquery()
    )
    # indicators.overdue as SQL: no F4, or the latest one leaves it open; due before today
    query = (
        select(
            f3.referral,
            f3.client,
            f3.dv,
            f3.han,
            f3.day,
            f3.ma_xa,
            f3.instance_id,
            latest.label("kq"),
        )
        .where(
            f3.project_id == project_id,
            f3.form == indicators.F3,
            f3.live.is_(True),
            f3.referral.is_not(None),
            f3.han < today,
            ~earlier,
            or_(~exists().where(*outcomes), latest.in_(sorted(indicators.OPEN_OUTCOMES))),
        )
        .order_by(f3.han, f3.day, f3.referral)
    )
    if where.wards is not None:
        query = query.where(f3.ma_xa.in_(sorted(where.wards)))
    if where.ward:
        query = query.where(f3.ma_xa == where.ward)
    if where.site:
        query = query.where(
            f3.referral.in_(
                select(Entity.uuid).where(
                    Entity.dataset_id == _dataset_id(session, project_id, "referrals"),
                    _prop("co_so") == where.site,
                )
            )
        )

    def make(r) -> WorkRow:
        return WorkRow(
            r.client, None, r.ma_xa, r.han, r.dv, r.day, referral=r.referral,
            submission=(indicators.F3, r.instance_id), extra={"outcome": r.kq},
        )  # fmt: skip

    return query, make


def _post_rehab_unvisited(session: Session, project_id: int, where: Where, today: date) -> list:
    """Read whole (the ward's open post-rehab clients, and the day each was last met), sorted
    here: joined in SQL, PostgreSQL's planner misjudged the JSON filters and took seconds."""
    iso = today.isoformat()
    clients = session.execute(
        _clients_query(
            session,
            project_id,
            where,
            _prop("sau_cai") == "co",
            func.coalesce(_prop("trang_thai"), "mo") == "mo",
            or_(func.coalesce(_prop("qlsc_ket_thuc"), "") == "", _prop("qlsc_ket_thuc") >= iso),
        ).add_columns(_prop("qlsc_bat_dau").label("started"))
    ).all()
    fact = IndicatorFact
    merged = _merged_into(session, project_id)
    met: dict[str, date] = {}  # by the client after merges: a visit to a merged record counts
    for client, day in session.execute(
        select(fact.client, func.max(fact.day))
        .where(
            fact.project_id == project_id,
            fact.form == indicators.F5,
            fact.live.is_(True),
            fact.gap == "co",
            fact.client.is_not(None),
        )
        .group_by(fact.client)
    ):
        key, day = _survivor(merged, client), _day(day)
        if day is not None and (key not in met or day > met[key]):
            met[key] = day
    limit = today - timedelta(days=UNVISITED_DAYS)
    rows = []
    for r in clients:
        last = met.get(r.uuid)
        if last is not None and last >= limit:
            continue
        begin = last or _day(r.started)
        due = begin + timedelta(days=UNVISITED_DAYS) if begin else None
        rows.append(WorkRow(r.uuid, None, r.ward, due, None, last, extra={"visited": bool(last)}))
    return sorted(rows, key=lambda w: (w.day or _FIRST_DAY, w.client))


def _paused_or_lost(session: Session, project_id: int, where: Where, today: date) -> list:
    """Read whole: the paused and closed clients are few, and whether a closed one is lost
    is its latest F7's reason."""
    status = _prop("trang_thai")
    clients = session.execute(
        _clients_query(session, project_id, where, status.in_(("tam_dung", "dong"))).add_columns(
            status.label("status")
        )
    ).all()
    wanted = {r.uuid for r in clients}
    latest: dict[str, tuple] = {}
    fact = IndicatorFact
    for client, day, sid, reason in session.execute(
        select(fact.client, fact.day, fact.submission_id, fact.ly_do).where(
            fact.project_id == project_id,
            fact.form == indicators.F7,
            fact.live.is_(True),
            fact.client.is_not(None),
        )
    ):
        key = (day or _FIRST_DAY, sid)
        if client in wanted and (client not in latest or key > latest[client][0]):
            latest[client] = (key, reason, day)
    rows = []
    for r in clients:
        _key, reason, day = latest.get(r.uuid, (None, None, None))
        if r.status == "dong" and reason != LOST:
            continue
        what = "tam_dung" if r.status == "tam_dung" else LOST
        rows.append(WorkRow(r.uuid, None, r.ward, day, what, day, extra={"reason": reason}))
    return sorted(rows, key=lambda w: (w.day or _FIRST_DAY, w.client))


def _awaiting_review(session: Session, project_id: int, where: Where, today: date):
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

    def make(r) -> WorkRow:
        received = _aware(r.created_at).date() if r.created_at else None
        return WorkRow(
            r.client, None, r.ward, received, r.instance_name, _day(r.day),
            submission=(r.xml_form_id, r.instance_id), form_name=r.title or r.xml_form_id,
        )  # fmt: skip

    return query, make


def _aware(value) -> datetime:
    if not isinstance(value, datetime):  # SQLite gives text in a subquery
        value = datetime.fromisoformat(str(value))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _missed_appointments(session: Session, project_id: int, where: Where, today: date):
    query = (
        _clients_query(
            session,
            project_id,
            where,
            func.coalesce(_prop("trang_thai"), "mo") == "mo",
            func.coalesce(_prop("ngay_hen"), "") != "",
            _prop("ngay_hen") < today.isoformat(),
        )
        .add_columns(
            _prop("ngay_hen").label("due"),
            _prop("ngay_tiep_xuc_cuoi").label("contact"),
            _prop("ngay_tham_cuoi").label("visit"),
        )
        .order_by(_prop("ngay_hen"), Entity.uuid)
    )

    def make(r) -> WorkRow:
        last = max((d for d in (_day(r.contact), _day(r.visit)) if d), default=None)
        return WorkRow(r.uuid, None, r.ward, _day(r.due), None, last)

    return query, make


_PLANS = {
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
    sensitive = None
    if name == "overdue_referrals":  # the service is special (F3 marks it): folded on the page
        what = words.choice_label("dich_vu", row.what, language)
        sensitive = entity_views.sensitivity("referrals", "dich_vu")
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
        "clientElsewhere": bool(row.extra.get("elsewhere")),  # now in a ward not the caller's
        "whatSensitive": sensitive,
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
