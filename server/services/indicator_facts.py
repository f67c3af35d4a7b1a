"""Indicator facts: the typed answers of a programme form's submission (F1-F7) that the
indicators count, kept as one row per submission (models.indicators.IndicatorFact).

Written by ingest in the same transaction as the submission, from the XML root it has
already parsed (one INSERT; an edit is one UPDATE of the same row); marked not ``live`` while
the submission is deleted or rejected (lifecycle, review); removed with it by a purge.
The migration that made the table (0020) fills it for the submissions already stored with
``backfill``. docs/indicators.md says which indicator reads which column.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from forms.xml import local
from server.models.indicators import PROGRAMME_FORMS, IndicatorFact
from server.models.types import utcnow

_PROGRAMME = frozenset(PROGRAMME_FORMS)
_TEXT_COLUMNS = (
    "dong_y", "xu_ly_trung", "nguon_gioi_thieu", "co_ma", "dv", "kq", "nguon", "kq_hiv",
    "bat_dau", "tt_hoc", "gap", "sd_tu_bao", "viec_lam", "ho_tro_nhan", "clb", "ly_do",
)  # fmt: skip
_DATE_COLUMNS = ("ngay_xn", "ngay_dv", "ngay_bd", "ngay_giai_ngan", "ngay_bd_hoc_nghe")
_LIMITS = {c.name: getattr(c.type, "length", None) for c in IndicatorFact.__table__.columns}


def is_programme_form(xml_form_id: str) -> bool:
    return xml_form_id in _PROGRAMME


def _answers(root) -> tuple[dict[str, str], dict[str, str]]:
    """Leaf answers by field name (XLSForm names are unique in a form; the first wins), and
    the meta entity block's attributes."""
    named: dict[str, str] = {}
    entity: dict[str, str] = {}
    for child in root:
        if not isinstance(child.tag, str):
            continue
        if local(child.tag) == "meta":
            for m in child:
                if local(m.tag) == "entity":
                    entity = dict(m.attrib)
            continue
        for el in child.iter() if len(child) else (child,):
            if not isinstance(el.tag, str) or len(el):
                continue
            text = (el.text or "").strip()
            if text:
                named.setdefault(local(el.tag), text)
    return named, entity


def _day(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def _number(text: str | None) -> float | None:
    try:
        value = float(text) if text else None
    except ValueError:
        return None
    return value if value is not None and value == value and abs(value) < 1e12 else None


def _whole(text: str | None) -> int:
    """A head count as the form gives it, bounded so that it fits the column."""
    try:
        return min(max(0, int(float(text))), 100_000) if text else 0
    except (ValueError, OverflowError):
        return 0


def _uuid(text: str | None) -> str | None:
    if not text:
        return None
    name = text.strip()
    if name[:5].lower() == "uuid:":
        name = name[5:]
    return name.lower()[:36] or None


def facts_of(xml_form_id: str, root) -> dict | None:
    """The fact columns of one submission version of a programme form (None for any other
    form). Pure: reads only the parsed instance."""
    if xml_form_id not in _PROGRAMME:
        return None
    named, entity = _answers(root)
    made = _uuid(entity.get("id")) if entity.get("create") in ("1", "true") else None
    form = xml_form_id
    client = referral = None
    if form == "f1_dang_ky":
        client = made if named.get("dong_y") == "co" else None
    elif form == "f3_chuyen_gui":
        client, referral = _uuid(named.get("kh")), made or _uuid(entity.get("id"))
    elif form == "f4_ket_qua_cg":
        referral = _uuid(named.get("phieu")) or _uuid(entity.get("id"))
    elif form in ("f2_gap_go", "f5_tham_nha", "f7_cap_nhat"):
        client = _uuid(named.get("kh"))
    facts = {
        "form": form,
        "client": client,
        "referral": referral,
        "day": _day(named.get("ngay")),
        "ma_xa": named.get("ma_xa"),
        "ma_tinh": named.get("ma_tinh"),
        "mo_hinh": named.get("mo_hinh"),
        "chu_de": bool(named.get("chu_de")),
        "de_xuat_dv": bool(named.get("de_xuat_dv")),
        "han": _day(named.get("han_xac_nhan")),
        "tien_vay": _number(named.get("tien_vay")),
        "n_tham_gia": (
            sum(_whole(named.get(n)) for n in ("n_nam", "n_nu", "n_khac"))
            if form == "f6_sinh_hoat"
            else None
        ),
        "ds": " ".join(_uuid(c) or "" for c in named.get("ds", "").split()) or None,
        "gop_vao": _uuid(named.get("gop_vao")),
    }
    for name in _TEXT_COLUMNS:
        facts[name] = named.get(name)
    for name in _DATE_COLUMNS:
        facts[name] = _day(named.get(name))
    for name, value in facts.items():  # a device's over-long answer never fails the intake
        limit = _LIMITS.get(name)
        if limit and isinstance(value, str) and len(value) > limit:
            facts[name] = value[:limit]
    return facts


def write(
    session: Session | Connection,
    project_id: int,
    submission_id: int,
    instance_id: str,
    submitter_id: int | None,
    facts: dict,
    edit: bool,
) -> None:
    """Store a submission's facts: a new submission is one INSERT; an edit (the new current
    version) one UPDATE of its answers, keeping when it was first received, its first
    instanceID (the submission's own, which its page is found by) and who sent it first."""
    now = utcnow()
    values = {**facts, "live": True, "changed_at": now}
    if edit:  # the submission's own instanceID and sender stay (I20 counts who collected it)
        changed = session.execute(
            update(IndicatorFact)
            .where(IndicatorFact.submission_id == submission_id)
            .values(**values)
        ).rowcount
        if changed:
            return
    session.execute(
        insert(IndicatorFact).values(
            project_id=project_id,
            submission_id=submission_id,
            received_at=now,
            instance_id=instance_id,
            submitter_id=submitter_id,
            **values,
        )
    )


def set_live(session: Session, submission_id: int, live: bool) -> None:
    """Count a submission's facts again (restored, un-rejected) or stop counting them."""
    session.execute(
        update(IndicatorFact)
        .where(IndicatorFact.submission_id == submission_id)
        .values(live=live, changed_at=utcnow())
    )


def remove(session: Session, submission_ids: list[int]) -> None:
    """Drop the facts of submissions about to be purged."""
    session.execute(delete(IndicatorFact).where(IndicatorFact.submission_id.in_(submission_ids)))


def backfill(connection: Connection, batch: int = 500) -> int:
    """Facts for every stored submission of a programme form (migration 0020): the current
    version of each non-draft, unencrypted submission is parsed once. Returns the count."""
    from forms import InstanceError, XmlError, read_instance  # the hardened parser
    from server.models.forms import Form
    from server.models.submissions import Submission, SubmissionVersion

    ids = list(
        connection.scalars(
            select(Submission.id)
            .join(Form, Form.id == Submission.form_id)
            .where(Submission.draft.is_(False), Form.xml_form_id.in_(PROGRAMME_FORMS))
            .order_by(Submission.id)
        )
    )
    written = 0
    for start in range(0, len(ids), batch):
        rows = connection.execute(
            select(
                Submission.id,
                Submission.instance_id,
                Submission.submitter_id,
                Submission.created_at,
                Submission.deleted_at,
                Submission.review_state,
                Form.project_id,
                Form.xml_form_id,
                SubmissionVersion.xml,
            )
            .join(Form, Form.id == Submission.form_id)
            .join(
                SubmissionVersion,
                (SubmissionVersion.submission_id == Submission.id) & SubmissionVersion.current,
            )
            .where(
                Submission.id.in_(ids[start : start + batch]),
                SubmissionVersion.encrypted_key.is_(None),
            )
        ).all()
        pending = []
        for row in rows:
            try:
                root = read_instance(bytes(row.xml)).root
            except (XmlError, InstanceError):  # unreadable: no facts, as at intake
                continue
            facts = facts_of(row.xml_form_id, root)
            if facts is None:
                continue
            pending.append(
                {
                    **facts,
                    "project_id": row.project_id,
                    "submission_id": row.id,
                    "instance_id": row.instance_id,
                    "submitter_id": row.submitter_id,
                    "received_at": row.created_at,
                    "changed_at": utcnow(),
                    "live": row.deleted_at is None and row.review_state != "rejected",
                }
            )
        written += _flush(connection, pending)
    return written


def _flush(connection: Connection, pending: list[dict]) -> int:
    if not pending:
        return 0
    connection.execute(insert(IndicatorFact), pending)
    count = len(pending)
    pending.clear()
    return count
