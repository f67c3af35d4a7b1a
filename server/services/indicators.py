"""The programme's indicators (domain.md section 7), computed on request from the indicator
facts (services/indicator_facts) and the clients list, never from submission XML.

``report`` gives every code of the catalogue for a range of event dates and a scope, with
targets, breakdowns and the monthly trend, in the caller's wards, with small numbers
suppressed for callers who may not see them; ``records`` gives the clients, submissions or
referrals behind one number. docs/indicators.md gives every formula as implemented here:
keep the two in step.

How it computes: three indexed reads of the facts (the forms' rows of the trend window), one
read of the clients list; every indicator becomes a list of dated events (a person, a row or
a referral, with a flag and an amount), and a period's value is a slice of that list. A
computed report is kept (``_CACHE``) under a fingerprint of the facts, the clients list and
the plan, for at most ``CACHE_SECONDS``: a late submission changes a closed month on the next
request, or within that time if it was committed while a report was being computed ("asOf").
"""

from __future__ import annotations

import bisect
import copy
import gc
import re
import threading
import time
from collections import OrderedDict, defaultdict, namedtuple
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from operator import itemgetter
from typing import NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import Date, String, cast, func, select
from sqlalchemy.orm import Session

from server.auth.permissions import Principal, require, sees_small_numbers, ward_scope
from server.errors import InsufficientRights, NotFound, Problem
from server.models.entities import Dataset, Entity
from server.models.indicators import IndicatorFact, PlanTarget
from server.services import places, targets
from server.services.indicator_catalogue import (
    BY_CODE,
    CATALOGUE,
    COMBINED_SERVICES,
    SERVICE_CODES,
    T70_SERVICES,
)
from server.services.targets import Scope

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
SMALL = 5  # people counts 1..4 are "<5" for callers without sees_small_numbers
SUPPRESSED = "<5"
AGE_GROUPS = ("<18", "18-24", "25-34", "35-49", "50+")
UNKNOWN = "unknown"
TREND_MONTHS = 12  # at least the 12 months ending with the range's last month
OUTCOME_SLACK = timedelta(days=31)  # F4s dated a little before their referral still count
#: F7 reasons whose status is "dong" (closed): the form's calculate ``tt``.
CLOSING = frozenset(
    {"hoan_thanh_qlsc", "chuyen_di", "tu_choi", "mat_lien_lac", "tu_vong", "trung_ma"}
)
REOPENING = frozenset({"doi_dia_ban", "mo_lai", "vao_co_so", "tam_giu"})
EMPLOYED = frozenset({"co_viec", "thoi_vu"})  # F5 viec_lam: a job, seasonal work
SNAPSHOTS = frozenset({"I17:coverage", "DQ2", "DQ4"})  # the clients list now: no trend

F1, F2, F3, F4, F5, F6, F7 = (
    "f1_dang_ky",
    "f2_gap_go",
    "f3_chuyen_gui",
    "f4_ket_qua_cg",
    "f5_tham_nha",
    "f6_sinh_hoat",
    "f7_cap_nhat",
)
_COMMON = ("submission_id", "form", "instance_id", "client", "referral", "day", "ma_xa",
           "ma_tinh", "mo_hinh", "submitter_id")  # fmt: skip
#: The columns each form's rows are read with (dates as ISO text: compared as text, parsed only
#: where a number of days is added).
_FORM_COLUMNS = {
    F1: ("dong_y", "xu_ly_trung", "nguon_gioi_thieu"),
    F2: ("co_ma", "chu_de", "de_xuat_dv"),
    F3: ("dv", "han"),
    F4: ("dv", "kq", "nguon", "ngay_xn", "ngay_dv", "kq_hiv", "bat_dau", "ngay_bd", "tt_hoc",
         "tien_vay", "ngay_giai_ngan"),
    F5: ("gap", "sd_tu_bao", "viec_lam", "ho_tro_nhan", "clb", "tien_vay", "ngay_giai_ngan",
         "ngay_bd_hoc_nghe"),
    F6: ("n_tham_gia", "ds"),
    F7: ("ly_do", "gop_vao"),
}  # fmt: skip


def _columns(form: str, dialect: str) -> list:
    out = []
    for name in _COMMON + _FORM_COLUMNS[form]:
        col = IndicatorFact.__table__.c[name]
        out.append(cast(col, String).label(name) if isinstance(col.type, Date) else col)
    out.append(_late(dialect).label("late"))
    return out


#: A plain named tuple per form for the rows read: attribute access on it costs a tenth of a
#: SQLAlchemy Row's, and the counting reads a few attributes of every row many times.
_ROW_TYPES = {
    form: namedtuple(f"{form}_fact", (*_COMMON, *cols, "late"))
    for form, cols in _FORM_COLUMNS.items()
}


def _late(dialect: str):
    """DQ3's test in SQL: received more than 7 days after the event date (the receipt's date
    in Asia/Ho_Chi_Minh)."""
    fact = IndicatorFact.__table__.c
    if dialect == "sqlite":
        received = func.julianday(func.date(fact.received_at, "+7 hours"))
        return (received - func.julianday(fact.day)) > 7
    local = cast(func.timezone("Asia/Ho_Chi_Minh", fact.received_at), Date)
    return (local - fact.day) > 7


def plus_days(day: str, days: int) -> str:
    """An ISO date ``days`` later, as ISO text."""
    return (date.fromisoformat(day) + timedelta(days=days)).isoformat()


# --- periods -------------------------------------------------------------------------


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(day: date) -> date:
    nxt = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return nxt - timedelta(days=1)


def trend_months(first: date, last: date) -> list[date]:
    """The first days of the trend's months: every month of the range, and at least the
    TREND_MONTHS months ending with the month of ``last``."""
    end = month_start(last)
    start = month_start(first)
    back = end
    for _ in range(TREND_MONTHS - 1):
        back = month_start(back - timedelta(days=1))
    start = min(start, back)
    months, cursor = [], start
    while cursor <= end:
        months.append(cursor)
        cursor = month_end(cursor) + timedelta(days=1)
    return months


def today_local() -> date:
    return datetime.now(TZ).date()


def default_range(today: date | None = None) -> tuple[date, date]:
    """The range a request without from/to gets: the current month (Asia/Ho_Chi_Minh)."""
    today = today or today_local()
    return month_start(today), month_end(today)


class BadIndicatorQuery(Problem):
    code, status = "400.93", 400
    message = "The indicator query is not valid."


MAX_RANGE = timedelta(days=3 * 366)  # a request covers at most about three years
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True, slots=True)
class Query:
    first: date
    last: date
    scope: Scope
    cell: tuple[str, str] | None = None


def parse_query(args, today: date | None = None) -> Query:
    """The query string of the indicator routes (API, dashboard, report): ``from`` and
    ``to`` as YYYY-MM-DD (both absent: the current month; one absent: that day's month
    bound), ``ward``, ``province``, ``model``, and ``cell`` as kind:value. Raises
    BadIndicatorQuery (400) for a malformed date, from after to, a range over three years,
    or a malformed cell."""
    first, last = parse_day(args, "from"), parse_day(args, "to")
    if first is None and last is None:
        first, last = default_range(today)
    elif first is None:
        first = month_start(last)
    elif last is None:
        last = month_end(first)
    check_range(first, last)
    cell = None
    raw_cell = _text(args, "cell", 64)
    if raw_cell is not None:
        kind, sep, value = raw_cell.partition(":")
        if not sep or kind not in CELL_KINDS or not value:
            raise BadIndicatorQuery(
                "cell must be sex:<1|2>, ageGroup:<group>, group:<nhom> or month:YYYY-MM.",
                field="cell",
            )
        cell = (kind, value)
    return Query(first, last, scope_from(args), cell)


def parse_day(args, name: str) -> date | None:
    """The date a query key holds (YYYY-MM-DD), None when it is absent."""
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    if not _ISO_DAY.fullmatch(raw):
        raise BadIndicatorQuery(f"{name} must be a date as YYYY-MM-DD.", field=name)
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise BadIndicatorQuery(f"{name} is not a real date: {raw}.", field=name) from None


def check_range(first: date, last: date) -> None:
    """A range of event dates a request may ask for: from not after to, at most three years."""
    if first > last:
        raise BadIndicatorQuery("from must not be after to.", field="from")
    if last - first > MAX_RANGE:
        raise BadIndicatorQuery("The range may cover at most three years.", field="to")


def scope_from(args) -> Scope:
    """The province, ward and model a query names (their codes are checked by report())."""
    return Scope(_text(args, "province", 8), _text(args, "ward", 32), _text(args, "model", 32))


def _text(args, name: str, limit: int) -> str | None:
    raw = (args.get(name) or "").strip()
    if len(raw) > limit:
        raise BadIndicatorQuery(f"{name} is too long.", field=name)
    return raw or None


# --- loading ---------------------------------------------------------------------------


@dataclass(slots=True)
class Client:
    uuid: str
    label: str
    data: dict
    deleted: bool


@dataclass(slots=True)
class Referral:
    f3: object  # the F3 fact row
    client: str | None  # after merges
    service: str | None
    outcome: object | None = None  # the latest F4 fact row


class Ev(NamedTuple):
    """One dated event of an indicator: ``key`` is what is counted (a person's uuid after
    merges, or a row), ``fact`` the row it comes from (for the records behind a number).
    ``day`` is an ISO date."""

    day: str
    key: object
    person: str | None
    fact: object
    flag: bool = True
    amount: float = 0.0
    kind: str = "submission"  # what records() lists for it: submission | referral | client


_EV_DAY = itemgetter(0)  # Ev.day


@dataclass
class Series:
    kind: str  # people | count | sum | people_rate | event_rate | distinct | ratio
    events: list[Ev] = field(default_factory=list)
    # ratio: numerator count over distinct keys of a second series
    days: list[str] = field(default_factory=list)

    def seal(self) -> Series:
        self.events.sort(key=_EV_DAY)
        self.days = list(map(_EV_DAY, self.events))
        return self

    def within(self, first: str, last: str) -> list[Ev]:
        lo = bisect.bisect_left(self.days, first)
        hi = bisect.bisect_right(self.days, last)
        return self.events[lo:hi]


class Data:
    """The facts and clients a request counts, in scope, with merges resolved."""

    def __init__(
        self,
        session: Session,
        project_id: int,
        window: tuple[date, date],
        scope: Scope,
        wards: frozenset[str] | None,
    ):
        self.scope, self.wards = scope, wards
        self._post_rehab = self._closures = self._by_person = None
        self._active = self._caseload_base = None
        self._cells: dict = {}
        w0, w1 = window
        self.clients = _clients(session, project_id)
        self.merged = {
            c.uuid: str(c.data.get("gop_vao")).lower()
            for c in self.clients.values()
            if c.data.get("gop_vao")
        }
        conn = session.connection()  # Core rows: no ORM loading for the many facts
        dialect = conn.dialect.name
        by_form: dict[str, list] = {}

        def read(form: str, *where, scoped: bool = True) -> list:
            query = select(*_columns(form, dialect)).where(
                IndicatorFact.project_id == project_id,
                IndicatorFact.live.is_(True),
                IndicatorFact.form == form,
                *where,
            )
            if scoped:
                query = query.where(*self.scope_clauses())
            make = _ROW_TYPES[form]._make
            return [make(row) for row in conn.execute(query).all()]

        in_window = (IndicatorFact.day >= w0, IndicatorFact.day <= w1)
        for form in (F1, F2, F5, F6):
            by_form[form] = read(form, *in_window)
        scoped = bool(self.scope_clauses())
        # referrals: the cohorts' (to 30 days after the window, for I19), and older ones
        # whose outcomes fall in the window; a scope's older referrals are few: read them all
        later = IndicatorFact.day <= w1 + timedelta(days=30)
        by_form[F3] = read(F3, later) if scoped else read(F3, IndicatorFact.day >= w0, later)
        # outcomes: in the scope of their referral (below); F7: a client's status anywhere
        by_form[F4] = read(F4, IndicatorFact.day >= w0 - OUTCOME_SLACK, scoped=False)
        by_form[F7] = read(F7, IndicatorFact.day <= w1, scoped=False)
        if not scoped:
            named = {r.referral for r in by_form[F4] if r.referral}
            missing = named - {r.referral for r in by_form[F3] if r.referral}
            for chunk in _chunks(sorted(missing), 500):  # issued before the window
                by_form[F3] += read(F3, IndicatorFact.referral.in_(chunk))
        # the referrals read: an F4 naming another counts only where its own header is
        # (unscoped, an F4 without any F3; scoped, none: it belongs to another scope)
        self.known = {r.referral for r in by_form[F3]} if not scoped else None
        self.by_form = by_form
        self.referrals: dict[str, Referral] = {}
        for row in by_form[F3]:
            if row.referral and row.referral not in self.referrals:
                self.referrals[row.referral] = Referral(row, self.person(row.client), row.dv)
        for row in by_form[F4]:
            ref = self.referrals.get(row.referral)
            if ref is None:
                continue
            if ref.outcome is None or _later(row, ref.outcome):
                ref.outcome = row
            if ref.service is None:
                ref.service = row.dv

    # persons and scope

    def person(self, uuid: str | None) -> str | None:
        """A client after merges: follow gop_vao to the record it was merged into."""
        if not uuid:
            return None
        seen = {uuid}
        while uuid in self.merged:
            nxt = self.merged[uuid]
            if nxt in seen:
                break
            seen.add(nxt)
            uuid = nxt
        return uuid

    def scope_clauses(self) -> list:
        """The scope as SQL on the facts' own ward, province and model."""
        fact = IndicatorFact.__table__.c
        out = []
        if self.wards is not None:
            out.append(fact.ma_xa.in_(sorted(self.wards)))
        if self.scope.ward:
            out.append(fact.ma_xa == self.scope.ward)
        if self.scope.province:
            out.append(fact.ma_tinh == self.scope.province)
        if self.scope.model:
            out.append(fact.mo_hinh == self.scope.model)
        return out

    def in_scope(self, ward, province, model) -> bool:
        if self.wards is not None and ward not in self.wards:
            return False
        s = self.scope
        if s.ward and ward != s.ward:
            return False
        if s.province and province != s.province:
            return False
        return not (s.model and model != s.model)

    def row_in_scope(self, row) -> bool:
        return self.in_scope(row.ma_xa, row.ma_tinh, row.mo_hinh)

    def client_in_scope(self, client: Client) -> bool:
        d = client.data
        return self.in_scope(d.get("ma_xa"), d.get("ma_tinh"), d.get("mo_hinh"))

    def attrs(self, person: str | None) -> dict:
        c = self.clients.get(person or "")
        return c.data if c is not None else {}

    def rows(self, form: str) -> list:
        """The form's rows in scope (F1, F2, F3, F5, F6 were read in scope; F7 is not)."""
        rows = self.by_form.get(form, ())
        if form == F4:  # an outcome is in the scope of its referral
            return [
                r
                for r in rows
                if r.referral in self.referrals
                or (self.known is not None and r.referral not in self.known)
            ]
        return [r for r in rows if self.row_in_scope(r)] if form == F7 else rows

    def cohort(self) -> list[Referral]:
        """The referrals in scope (read in the scope of their F3: ward, province, model)."""
        return [r for r in self.referrals.values() if r.f3.day]

    def active(self) -> list[Client]:
        """The clients in scope, not deleted and not merged away (in the list's order)."""
        if self._active is None:
            self._active = [
                c
                for c in self.clients.values()
                if not c.deleted and c.uuid not in self.merged and self.client_in_scope(c)
            ]
        return self._active

    def post_rehab(self) -> list[Client]:
        """The post-rehab clients (sau_cai = co) in scope, not merged away."""
        if self._post_rehab is None:
            self._post_rehab = [c for c in self.active() if c.data.get("sau_cai") == "co"]
        return self._post_rehab

    def caseload_base(self) -> list[tuple[str, str, str | None, tuple]]:
        """The post-rehab clients with a start of management: (uuid, start, end as ISO text
        or None, their F7 status changes), read once per request for every period's I10."""
        if self._caseload_base is None:
            closed_on = self.closures()
            out = []
            for c in self.post_rehab():
                d = c.data
                begin = _iso(d.get("qlsc_bat_dau"))
                if begin is None:
                    continue
                end = _iso(d.get("qlsc_ket_thuc"))
                out.append((c.uuid, begin, end, closed_on.get(c.uuid, ())))
            self._caseload_base = out
        return self._caseload_base

    def cells(self, key, day: str) -> tuple:
        """A counted key's breakdown cells at ``day``: (sex, age group, groups), by person
        and year (the age is the year's difference)."""
        person = key if isinstance(key, str) else None
        ck = (person, day[:4])
        hit = self._cells.get(ck)
        if hit is None:
            attrs = self.attrs(person)
            hit = self._cells[ck] = (sex(attrs), age_group(attrs, day), groups(attrs))
        return hit

    def closures(self) -> dict[str, list[tuple[date, bool]]]:
        """Person -> the F7 status changes in date order: (day, True if it closes)."""
        if self._closures is None:
            out: dict[str, list[tuple[date, bool]]] = defaultdict(list)
            for r in sorted(self.by_form.get(F7, ()), key=lambda r: (r.day or "", r.submission_id)):
                if r.day and r.client and (r.ly_do in CLOSING or r.ly_do in REOPENING):
                    if r.ly_do == "trung_ma":
                        continue  # the duplicate leaves with its merge; its survivor stays
                    out[self.person(r.client)].append((r.day, r.ly_do in CLOSING))
            self._closures = out
        return self._closures

    def by_person_referrals(self) -> dict[str, list[Referral]]:
        if self._by_person is None:
            out: dict[str, list[Referral]] = defaultdict(list)
            for ref in self.referrals.values():
                if ref.client and ref.f3.day:
                    out[ref.client].append(ref)
            self._by_person = out
        return self._by_person


def _chunks(items: list, size: int):
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _later(a, b) -> bool:
    """True when F4 row ``a`` is later than ``b``: by event date, then by receipt order."""
    return (a.day or "", a.submission_id) > (b.day or "", b.submission_id)


def _clients(session: Session, project_id: int) -> dict[str, Client]:
    rows = session.execute(
        select(Entity.uuid, Entity.label, Entity.data, Entity.deleted_at)
        .join(Dataset, Dataset.id == Entity.dataset_id)
        .where(Dataset.project_id == project_id, Dataset.name == "clients")
    ).all()
    return {
        u: Client(u, label, data or {}, deleted is not None) for u, label, data, deleted in rows
    }


# --- events per indicator ---------------------------------------------------------------


#: F4 outcomes that leave a referral open: the client went but was not yet served, or not yet.
OPEN_OUTCOMES = frozenset({"da_den", "chua_den"})


def overdue(due: str | None, outcome, today: str) -> bool:
    """DQ1's rule for one referral (services/worklists writes the same rule as SQL, with
    OPEN_OUTCOMES, and tests/worklists compares the two): its
    F3's ``han`` (ISO text) is before ``today`` (ISO, Asia/Ho_Chi_Minh) and its latest F4
    (``outcome``, a fact row or None) has not closed it."""
    still_open = outcome is None or outcome.kq in OPEN_OUTCOMES
    return still_open and due is not None and due < today


def _served(ref: Referral) -> bool:
    return ref.outcome is not None and ref.outcome.kq == "da_nhan"


def _service_day(ref: Referral) -> date | None:
    o = ref.outcome
    return (o.ngay_dv or o.ngay_xn or o.day) if o is not None else None


def _has(text: str | None, choice: str) -> bool:
    return bool(text) and choice in text.split()


def build(data: Data) -> dict[str, Series]:
    """Every indicator's events (the parts that are a slice of dated events)."""
    s: dict[str, Series] = defaultdict(lambda: Series("people"))

    def add(code: str, kind: str, ev: Ev) -> None:
        series = s[code]
        series.kind = kind
        series.events.append(ev)

    f1, f2, f5, f6 = data.rows(F1), data.rows(F2), data.rows(F5), data.rows(F6)
    cohort = data.cohort()

    # I1, I2, I3, I19 (F1 and F2)
    for r in f1:
        person = data.person(r.client)
        if r.day is None:
            continue
        add("I2", "count", Ev(r.day, r.submission_id, person, r))
        if person and r.dong_y == "co":
            add("I1", "people", Ev(r.day, person, person, r))
            if r.xu_ly_trung != "huy":
                add("I3", "people", Ev(r.day, person, person, r))
        if r.nguon_gioi_thieu == "cong_an":
            key = person or ("row", r.submission_id)
            add("I19", "people", Ev(r.day, key, person, r))
            referred = person is not None and any(
                r.day <= ref.f3.day <= plus_days(r.day, 30)
                for ref in data.by_person_referrals().get(person, ())
            )
            add("I19:referred30", "people_rate", Ev(r.day, key, person, r, referred))
    for r in f2:
        if r.day is None:
            continue
        person = data.person(r.client) if r.co_ma != "khong" else None
        add("I2", "count", Ev(r.day, r.submission_id, person, r))
        if r.co_ma == "khong" or not r.client:
            add("I2:anonymous", "count", Ev(r.day, r.submission_id, None, r))
        elif r.chu_de or r.de_xuat_dv:
            add("I1", "people", Ev(r.day, person, person, r))

    # referral cohorts: I1, I4, I5, I6, I7, DQ1 (by ngay_chuyen, the F3's date)
    today = today_local().isoformat()
    positives: dict[str, date] = {}
    for ref in cohort:
        f3, person, dv = ref.f3, ref.client, ref.service
        day = f3.day
        if person:
            add("I1", "people", Ev(day, person, person, f3, kind="referral"))
            add("I4", "people", Ev(day, person, person, f3, kind="referral"))
            if dv in SERVICE_CODES:
                add(f"I4:{dv}", "people", Ev(day, person, person, f3, kind="referral"))
            for combined, (_, _, members) in COMBINED_SERVICES.items():
                if dv in members:
                    add(f"I4:{combined}", "people", Ev(day, person, person, f3, kind="referral"))
        done = _served(ref)
        served_on = _service_day(ref)
        in_time = done and served_on is not None and served_on <= plus_days(day, 30)
        verified = in_time and ref.outcome.nguon != "kh_bao"
        codes = ["I5"] + ([f"I5:{dv}"] if dv in SERVICE_CODES else [])
        codes += [f"I5:{c}" for c, (_, _, m) in COMBINED_SERVICES.items() if dv in m]
        for code in codes:
            add(
                code,
                "event_rate",
                Ev(
                    day, f3.submission_id, person, f3, in_time, 1.0 if verified else 0.0, "referral"
                ),
            )
        if person and dv in T70_SERVICES:
            add("I6", "people_rate", Ev(day, person, person, f3, done, kind="referral"))
        if person and dv == "xn_hiv":
            add("I7", "people", Ev(day, person, person, f3, kind="referral"))
            if done:
                add("I7:tested", "people", Ev(day, person, person, f3, kind="referral"))
                hiv = ref.outcome.kq_hiv
                if hiv == "duong_tinh":
                    add("I7:positive", "people", Ev(day, person, person, f3, kind="referral"))
                    positives.setdefault(person, served_on or day)
                    positives[person] = min(positives[person], served_on or day)
                elif hiv == "khong_chia_se":
                    add("I7:not_shared", "people", Ev(day, person, person, f3, kind="referral"))
        if overdue(f3.han, ref.outcome, today):
            add("DQ1", "count", Ev(day, f3.submission_id, person, f3, kind="referral"))
    # I7 linked: a positive person of the cohort with ARV started within 30 days
    arv_starts: dict[str, list[date]] = defaultdict(list)
    for ref in data.referrals.values():
        o = ref.outcome
        if ref.service == "arv" and o is not None and o.bat_dau == "co" and ref.client:
            arv_starts[ref.client].append(o.ngay_bd or o.ngay_dv or o.day)
    for ev in list(s["I7:positive"].events):
        pos = positives.get(ev.person)
        if pos and any(
            d is not None and d <= plus_days(pos, 30) for d in arv_starts.get(ev.person, ())
        ):
            add("I7:linked", "people", Ev(ev.day, ev.key, ev.person, ev.fact, kind="referral"))

    # outcomes by their own dates: I8, I9, I13, I14, I15, I16, I17 (the referral's scope)
    loans: dict[tuple, Ev] = {}
    for ref in cohort:
        o, person, dv = ref.outcome, ref.client, ref.service
        if o is None or not person:
            continue
        if dv in ("prep", "mmt") and o.kq == "da_nhan" and o.bat_dau == "co":
            start = o.ngay_bd or o.ngay_dv or o.day
            if start:
                add("I8" if dv == "prep" else "I9", "people", Ev(start, person, person, o))
        served_on = _service_day(ref)
        if o.kq == "da_nhan" and served_on:
            if dv == "viec_lam":
                add("I13", "people", Ev(served_on, person, person, o))
            elif dv == "hoc_nghe":
                add("I15", "people", Ev(served_on, person, person, o))
            elif dv == "hoc_van_hoa" and _aged(data, person, served_on, 12, 18):
                add("I16", "people", Ev(served_on, person, person, o))
            elif dv == "bhyt":
                add("I17", "people", Ev(served_on, person, person, o))
            elif dv == "vay_von":
                paid = o.ngay_giai_ngan or served_on
                loans[(person, paid)] = Ev(paid, person, person, o, amount=o.tien_vay or 0.0)
        if dv == "hoc_nghe" and o.tt_hoc == "hoan_thanh":
            done_on = o.ngay_xn or o.day
            if done_on:
                add("I15:completed", "people", Ev(done_on, person, person, o))

    # F5 home visits: I11, I12, I13, I14, I15, I16, I18, I20
    for r in f5:
        if r.day is None:
            continue
        person = data.person(r.client)
        add("I11:visits", "count", Ev(r.day, r.submission_id, person, r))
        add("I11:met", "event_rate", Ev(r.day, r.submission_id, person, r, r.gap == "co"))
        if r.submitter_id is not None:
            add("I20", "distinct", Ev(r.day, r.submitter_id, person, r))
        if not person or r.gap != "co":
            continue
        if r.sd_tu_bao in ("co", "khong"):
            add("I12", "people_rate", Ev(r.day, person, person, r, r.sd_tu_bao == "co"))
        elif r.sd_tu_bao == "khong_tra_loi":
            add("I12:no_answer", "people", Ev(r.day, person, person, r))
        support = r.ho_tro_nhan
        if _has(support, "viec_lam"):
            add("I13", "people", Ev(r.day, person, person, r))
        if _has(support, "vay_von"):
            paid = r.ngay_giai_ngan or r.day
            loans.setdefault((person, paid), Ev(paid, person, person, r, amount=r.tien_vay or 0.0))
        if _has(support, "hoc_nghe"):
            add("I15", "people", Ev(r.ngay_bd_hoc_nghe or r.day, person, person, r))
        if _has(support, "hoc_van_hoa") and _aged(data, person, r.day, 12, 18):
            add("I16", "people", Ev(r.day, person, person, r))
        if r.clb == "co":
            add("I18:people", "people", Ev(r.day, person, person, r))
    for ev in loans.values():
        add("I14", "people", ev)
        add("I14:loans", "count", Ev(ev.day, (ev.person, ev.day), ev.person, ev.fact))
        add(
            "I14:amount",
            "sum",
            Ev(ev.day, (ev.person, ev.day), ev.person, ev.fact, amount=ev.amount),
        )

    # F6 group sessions: I18
    for r in f6:
        if r.day is None:
            continue
        add("I18", "count", Ev(r.day, r.submission_id, None, r))
        add(
            "I18:attendances",
            "sum",
            Ev(r.day, r.submission_id, None, r, amount=float(r.n_tham_gia or 0)),
        )
        for uuid in (r.ds or "").split():
            person = data.person(uuid)
            add("I18:people", "people", Ev(r.day, person, person, r))

    # DQ3: every fact row by its event date (lateness tested in SQL)
    late = s["DQ3"]
    late.kind = "event_rate"
    for form in (F1, F2, F3, F4, F5, F6, F7):
        rows = [r.f3 for r in cohort] if form == F3 else data.rows(form)
        for r in rows:
            if r.day is not None:
                late.events.append(Ev(r.day, r.submission_id, r.client, r, bool(r.late)))
    for code in ("I2", "I2:anonymous", "I11:visits", "I14:loans", "I18", "DQ1"):
        s[code].kind = "count"
    return {code: series.seal() for code, series in s.items()}


def _aged(data: Data, person: str | None, day: date, low: int, high: int) -> bool:
    age = _age(data.attrs(person), day)
    return age is not None and low <= age < high


def _age(attrs: dict, day: date) -> int | None:
    try:
        return int(day[:4]) - int(str(attrs.get("nam_sinh") or "")[:4])
    except ValueError:
        return None


def age_group(attrs: dict, day: date) -> str:
    age = _age(attrs, day)
    if age is None or age < 0:
        return UNKNOWN
    if age < 18:
        return "<18"
    if age < 25:
        return "18-24"
    if age < 35:
        return "25-34"
    if age < 50:
        return "35-49"
    return "50+"


def sex(attrs: dict) -> str:
    value = str(attrs.get("gioi") or "")
    return value if value in ("1", "2") else UNKNOWN


def groups(attrs: dict) -> list[str]:
    return str(attrs.get("nhom") or "").split() or [UNKNOWN]


# --- values of a period -------------------------------------------------------------------


@dataclass
class Value:
    value: float | int | None
    numerator: float | int | None = None
    denominator: float | int | None = None
    people: bool = False  # numerator/denominator/value count people (suppressible)
    firsts: dict | None = None  # person -> first event day in the period (breakdowns)
    counted: list[Ev] = field(default_factory=list)  # the records behind it
    extra: dict = field(default_factory=dict)
    num_keys: set | None = None  # a rate's numerator (its denominator: ``firsts``)


def _pct(num, den) -> float | None:
    if not den:
        return None
    return float(Decimal(num * 100 / den).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def evaluate(series: Series | None, kind: str, first: str, last: str) -> Value:
    events = series.within(first, last) if series is not None else []
    if kind == "people":
        firsts: dict = {}
        counted = []
        for e in events:
            if e.key not in firsts:
                firsts[e.key] = e.day
                counted.append(e)
        extra = {}
        if events and events[0].kind == "referral":
            extra["referrals"] = len(events)  # count(R(P)) beside the people
        return Value(len(firsts), people=True, firsts=firsts, counted=counted, extra=extra)
    if kind == "count":
        return Value(len(events), counted=events)
    if kind == "sum":
        total = sum(e.amount for e in events)
        return Value(round(total, 3), counted=events)
    if kind == "distinct":
        seen = {}
        for e in events:
            seen.setdefault(e.key, e)
        return Value(len(seen), counted=list(seen.values()))
    if kind == "people_rate":
        den: dict = {}
        num: set = set()
        for e in events:
            den.setdefault(e.key, e)
            if e.flag:
                num.add(e.key)
        return Value(
            _pct(len(num), len(den)),
            len(num),
            len(den),
            people=True,
            firsts={k: e.day for k, e in den.items()},
            counted=list(den.values()),
            num_keys=num,
        )
    if kind == "event_rate":
        num = sum(1 for e in events if e.flag)
        extra = {}
        if series is not None and any(e.kind == "referral" for e in events):
            verified = int(sum(e.amount for e in events))
            extra = {"verified": verified, "selfReported": num - verified}
        return Value(_pct(num, len(events)), num, len(events), counted=events, extra=extra)
    raise ValueError(kind)


def special(code: str, data: Data, built: dict[str, Series], first: str, last: str) -> Value:
    """The indicators that are not a slice of events: caseloads and snapshots."""
    if code == "I10":
        persons = caseload(data, first, last)
        firsts = dict.fromkeys(persons, first)
        return Value(
            len(persons),
            people=True,
            firsts=firsts,
            counted=[Ev(first, p, p, None, kind="client") for p in sorted(persons)],
        )
    if code == "I11":
        persons = caseload(data, first, last)
        visited = {
            e.person for e in built.get("I11:met", Series("x")).within(first, last) if e.flag
        }
        met = persons & visited
        return Value(
            _pct(len(met), len(persons)),
            len(met),
            len(persons),
            people=True,
            firsts=dict.fromkeys(persons, first),
            num_keys=met,
            counted=[Ev(first, p, p, None, p in met, kind="client") for p in sorted(persons)],
        )
    if code == "I13:employed":
        latest: dict[str, Ev] = {}
        for e in built.get("I11:met", Series("x")).within(first, last):
            r = e.fact
            if e.person and r.gap == "co" and r.viec_lam:
                old = latest.get(e.person)
                if old is None or (r.day, r.submission_id) >= (
                    old.fact.day,
                    old.fact.submission_id,
                ):
                    latest[e.person] = e
        counted = [e for e in latest.values() if e.fact.viec_lam in EMPLOYED]
        firsts = {e.person: e.day for e in counted}
        return Value(len(counted), people=True, firsts=firsts, counted=counted)
    if code == "I17:coverage":
        active = [c for c in data.active() if c.data.get("trang_thai") == "mo"]
        insured = {c.uuid for c in active if c.data.get("co_bhyt") == "co"}
        return Value(
            _pct(len(insured), len(active)),
            len(insured),
            len(active),
            people=True,
            firsts={c.uuid: last for c in active},
            num_keys=insured,
            counted=[
                Ev(last, c.uuid, c.uuid, None, c.uuid in insured, kind="client") for c in active
            ],
        )
    if code == "DQ2":
        by_uic: dict[str, list[Client]] = defaultdict(list)
        for c in data.active():
            uic = c.data.get("uic")
            if uic and c.data.get("trang_thai", "mo") == "mo":
                by_uic[uic].append(c)
        pairs = sum(len(v) * (len(v) - 1) // 2 for v in by_uic.values())
        return Value(
            pairs,
            counted=[
                Ev(last, c.uuid, c.uuid, None, kind="client")
                for v in by_uic.values()
                if len(v) > 1
                for c in v
            ],
        )
    if code == "DQ4":
        known = _ward_codes()
        stale = [c for c in data.active() if c.data.get("ma_xa") not in known]
        return Value(
            len(stale), counted=[Ev(last, c.uuid, c.uuid, None, kind="client") for c in stale]
        )
    if code == "I20:visits_per_volunteer":
        visits = len(built.get("I11:visits", Series("x")).within(first, last))
        volunteers = evaluate(built.get("I20"), "distinct", first, last).value
        value = (
            float(Decimal(visits / volunteers).quantize(Decimal("0.1"), ROUND_HALF_UP))
            if volunteers
            else None
        )
        return Value(value, visits, volunteers or None)
    raise KeyError(code)


_SPECIAL = {"I10", "I11", "I13:employed", "I17:coverage", "DQ2", "DQ4", "I20:visits_per_volunteer"}


def _ward_codes() -> frozenset[str]:
    return frozenset(p.code for p in places.wards())


def caseload(data: Data, first: str, last: str) -> set[str]:
    """I10's A(P): post-rehab clients under management in [first, last] and in scope."""
    out = set()
    for uuid, begin, end, changes in data.caseload_base():  # ISO text, compared as text
        if begin > last or (end is not None and end < first):
            continue
        if changes and _closed_before(changes, first):
            continue
        out.add(uuid)
    return out


def _closed_before(changes, day: date) -> bool:
    """True when the client's last F7 before ``day`` closed the record."""
    state = None
    for when, closes in changes:
        if when < day:
            state = closes
    return bool(state)


def _iso(text) -> str | None:
    text = str(text or "")[:10]
    return text if len(text) == 10 else None


def value_of(code: str, data: Data, built: dict[str, Series], first: str, last: str) -> Value:
    if code in _SPECIAL:
        return special(code, data, built, first, last)
    entry = BY_CODE[code]
    series = built.get(code)
    kind = series.kind if series is not None else _default_kind(entry)
    return evaluate(series, kind, first, last)


def _default_kind(entry) -> str:
    if entry.unit == "percent":
        return "people_rate" if entry.people else "event_rate"
    if entry.unit in ("million_vnd", "attendances"):
        return "sum"
    if entry.unit == "volunteers":
        return "distinct"
    return "people" if entry.people else "count"


# --- the report -----------------------------------------------------------------------


def _effective_scope(principal: Principal, project_id: int, scope: Scope):
    """The scope the figures cover (a one-ward caller's ward when none is asked) and the
    caller's wards; an unknown code or another ward is refused, for every edge at once."""
    targets.check_scope(scope)
    wards = ward_scope(principal, "indicator.read", project_id)
    if wards is not None and scope.ward and scope.ward not in wards:
        # the page, the report and the API alike: told no, not shown their own wards instead
        raise InsufficientRights("This commune/ward is not one of yours.")
    if wards is not None and len(wards) == 1 and not scope.ward:
        # one ward's supervisor: the figures are that ward's, measured against its plan
        scope = Scope(scope.province, next(iter(wards)), scope.model)
    return scope, wards


def _covered(scope: Scope, wards: frozenset[str] | None) -> frozenset[str] | None:
    """The wards a request's figures cover (None: the whole project, every ward)."""
    if scope.ward:
        return frozenset({scope.ward})
    return wards


def _window(first: date, last: date) -> tuple[date, date]:
    months = trend_months(first, last)
    return min(first, months[0]), max(last, month_end(months[-1]))


def report(
    session: Session,
    principal: Principal,
    project_id: int,
    first: date,
    last: date,
    scope: Scope,
) -> dict:
    """Every indicator of the catalogue for event dates in [first, last] (the API's JSON)."""
    require(principal, "indicator.read", project_id)
    if first > last:
        raise BadIndicatorQuery("from must not be after to.", field="from")
    scope, wards = _effective_scope(principal, project_id, scope)
    full = sees_small_numbers(principal, project_id, _covered(scope, wards))
    key = (
        project_id, first, last, scope, wards, full, today_local(),
        fingerprint(session, project_id),
    )  # fmt: skip
    now = time.monotonic()
    with _CACHE_LOCK:
        kept = _CACHE.get(key)
        if kept is not None and now - kept[0] > CACHE_SECONDS:
            del _CACHE[key]
            kept = None
        if kept is not None:
            _CACHE.move_to_end(key)
    if kept is not None:
        return copy.deepcopy(kept[1])
    body = _compute(session, project_id, first, last, scope, wards, full)
    body["suppressed"] = not full  # small numbers are "<5" and no records are listed
    with _CACHE_LOCK:
        _CACHE[key] = (now, body)
        while len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)
    return copy.deepcopy(body)


#: Computed reports by everything they depend on: the request, the caller's wards and rights,
#: the day (DQ1 compares with today), and ``fingerprint`` (the facts, the clients list and the
#: plan as they are now). A late submission, an edit, a delete, a merge or a new target
#: changes the fingerprint, so a closed month is recomputed on the next request. The
#: fingerprint is read when the computation starts: a change committed while it runs, with a
#: clock earlier than the last one seen (two writers), could hide behind it, so nothing is
#: kept longer than CACHE_SECONDS.
CACHE_SIZE = 64
CACHE_SECONDS = 60
_CACHE: OrderedDict = OrderedDict()
_CACHE_LOCK = threading.Lock()


def fingerprint(session: Session, project_id: int) -> tuple:
    """What says whether a computed report is still current: the count and last change of
    the project's facts, the clients list's last change, the plan's count and last change."""
    facts = session.execute(
        select(func.count(), func.max(IndicatorFact.changed_at)).where(
            IndicatorFact.project_id == project_id
        )
    ).one()
    clients = session.scalar(
        select(Dataset.changed_at).where(
            Dataset.project_id == project_id, Dataset.name == "clients"
        )
    )
    plan = session.execute(
        select(func.count(), func.max(PlanTarget.updated_at)).where(
            PlanTarget.project_id == project_id
        )
    ).one()
    return (facts[0], facts[1], clients, plan[0], plan[1])


_GC_LOCK = threading.Lock()
_GC_HOLDERS = 0
_GC_WAS_ENABLED = True


@contextmanager
def _no_gc():
    """The cyclic garbage collector paused while a report is counted: the counting makes
    hundreds of thousands of small tuples (rows, events) that hold no cycles, and each
    generation-0 overflow would otherwise set off collections that walk the whole growing
    heap (measured: about a third of a cold report's time at 200,000 facts). A counter, so
    that concurrent requests in threads resume collection only when the last one ends."""
    global _GC_HOLDERS, _GC_WAS_ENABLED
    with _GC_LOCK:
        if _GC_HOLDERS == 0:
            _GC_WAS_ENABLED = gc.isenabled()
        _GC_HOLDERS += 1
        gc.disable()
    try:
        yield
    finally:
        with _GC_LOCK:
            _GC_HOLDERS -= 1
            if _GC_HOLDERS == 0 and _GC_WAS_ENABLED:
                gc.enable()


def _compute(session, project_id, first, last, scope, wards, full) -> dict:
    with _no_gc():
        return _compute_report(session, project_id, first, last, scope, wards, full)


def _compute_report(session, project_id, first, last, scope, wards, full) -> dict:
    data = Data(session, project_id, _window(first, last), scope, wards)
    built = build(data)
    plan = targets.planned(session, project_id, first, last, scope)
    if wards is not None and (scope.ward is None or scope.ward not in wards):
        plan = {}  # several wards of a larger scope: no plan measures just those wards
    months = trend_months(first, last)
    out = []
    i1 = None
    f, t = first.isoformat(), last.isoformat()
    for entry in CATALOGUE:
        v = value_of(entry.code, data, built, f, t) if entry.code != "I1a" else None
        if entry.code == "I1":
            i1 = v
        out.append(_entry(entry, v, plan, full, data, built, months, i1))
    return {
        "asOf": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "from": first.isoformat(),
        "to": last.isoformat(),
        "scope": scope.as_json(),
        "indicators": out,
    }


def _suppress(n, people: bool, full: bool):
    if people and not full and isinstance(n, int) and 0 < n < SMALL:
        return SUPPRESSED
    return n


def _entry(entry, v: Value | None, plan, full, data, built, months, i1) -> dict:
    match = plan.get(entry.code)
    target = match.planned if match is not None else None
    result = {
        "code": entry.code,
        "name": {"vi": entry.name_vi, "en": entry.name_en},
        "unit": entry.unit,
        "people": entry.people,
        "value": None,
        "target": _number(target),
        "percent": None,
        "numerator": None,
        "denominator": None,
        "breakdown": {"sex": {}, "ageGroup": {}, "group": {}},
        "trend": [],
    }
    if match is not None:
        result["targetPeriod"] = match.kind
        result["targetCovering"] = match.covering
    if entry.code == "I1a":
        i1_target = plan.get("I1")
        shown = _suppress(i1.value, True, full)
        if i1_target is not None and shown != SUPPRESSED:
            pct = _pct(i1.value, i1_target.planned)
            result.update(
                value=pct, percent=pct, numerator=i1.value, denominator=_number(i1_target.planned)
            )
        elif i1_target is not None:
            result.update(numerator=SUPPRESSED, denominator=_number(i1_target.planned))
        result["trend"] = [{"month": m.strftime("%Y-%m"), "value": None} for m in months]
        return result
    rate = entry.unit == "percent"
    people = entry.people
    if rate:
        num = _suppress(v.numerator, people, full)
        den = _suppress(v.denominator, people, full)
        hidden = SUPPRESSED in (num, den)
        result.update(
            value=None if hidden else v.value,
            numerator=num,
            denominator=den,
            percent=None if hidden else v.value,
        )
    else:
        shown = _suppress(v.value, people, full)
        result["value"] = shown
        result["numerator"] = v.numerator if v.numerator is not None else shown
        result["denominator"] = (
            _suppress(v.denominator, people, full) if v.denominator is not None else _number(target)
        )
        if target and shown != SUPPRESSED and shown is not None:
            result["percent"] = _pct(v.value, target)
    hidden_value = SUPPRESSED in (result["value"], result["numerator"], result["denominator"])
    for k, val in v.extra.items():
        # counts beside a hidden value (referrals, verified) would give it away
        result[k] = SUPPRESSED if hidden_value and not full else _suppress(val, True, full)
    if v.firsts is not None:
        result["breakdown"] = _breakdown(v.firsts, data, people, full, v.num_keys if rate else None)
    if entry.code not in SNAPSHOTS:
        trend = []
        for m in months:
            tv = value_of(entry.code, data, built, m.isoformat(), month_end(m).isoformat())
            if rate:
                hidden = SUPPRESSED in (
                    _suppress(tv.numerator, people, full),
                    _suppress(tv.denominator, people, full),
                )
                trend.append({"month": m.strftime("%Y-%m"), "value": None if hidden else tv.value})
            else:
                trend.append(
                    {"month": m.strftime("%Y-%m"), "value": _suppress(tv.value, people, full)}
                )
        result["trend"] = trend
    return result


def _number(x):
    if x is None:
        return None
    return int(x) if float(x).is_integer() else x


def _breakdown(firsts: dict, data: Data, people: bool, full: bool, num_keys=None) -> dict:
    """People by sex, age group (at their first event of the period) and client group (a
    person counts in each of their groups); for a rate (``num_keys``), the rate in each cell,
    null where its numerator or denominator is a suppressed count."""
    cells: dict[str, dict[str, list[int]]] = {"sex": {}, "ageGroup": {}, "group": {}}
    by_sex, by_age, by_group = cells["sex"], cells["ageGroup"], cells["group"]
    for key, day in firsts.items():
        s, a, gs = data.cells(key, day)
        hit = num_keys is not None and key in num_keys
        for table, value in ((by_sex, s), (by_age, a)):
            cell = table.get(value)
            if cell is None:
                cell = table[value] = [0, 0]
            cell[0] += 1
            cell[1] += hit
        for value in gs:
            cell = by_group.get(value)
            if cell is None:
                cell = by_group[value] = [0, 0]
            cell[0] += 1
            cell[1] += hit

    def shown(den: int, num: int):
        if num_keys is None:
            return _suppress(den, people, full)
        if SUPPRESSED in (_suppress(den, people, full), _suppress(num, people, full)):
            return None
        return _pct(num, den)

    out = {kind: {k: shown(*counts[k]) for k in sorted(counts)} for kind, counts in cells.items()}
    if not full:
        for kind in ("sex", "ageGroup"):  # cells that add up to the value
            row = out[kind]
            if any(val == SUPPRESSED or val is None for val in row.values()):
                # one hidden cell is the value minus the others: withhold them (null)
                out[kind] = {k: (val if val == SUPPRESSED else None) for k, val in row.items()}
    return out


# --- the records behind a number --------------------------------------------------------

CELL_KINDS = ("sex", "ageGroup", "group", "month")


def records(
    session: Session,
    principal: Principal,
    project_id: int,
    code: str,
    first: date,
    last: date,
    scope: Scope,
    cell: tuple[str, str] | None = None,
) -> list[dict]:
    """The clients, submissions or referrals one number counts, in the caller's wards.
    ``cell`` narrows to a breakdown cell (("sex", "1"), ("ageGroup", "18-24"), ("group",
    "sd_mt")) or a trend month (("month", "2026-01")). Raises NotFound for an unknown code,
    InsufficientRights unless the caller may list records (indicator.records) and sees every
    number of the wards the figures cover."""
    require(principal, "indicator.records", project_id)
    if code not in BY_CODE or code == "I1a":
        raise NotFound(f"There is no indicator {code}.")
    if cell is not None and cell[0] not in CELL_KINDS:
        raise NotFound(f"There is no cell {cell[0]}.")
    scope, wards = _effective_scope(principal, project_id, scope)
    if not sees_small_numbers(principal, project_id, _covered(scope, wards)):
        # a list's length, dates, wards and flags would give away what "<5" hides
        raise InsufficientRights(
            "The records behind the figures are shown to managers and supervisors only."
        )
    if cell is not None and cell[0] == "month":
        try:
            start = datetime.strptime(cell[1], "%Y-%m").date()
        except ValueError:
            raise NotFound(f"There is no month {cell[1]}.") from None
        first, last = start, month_end(start)
    with _no_gc():
        data = Data(session, project_id, _window(first, last), scope, wards)
        built = build(data)
        v = value_of(code, data, built, first.isoformat(), last.isoformat())
    counted = v.counted
    if cell is not None and cell[0] != "month":
        kind, wanted = cell
        keep = []
        for e in counted:
            attrs = data.attrs(e.person)
            values = {
                "sex": [sex(attrs)],
                "ageGroup": [age_group(attrs, e.day)],
                "group": groups(attrs),
            }[kind]
            if wanted in values:
                keep.append(e)
        counted = keep
    entry = BY_CODE[code]
    out = [{**_record(e, data), "clientUuid": e.person} for e in counted]
    if entry.unit == "percent":
        for e, row in zip(counted, out, strict=True):
            row["inNumerator"] = (e.key in v.num_keys) if v.num_keys is not None else e.flag
    return out


def _record(e: Ev, data: Data) -> dict:
    if e.kind == "client" or e.fact is None:
        client = data.clients.get(e.person or "")
        d = client.data if client is not None else {}
        return {
            "kind": "client",
            "formId": None,
            "instanceId": None,
            "entityUuid": e.person,
            "label": client.label if client is not None else None,
            "date": e.day,
            "ward": d.get("ma_xa"),
        }
    r = e.fact
    if e.kind == "referral":
        return {
            "kind": "referral",
            "formId": r.form,
            "instanceId": r.instance_id,
            "entityUuid": r.referral,
            "label": _client_label(data, e.person),
            "date": r.day,
            "ward": r.ma_xa,
        }
    return {
        "kind": "submission",
        "formId": r.form,
        "instanceId": r.instance_id,
        "entityUuid": e.person,
        "label": _client_label(data, e.person),
        "date": e.day,
        "ward": r.ma_xa,
    }


def _client_label(data: Data, person: str | None) -> str | None:
    client = data.clients.get(person or "")
    return client.label if client is not None else None
