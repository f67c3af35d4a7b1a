"""Clients and referrals as people and slips, not submissions: one client's current properties
and history (registration, contacts, referrals with their outcomes, visits, group sessions,
status changes) read from the indicator facts, one referral with its outcomes, and the client
and title a submission names. The scope rule lives here, once, for the web page and the API:
a client or referral outside the caller's wards is not found, and a history row from a ward
outside them is counted, never shown. Every look is audited. Never touches Flask."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from server.auth.permissions import Principal, require, ward_scope
from server.errors import NotFound
from server.models.entities import Dataset, Entity
from server.models.indicators import IndicatorFact
from server.models.submissions import Submission, SubmissionVersion
from server.services import audit, entities
from server.services.client_labels import ShownProperty, Vocabulary, day_text

CLIENTS, REFERRALS, FACILITIES = "clients", "referrals", "facilities"
F3, F4, F6, F7 = "f3_chuyen_gui", "f4_ket_qua_cg", "f6_sinh_hoat", "f7_cap_nhat"


@dataclass(frozen=True, slots=True)
class Linked:
    """Another client or referral a page names: its uuid, and its label when the caller may
    open it (None: outside the caller's wards, or gone)."""

    uuid: str | None  # None with the label: the caller is not told which record it is
    label: str | None


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One submission in a client's or referral's history."""

    day: date | None  # the event date the form gives (``ngay``)
    received_at: datetime
    xml_form_id: str
    form_title: str
    instance_id: str
    title: str | None  # the submission's instance name (a form's names carry no special answer)
    summary: str  # what happened, in labels (a service, an outcome, a reason)
    sensitive: str | None  # the summary's question is special: folded on the page
    review_state: str | None
    referral: str | None = None  # F3, F4: the referral's uuid
    due: date | None = None  # F3: the date the outcome is due
    attendees: int | None = None  # F6
    merged_into: Linked | None = None  # F7 with reason "duplicate"


@dataclass(frozen=True, slots=True)
class ClientHistory:
    project_id: int
    uuid: str
    label: str
    ward: str | None
    ward_label: str | None
    properties: list[ShownProperty]
    history: list[HistoryRow]
    hidden: int  # submissions about the client in wards outside the caller's
    merged_into: Linked | None
    merged_from: list[Linked]


def client_history(
    session: Session, principal: Principal, project_id: int, client_id: str, language: str
) -> ClientHistory:
    """A client's page: properties with labels and history in time order; audited.

    Raises NotFound for a client that does not exist or lies outside the caller's wards (the
    same answer, so that another ward's client is not told to exist).
    """
    dataset, entity = _entity_in_scope(session, principal, project_id, CLIENTS, client_id)
    words = Vocabulary(session, project_id, language)
    facts = _client_facts(session, project_id, entity.uuid)
    rows, hidden = _visible(principal, project_id, facts)
    linked = _labels(session, principal, project_id, _uuids_named(entity.data, rows))
    history = [_row(words, fact, name, state, linked) for fact, _w, state, name in rows]
    merged_into = entity.data.get("gop_vao") or None
    merged_from = list(  # no DISTINCT: it would lead SQLite to scan the client index
        dict.fromkeys(
            session.scalars(
                select(IndicatorFact.client).where(
                    IndicatorFact.project_id == project_id,
                    IndicatorFact.form == F7,
                    IndicatorFact.gop_vao == entity.uuid,
                    IndicatorFact.live,
                )
            )
        )
    )
    from_labels = _labels(session, principal, project_id, [c for c in merged_from if c])
    audit.record(
        session,
        principal.actor_id,
        "client.read",
        "entity",
        entity.id,
        {"uuid": entity.uuid, "rows": len(history), "hidden": hidden},
    )
    ward = entity.data.get(dataset.scope_property or "ma_xa")
    return ClientHistory(
        project_id=project_id,
        uuid=entity.uuid,
        label=entity.label,
        ward=ward,
        ward_label=words.ward(ward) if ward else None,
        properties=words.properties(
            CLIENTS, entities.properties_of(session, dataset.id), entity.data, linked
        ),
        history=history,
        hidden=hidden,
        merged_into=_link(merged_into, linked) if merged_into else None,
        merged_from=[_link(c, from_labels) for c in merged_from if c],
    )


@dataclass(frozen=True, slots=True)
class ReferralView:
    project_id: int
    uuid: str
    label: str
    client: Linked | None
    service: str
    service_sensitive: str | None
    facility: str
    referred_on: str  # dd/mm/yyyy
    due: str
    status: str
    properties: list[ShownProperty]
    slip: HistoryRow | None  # the F3 submission that made it
    outcomes: list[HistoryRow]  # its F4 submissions, in time order
    hidden: int


def referral_detail(
    session: Session, principal: Principal, project_id: int, referral_id: str, language: str
) -> ReferralView:
    """A referral's page, found by its entity uuid or by its F3 submission's instanceID:
    service, dates, due date, outcomes and its client; audited. Raises NotFound as
    ``client_history`` does."""
    wanted = referral_id
    if referral_id.lower().startswith("uuid:"):  # an F3 instanceID names the slip
        made = session.scalar(
            select(IndicatorFact.referral).where(
                IndicatorFact.project_id == project_id,
                IndicatorFact.form == F3,
                IndicatorFact.instance_id == referral_id,
            )
        )
        wanted = made or referral_id
    dataset, entity = _entity_in_scope(session, principal, project_id, REFERRALS, wanted)
    words = Vocabulary(session, project_id, language)
    facts = _query(session, project_id, IndicatorFact.referral == entity.uuid)
    rows, hidden = _visible(principal, project_id, facts)
    data = entity.data
    linked = _labels(session, principal, project_id, _uuids_named(data, rows))
    linked.update(_facility_labels(session, project_id, [data.get("co_so", "")]))
    history = [_row(words, fact, name, state, linked) for fact, _w, state, name in rows]
    audit.record(
        session,
        principal.actor_id,
        "referral.read",
        "entity",
        entity.id,
        {"uuid": entity.uuid, "rows": len(history), "hidden": hidden},
    )
    shown = words.properties(REFERRALS, entities.properties_of(session, dataset.id), data, linked)
    by_name = {p.name: p for p in shown}
    client = data.get("kh_id")
    service = by_name.get("dich_vu")
    return ReferralView(
        project_id=project_id,
        uuid=entity.uuid,
        label=entity.label,
        client=_link(client, linked) if client else None,
        service=service.value if service else "",
        service_sensitive=service.sensitive if service else None,
        facility=by_name["co_so"].value if "co_so" in by_name else "",
        referred_on=day_text(data.get("ngay_chuyen")),
        due=day_text(data.get("han")),
        status=by_name["trang_thai"].value if "trang_thai" in by_name else "",
        properties=shown,
        slip=next((r for r in history if r.xml_form_id == F3), None),
        outcomes=[r for r in history if r.xml_form_id == F4],
        hidden=hidden,
    )


@dataclass(frozen=True, slots=True)
class SubmissionLink:
    """What a submission of a programme form names: its client (and referral), and a title
    built from them for a form that gives its submissions no instance name."""

    title: str | None
    client: Linked | None
    referral: str | None


def submission_links(
    session: Session,
    principal: Principal,
    project_id: int,
    submission_ids: list[int],
    language: str,
) -> dict[int, SubmissionLink]:
    """Per submission (of those given that belong to programme forms), the client it names
    (with a label only when the caller may open the client) and a built title: the client's
    label, the service (unless the form marks it special, as F3 does) and the event date
    (dd/mm/yyyy). Reads only; the caller audits the
    look it is part of."""
    require(principal, "submission.read", project_id)
    if not submission_ids:
        return {}
    facts = session.scalars(
        select(IndicatorFact).where(
            IndicatorFact.project_id == project_id,
            IndicatorFact.submission_id.in_(submission_ids),
        )
    ).all()
    referrals = {f.referral for f in facts if f.form == F4 and f.referral}
    slips = (
        dict(
            session.execute(
                select(IndicatorFact.referral, IndicatorFact.client).where(
                    IndicatorFact.project_id == project_id,
                    IndicatorFact.form == F3,
                    IndicatorFact.referral.in_(sorted(referrals)),
                )
            ).all()
        )
        if referrals
        else {}
    )
    clients = {f.submission_id: f.client or slips.get(f.referral) for f in facts}
    labels = _labels(session, principal, project_id, [c for c in clients.values() if c])
    words = Vocabulary(session, project_id, language) if facts else None
    service_field = words.field(F3, "dv") if words else None
    # A title is never folded: a service the form marks special stays out of it (the page
    # shows it folded among the answers).
    special = service_field is not None and service_field.sensitive == "special"
    out = {}
    for fact in facts:
        client = clients.get(fact.submission_id)
        label = labels.get(client) if client else None
        service = words.choice(F3, "dv", fact.dv) if words and fact.dv and not special else ""
        parts = [p for p in (label, service, day_text(fact.day)) if p]
        out[fact.submission_id] = SubmissionLink(
            " · ".join(parts) if label or fact.day else None,
            Linked(client if label is not None else None, label) if client else None,
            fact.referral if fact.form in (F3, F4) else None,
        )
    return out


# --- The rule and the reads behind the pages -------------------------------------------


def _entity_in_scope(
    session: Session, principal: Principal, project_id: int, list_name: str, entity_id: str
) -> tuple[Dataset, Entity]:
    """The entity of ``list_name`` the caller may read (its wards); NotFound otherwise. A
    client merged into another (``gop_vao``) stays readable after it is deleted, so that
    its page says where it went."""
    require(principal, "entity.read", project_id)
    require(principal, "submission.read", project_id)
    dataset = entities.find_dataset(session, project_id, list_name)
    entity = (
        session.scalar(
            select(Entity).where(
                Entity.dataset_id == dataset.id, Entity.uuid == entities.entity_name(entity_id)
            )
        )
        if dataset is not None
        else None
    )
    if (
        entity is None
        or (entity.deleted_at is not None and not entity.data.get("gop_vao"))
        or not entities.in_scope(entity, dataset, entities.wards_of(session, principal, project_id))
    ):
        raise NotFound()
    return dataset, entity


def _client_facts(session: Session, project_id: int, uuid: str) -> list:
    """The facts of every submission about one client: those naming it, the outcomes of its
    referrals, and the group sessions listing it among the attendees. Three reads, each by an
    index (an OR of them would scan every fact of the project)."""
    named = _query(session, project_id, IndicatorFact.client == uuid)
    referrals = sorted({r[0].referral for r in named if r[0].form == F3 and r[0].referral})
    outcomes = (
        _query(
            session,
            project_id,
            and_(IndicatorFact.form == F4, IndicatorFact.referral.in_(referrals)),
        )
        if referrals
        else []
    )
    escaped = uuid.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    sessions = _query(
        session,
        project_id,
        and_(IndicatorFact.form == F6, IndicatorFact.ds.like(f"%{escaped}%", escape="\\")),
    )
    unique = {r[0].id: r for r in (*named, *outcomes, *sessions)}  # a fact is read once
    return sorted(unique.values(), key=_in_time)


def _query(session: Session, project_id: int, where) -> list:
    """(fact, ward, review state, instance name) of live-or-rejected, not deleted
    submissions matching ``where``, in time order (event date, then arrival)."""
    rows = session.execute(
        select(
            IndicatorFact,
            Submission.ward,
            Submission.review_state,
            SubmissionVersion.instance_name,
        )
        .join(Submission, Submission.id == IndicatorFact.submission_id)
        .outerjoin(  # only for the instance name
            SubmissionVersion,
            (SubmissionVersion.submission_id == Submission.id) & SubmissionVersion.current,
        )
        .where(
            IndicatorFact.project_id == project_id,
            where,
            Submission.deleted_at.is_(None),
            Submission.draft.is_(False),
        )
    ).all()
    return sorted(rows, key=_in_time)


def _in_time(row) -> tuple:
    """Event date first (the form's ``ngay``), then arrival."""
    fact = row[0]
    return (fact.day or fact.received_at.date(), fact.received_at, fact.id)


def _visible(principal: Principal, project_id: int, rows: list) -> tuple[list, int]:
    """The rows in the caller's wards (submission.read), and how many others there are."""
    wards = ward_scope(principal, "submission.read", project_id)
    if wards is None:
        return rows, 0
    shown = [r for r in rows if r[1] in wards]
    return shown, len(rows) - len(shown)


def _uuids_named(data: dict[str, str], rows: list) -> list[str]:
    named = [data.get("kh_id"), data.get("gop_vao")]
    named += [r[0].gop_vao for r in rows] + [r[0].client for r in rows]
    return [u for u in named if u]


def _link(uuid: str, labels: dict[str, str]) -> Linked:
    """A named client as the caller may know it: uuid and label, or neither."""
    label = labels.get(uuid)
    return Linked(uuid if label is not None else None, label)


def _labels(
    session: Session, principal: Principal, project_id: int, uuids: list[str]
) -> dict[str, str]:
    """uuid -> label of the clients among ``uuids`` the caller may open."""
    dataset = entities.find_dataset(session, project_id, CLIENTS)
    if dataset is None or not uuids:
        return {}
    wards = entities.wards_of(session, principal, project_id)
    return {
        e.uuid: e.label
        for e in session.scalars(
            select(Entity).where(
                Entity.dataset_id == dataset.id, Entity.uuid.in_(sorted(set(uuids)))
            )
        )
        if (e.deleted_at is None or e.data.get("gop_vao")) and entities.in_scope(e, dataset, wards)
    }


def _facility_labels(session: Session, project_id: int, codes: list[str]) -> dict[str, str]:
    dataset = entities.find_dataset(session, project_id, FACILITIES)
    codes = [c for c in codes if c]
    if dataset is None or not codes:
        return {}
    return dict(
        session.execute(
            select(Entity.uuid, Entity.label).where(
                Entity.dataset_id == dataset.id, Entity.uuid.in_(codes)
            )
        ).all()
    )


def _row(words: Vocabulary, fact, name: str | None, state: str | None, linked) -> HistoryRow:
    # ``linked`` (uuid -> label of the clients the caller may open) names a merge's target
    """One history row: what the submission says, in labels."""
    form = fact.form
    summary, question = "", None
    if form in ("f1_dang_ky", "f2_gap_go") and fact.mo_hinh:
        summary, question = words.choice(form, "mo_hinh", fact.mo_hinh), "mo_hinh"
    elif form == F3 and fact.dv:
        summary, question = words.choice(F3, "dv", fact.dv), "dv"
    elif form == F4 and fact.kq:
        summary, question = words.choice(F4, "kq", fact.kq), "kq"
        if fact.ngay_dv:
            summary += f" · {words.question(F4, 'ngay_dv')}: {day_text(fact.ngay_dv)}"
    elif form == "f5_tham_nha" and fact.gap:
        question = "gap"
        summary = f"{words.question(form, 'gap')} {words.choice(form, 'gap', fact.gap)}"
    elif form == F7 and fact.ly_do:
        summary, question = words.choice(F7, "ly_do", fact.ly_do), "ly_do"
    field = words.field(form, question) if question else None
    return HistoryRow(
        day=fact.day,
        received_at=fact.received_at,
        xml_form_id=form,
        form_title=words.titles.get(form, form),
        instance_id=fact.instance_id,
        title=name,
        summary=summary,
        sensitive=field.sensitive if field is not None else None,
        review_state=state,
        referral=fact.referral if form in (F3, F4) else None,
        due=fact.han if form == F3 else None,
        attendees=fact.n_tham_gia if form == F6 else None,
        merged_into=(
            _link(fact.gop_vao, linked) if form == F7 and fact.gop_vao else None
        ),
    )
