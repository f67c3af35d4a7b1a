"""Reads of stored submissions (no intake rules here): attachments, the review list with its
filters and keyset paging, one submission in full (answers with labels, versions and what
changed, deliveries, comments, refused resends), and reviewers' comments."""

from __future__ import annotations

import csv
import dataclasses
import io
import itertools
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, aliased

import forms
from forms import answers
from forms.xform import Field, FormSchema
from forms.xml import local
from server.auth.permissions import Principal, require, ward_scope
from server.blobs import BlobStore
from server.errors import MissingParameter, NotFound
from server.models.actors import Actor
from server.models.audits import Audit
from server.models.blobs import Blob
from server.models.deliveries import Delivery
from server.models.entities import Entity
from server.models.forms import Form, FormAttachment, FormVersion
from server.models.submissions import (
    REVIEW_STATES,
    Submission,
    SubmissionAttachment,
    SubmissionComment,
    SubmissionVersion,
)
from server.services import audit
from server.services import forms as form_service


def get_attachment(
    session: Session,
    principal: Principal,
    project_id: int,
    xml_form_id: str,
    instance_id: str,
    name: str,
    version_id: str | None = None,
) -> Blob:
    """The blob of one attachment of the current version (or of ``version_id``); audited.

    Raises NotFound when the submission, version or file is unknown or not uploaded yet.
    """
    require(principal, "submission.read", project_id)
    query = (
        select(Blob, Submission.id)
        .join(SubmissionAttachment, SubmissionAttachment.blob_id == Blob.id)
        .join(SubmissionVersion, SubmissionVersion.id == SubmissionAttachment.submission_version_id)
        .join(Submission, Submission.id == SubmissionVersion.submission_id)
        .join(Form, Form.id == Submission.form_id)
        .where(
            Form.project_id == project_id,
            Form.xml_form_id == xml_form_id,
            Submission.instance_id == instance_id,
            Submission.deleted_at.is_(None),
            SubmissionAttachment.name == name,
        )
    )
    scope = in_scope_clause(principal, "submission.read", project_id)
    if scope is not None:
        query = query.where(scope)
    if version_id is None:
        query = query.where(SubmissionVersion.current)
    else:
        query = query.where(SubmissionVersion.instance_id == version_id)
    row = session.execute(query).first()
    if row is None:
        raise NotFound(f"Could not find the attachment '{name}' of submission {instance_id}.")
    blob, submission_id = row
    audit.record(
        session,
        principal.actor_id,
        "submission.attachment.read",
        "submission",
        submission_id,
        {"name": name, "instanceId": version_id or instance_id},
    )
    return blob


# --- The web UI's reads: the list with its filters, one submission in full, comments --------

PAGE_SIZE = 50
RECEIVED = "received"  # the list's name for "no review state yet"
DELIVERY_FILTERS = ("pending", "delivered", "dead", "none")
REVIEW_FILTERS = (RECEIVED, *REVIEW_STATES)


@dataclass(frozen=True, slots=True)
class SubmissionFilters:
    """What the list is narrowed to; every field optional. Dates are UTC bounds."""

    since: datetime | None = None
    until: datetime | None = None
    submitter_id: int | None = None
    ward: str | None = None
    review_state: str | None = None  # one of REVIEW_STATES or RECEIVED
    delivery: str | None = None  # one of DELIVERY_FILTERS
    text: str | None = None
    before_id: int | None = None  # keyset paging: rows with a smaller id


@dataclass(frozen=True, slots=True)
class SubmissionRow:
    id: int
    instance_id: str
    instance_name: str | None
    submitter: str | None
    created_at: datetime
    updated_at: datetime | None
    review_state: str | None
    ward: str | None
    version_count: int
    delivery: str | None  # worst delivery state of the current version, None when none


@dataclass(frozen=True, slots=True)
class SubmissionPage:
    rows: list[SubmissionRow]
    total: int
    next_before_id: int | None


def form_or_404(session: Session, project_id: int, xml_form_id: str) -> Form:
    form = session.scalar(
        select(Form).where(Form.project_id == project_id, Form.xml_form_id == xml_form_id)
    )
    if form is None:
        raise NotFound(f"Could not find the form '{xml_form_id}' in this project.")
    return form


def in_scope_clause(principal: Principal, verb: str, project_id: int):
    """A WHERE clause keeping the submissions of the caller's wards, or None (every ward)."""
    wards = ward_scope(principal, verb, project_id)
    return None if wards is None else Submission.ward.in_(sorted(wards))


def check_scope(principal: Principal, verb: str, project_id: int, ward: str | None) -> None:
    """NotFound outside the caller's wards, the very answer (status, code, message, body) a
    submission that does not exist gets: not 403, and not another sentence, so a submission's
    existence in another ward is not told (Central's generic 404.1)."""
    wards = ward_scope(principal, verb, project_id)
    if wards is not None and ward not in wards:
        raise NotFound()


def live_in_scope(principal: Principal, project_id: int, form: Form) -> list:
    """WHERE clauses for a form's live (not draft, not deleted) submissions in the caller's
    wards: what every list, export and feed starts from."""
    where = [
        Submission.form_id == form.id,
        Submission.draft.is_(False),
        Submission.deleted_at.is_(None),
    ]
    scope = in_scope_clause(principal, "submission.read", project_id)
    if scope is not None:
        where.append(scope)
    return where


def version_count():
    """How many versions a submission has (a correlated scalar subquery on Submission)."""
    return (
        select(func.count())
        .where(SubmissionVersion.submission_id == Submission.id)
        .correlate(Submission)
        .scalar_subquery()
    )


def attachment_states(session: Session, version_id: int) -> list[tuple[str, bool]]:
    """(name, arrived) of each file a submission version names, by name."""
    return [
        (name, blob_id is not None)
        for name, blob_id in session.execute(
            select(SubmissionAttachment.name, SubmissionAttachment.blob_id)
            .where(SubmissionAttachment.submission_version_id == version_id)
            .order_by(SubmissionAttachment.name)
        ).all()
    ]


def comments_of(session: Session, submission_id: int) -> list[SubmissionComment]:
    """The comments on a submission, oldest first."""
    return list(
        session.scalars(
            select(SubmissionComment)
            .where(SubmissionComment.submission_id == submission_id)
            .order_by(SubmissionComment.id)
        )
    )


def filter_clauses(principal: Principal, project_id: int, form: Form, filters) -> list:
    """WHERE clauses for a form's live submissions that match ``filters`` in the caller's
    wards (the list and the export share them)."""
    where = live_in_scope(principal, project_id, form)
    if filters.since is not None:
        where.append(Submission.created_at >= filters.since)
    if filters.until is not None:
        where.append(Submission.created_at < filters.until)
    if filters.submitter_id is not None:
        where.append(Submission.submitter_id == filters.submitter_id)
    if filters.ward:
        where.append(Submission.ward == filters.ward)
    if filters.review_state == RECEIVED:
        where.append(Submission.review_state.is_(None))
    elif filters.review_state in REVIEW_STATES:
        where.append(Submission.review_state == filters.review_state)
    if filters.delivery in DELIVERY_FILTERS:
        where.append(_delivery_clause(filters.delivery))
    if filters.text and filters.text.strip():
        for word in answers.fold(filters.text).split()[:8]:
            escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            where.append(Submission.search_text.like(f"%{escaped}%", escape="\\"))
    return where


def list_submissions(
    session: Session,
    principal: Principal,
    project_id: int,
    xml_form_id: str,
    filters: SubmissionFilters,
    page_size: int = PAGE_SIZE,
) -> SubmissionPage:
    """One page of a form's submissions, newest first, and how many match in all; the look
    is audited (count and filters, a search by its length only).

    Paging is by id (keyset), so page 2,000 costs what page 1 costs.
    """
    require(principal, "submission.read", project_id)
    form = form_or_404(session, project_id, xml_form_id)
    where = filter_clauses(principal, project_id, form, filters)
    total = session.scalar(select(func.count()).select_from(Submission).where(*where)) or 0
    if filters.before_id is not None:
        where.append(Submission.id < filters.before_id)
    current = aliased(SubmissionVersion)
    versions = version_count()
    rows = session.execute(
        select(Submission, current.instance_name, Actor.display_name, versions)
        .join(current, (current.submission_id == Submission.id) & current.current)
        .outerjoin(Actor, Actor.id == Submission.submitter_id)
        .where(*where)
        .order_by(Submission.id.desc())
        .limit(page_size + 1)
    ).all()
    more = len(rows) > page_size
    rows = rows[:page_size]
    audit.record(
        session,
        principal.actor_id,
        "submission.list",
        "form",
        form.id,
        {"count": len(rows), "total": total, **filters_for_audit(filters)},
    )
    states = _delivery_states(session, [r[0].id for r in rows])
    out = [
        SubmissionRow(
            s.id,
            s.instance_id,
            name,
            submitter,
            s.created_at,
            s.updated_at,
            s.review_state,
            s.ward,
            count,
            states.get(s.id),
        )
        for s, name, submitter, count in rows
    ]
    return SubmissionPage(out, total, out[-1].id if more and out else None)


def _delivery_clause(state: str):
    """Submissions whose current version has a delivery in ``state`` (or none at all)."""
    current = (
        select(Delivery.id)
        .join(SubmissionVersion, SubmissionVersion.id == Delivery.submission_version_id)
        .where(Delivery.submission_id == Submission.id, SubmissionVersion.current)
        .correlate(Submission)
    )
    if state == "none":
        return ~current.exists()
    return current.where(Delivery.state == state).exists()


_WORST = {"dead": 0, "pending": 1, "cancelled": 2, "delivered": 3}


def _delivery_states(session: Session, submission_ids: list[int]) -> dict[int, str]:
    """The worst delivery state of each submission's current version (dead > pending > ...)."""
    if not submission_ids:
        return {}
    rows = session.execute(
        select(Delivery.submission_id, Delivery.state)
        .join(SubmissionVersion, SubmissionVersion.id == Delivery.submission_version_id)
        .where(Delivery.submission_id.in_(submission_ids), SubmissionVersion.current)
    ).all()
    worst: dict[int, str] = {}
    for submission_id, state in rows:
        if submission_id not in worst or _WORST.get(state, 9) < _WORST.get(worst[submission_id], 9):
            worst[submission_id] = state
    return worst


@dataclass(frozen=True, slots=True)
class FilterOptions:
    submitters: list[tuple[int, str]]
    wards: list[tuple[str, str]]  # (code, label)


def filter_options(
    session: Session, store: BlobStore, principal: Principal, project_id: int, xml_form_id: str
) -> FilterOptions:
    """Who has submitted to the form and which wards its submissions name (with labels)."""
    require(principal, "submission.read", project_id)
    form = form_or_404(session, project_id, xml_form_id)
    # form and ward only, so that both lists come from an index (draft test submissions,
    # purged on publish, may add a name or a ward meanwhile).
    mine = [Submission.form_id == form.id]
    scope = in_scope_clause(principal, "submission.read", project_id)
    if scope is not None:
        mine.append(scope)
    submitter_ids = session.scalars(
        select(Submission.submitter_id)
        .where(*mine, Submission.submitter_id.is_not(None))
        .distinct()
        .order_by(Submission.submitter_id)
    ).all()
    submitters = session.execute(
        select(Actor.id, Actor.display_name)
        .where(Actor.id.in_(submitter_ids))
        .order_by(Actor.display_name)
    ).all()
    codes = session.scalars(
        select(Submission.ward)
        .where(*mine, Submission.ward.is_not(None))
        .distinct()
        .order_by(Submission.ward)
    ).all()
    labels = _csv_labels(session, store, form.current_version_id) if form.current_version_id else {}
    return FilterOptions(
        [(i, n) for i, n in submitters], [(c, labels.get(c, c)) for c in codes if c]
    )


def _csv_labels(session: Session, store: BlobStore, form_version_id: int) -> dict[str, str]:
    """name -> label of every CSV file attached to a form version (choice lists from files)."""
    labels: dict[str, str] = {}
    rows = session.execute(
        select(FormAttachment.name, Blob.sha256)
        .join(Blob, Blob.id == FormAttachment.blob_id)
        .where(FormAttachment.form_version_id == form_version_id, FormAttachment.name.like("%.csv"))
    ).all()
    for _name, sha256 in rows:
        with store.open(sha256) as raw:
            reader = csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8-sig"))
            label_column = next(
                (c for c in reader.fieldnames or () if c == "label" or c.startswith("label")), None
            )
            if "name" not in (reader.fieldnames or ()) or label_column is None:
                continue
            for row in itertools.islice(reader, 50_000):
                labels.setdefault(row["name"], row[label_column])
    return labels


# --- One submission in full -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Answer:
    """A node of the answer tree: a leaf, a group (children) or a repeat (instances)."""

    path: str
    name: str
    label: str
    kind: str  # "leaf" | "group" | "repeat"
    type: str = "string"
    value: str | None = None  # what to show: labels for selects, the text otherwise
    raw: str | None = None
    media: str | None = None  # "image" | "audio" | "video" | "file" for an attachment
    point: tuple[float, float, float | None] | None = None  # lat, lon, accuracy
    sensitive: str | None = None
    children: tuple[Answer, ...] = ()
    instances: tuple[tuple[Answer, ...], ...] = ()
    columns: tuple[tuple[str, str], ...] = ()  # a repeat of plain answers: (path, label) each


@dataclass(frozen=True, slots=True)
class Change:
    label: str
    before: str | None
    after: str | None
    sensitive: str | None = None  # folded in the diff as on the page when "special"


@dataclass(frozen=True, slots=True)
class VersionView:
    instance_id: str
    created_at: datetime
    submitter: str | None
    device_id: str | None
    current: bool
    changes: tuple[Change, ...]  # against the version before it; empty for the first


@dataclass(frozen=True, slots=True)
class DeliveryView:
    id: int
    target: str
    state: str
    version_instance_id: str
    attempts: int
    last_status: int | None
    last_error: str | None
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None


@dataclass(frozen=True, slots=True)
class CommentView:
    author: str | None
    body: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ConflictView:
    at: datetime
    instance_id: str
    code: str | None
    device_id: str | None
    submitter: str | None


@dataclass(frozen=True, slots=True)
class SubmissionDetail:
    id: int
    project_id: int
    xml_form_id: str
    form_title: str
    forward_policy: str
    instance_id: str
    instance_name: str | None
    submitter: str | None
    device_id: str | None
    created_at: datetime
    updated_at: datetime | None
    review_state: str | None
    ward: str | None
    ward_label: str | None
    encrypted: bool
    answers: tuple[Answer, ...]
    attachments: dict[str, bool]  # name -> uploaded
    versions: tuple[VersionView, ...]
    deliveries: tuple[DeliveryView, ...]
    comments: tuple[CommentView, ...]
    conflicts: tuple[ConflictView, ...]


def get_submission_detail(
    session: Session,
    store: BlobStore,
    principal: Principal,
    project_id: int,
    xml_form_id: str,
    instance_id: str,
    language: str,
) -> SubmissionDetail:
    """Everything the review page shows; the look is recorded in the audit log."""
    require(principal, "submission.read", project_id)
    form = form_or_404(session, project_id, xml_form_id)
    submission = session.scalar(
        select(Submission).where(
            Submission.form_id == form.id,
            Submission.instance_id == instance_id,
            Submission.deleted_at.is_(None),
        )
    )
    if submission is None:
        raise NotFound()  # the same answer as outside the wards: check_scope
    check_scope(principal, "submission.read", project_id, submission.ward)
    names = dict(session.execute(select(Actor.id, Actor.display_name)).all())
    versions = session.scalars(
        select(SubmissionVersion)
        .where(SubmissionVersion.submission_id == submission.id)
        .order_by(SubmissionVersion.id)
    ).all()
    current = next(v for v in versions if v.current)
    form_version = session.get(FormVersion, current.form_version_id)
    schema = form_service.schema_of(session, form_version)
    labels = _csv_labels(session, store, form_version.id)
    labels.update(_entity_labels(session, form_version.id))
    encrypted = current.encrypted_key is not None
    tree = () if encrypted else _answer_tree(schema, current.xml, language, labels)
    views = []
    previous: dict[str, tuple[str, str | None, str | None]] = {}
    none = (None, None, None)
    for version in versions:
        flat = {} if version.encrypted_key else _flat(schema, version.xml, language, labels)
        changes = ()
        if views:
            changes = tuple(
                Change(
                    (flat.get(p) or previous[p])[0],
                    previous.get(p, none)[1],
                    flat.get(p, none)[1],
                    (flat.get(p) or previous[p])[2],
                )
                for p in sorted(set(flat) | set(previous))
                if previous.get(p, none)[1] != flat.get(p, none)[1]
            )
        views.append(
            VersionView(
                version.instance_id,
                version.created_at,
                names.get(version.submitter_id),
                version.device_id,
                version.current,
                changes,
            )
        )
        previous = flat
    attachments = dict(attachment_states(session, current.id))
    instance_by_version = {v.id: v.instance_id for v in versions}
    deliveries = tuple(
        DeliveryView(
            d.id,
            _shown_target(d.target),
            d.state,
            instance_by_version.get(d.submission_version_id, ""),
            d.attempts,
            d.last_status,
            d.last_error,
            d.last_attempt_at,
            d.next_attempt_at if d.state == "pending" else None,
            d.delivered_at,
        )
        for d in session.scalars(
            select(Delivery).where(Delivery.submission_id == submission.id).order_by(Delivery.id)
        )
    )
    comments = tuple(
        CommentView(names.get(c.actor_id), c.body, c.created_at)
        for c in comments_of(session, submission.id)
    )
    instance_ids = [v.instance_id for v in versions]
    conflicts = tuple(
        ConflictView(
            a.acted_at,
            (a.details or {}).get("instanceId", ""),
            (a.details or {}).get("code"),
            (a.details or {}).get("deviceId"),
            names.get(a.actor_id),
        )
        for a in session.scalars(
            select(Audit)
            .where(
                Audit.action == "submission.conflict",
                Audit.subject_type == "form",
                Audit.subject_id == form.id,
                Audit.details["instanceId"].as_string().in_(instance_ids),
            )
            .order_by(Audit.id)
            .limit(200)
        )
    )
    audit.record(
        session,
        principal.actor_id,
        "submission.read",
        "submission",
        submission.id,
        {"instanceId": instance_id},
    )
    return SubmissionDetail(
        id=submission.id,
        project_id=project_id,
        xml_form_id=xml_form_id,
        form_title=form_version.title,
        forward_policy=form.forward_policy,
        instance_id=submission.instance_id,
        instance_name=current.instance_name,
        submitter=names.get(submission.submitter_id),
        device_id=submission.device_id,
        created_at=submission.created_at,
        updated_at=submission.updated_at,
        review_state=submission.review_state,
        ward=submission.ward,
        ward_label=labels.get(submission.ward) if submission.ward else None,
        encrypted=encrypted,
        answers=tree,
        attachments=attachments,
        versions=tuple(reversed(views)),
        deliveries=deliveries,
        comments=comments,
        conflicts=conflicts,
    )


def _shown_target(target: str) -> str:
    """A register target as a page may show it: no user, password or query (they may hold
    credentials)."""
    parts = urlsplit(target)
    if not parts.netloc:
        return target
    host = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _entity_labels(session: Session, form_version_id: int) -> dict[str, str]:
    """uuid -> label of the entities in the lists a form version selects from."""
    dataset_ids = select(FormAttachment.dataset_id).where(
        FormAttachment.form_version_id == form_version_id, FormAttachment.dataset_id.is_not(None)
    )
    return dict(
        session.execute(
            select(Entity.uuid, Entity.label).where(Entity.dataset_id.in_(dataset_ids))
        ).all()
    )


def pick_label(labels: dict[str, str], language: str, fallback: str) -> str:
    """The label in ``language`` ("vi", "en"): pyxform names languages "Tiếng Việt (vi)"."""
    if not labels:
        return fallback
    for key, text in labels.items():
        if key == language or key.endswith(f"({language})"):
            return text
    return labels.get("default") or next(iter(labels.values()))


def _display(field: Field, text: str, language: str, labels: dict[str, str]) -> str:
    if field.control in ("select1", "select") or field.type == "select":
        values = text.split() if field.control == "select" else [text]
        by_value = {c.value: c.labels for c in field.choices}
        shown = [
            pick_label(by_value[v], language, v) if v in by_value else labels.get(v, v)
            for v in values
        ]
        return ", ".join(shown)
    if field.type == "date" and len(text) == 10 and text[4] == "-" and text[7] == "-":
        return f"{text[8:10]}/{text[5:7]}/{text[0:4]}"  # as Vietnamese write a date
    return text


def _leaf(field: Field, text: str, language: str, labels: dict[str, str]) -> Answer:
    point = None
    media = None
    if field.type == "geopoint":
        parts = text.split()
        try:
            lat, lon = float(parts[0]), float(parts[1])
            accuracy = float(parts[3]) if len(parts) > 3 else None
            if -90 <= lat <= 90 and -180 <= lon <= 180:
                point = (lat, lon, accuracy)
        except (ValueError, IndexError):
            point = None
    if field.type == "binary":
        media = _media_kind(field, text)
    return Answer(
        path=field.path,
        name=field.name,
        label=pick_label(field.labels, language, field.name),
        kind="leaf",
        type=field.type,
        value=_display(field, text, language, labels),
        raw=text,
        media=media,
        point=point,
        sensitive=field.sensitive,
    )


def _media_kind(field: Field, name: str) -> str:
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if suffix in ("jpg", "jpeg", "png", "gif", "webp"):
        return "image"
    if suffix in ("m4a", "mp3", "ogg", "oga", "wav", "amr", "3gp", "aac"):
        return "audio"
    if suffix in ("mp4", "webm", "mov"):
        return "video"
    return "file"


def _answer_tree(
    schema: FormSchema, xml: bytes, language: str, labels: dict[str, str]
) -> tuple[Answer, ...]:
    root = forms.read_instance(xml).root
    by_path = {f.path: f for f in schema.fields}
    return _children(root, f"/{schema.root_name}", by_path, language, labels)


def _children(node, path, by_path, language, labels) -> tuple[Answer, ...]:
    out: list[Answer] = []
    repeats: dict[str, list[tuple[Answer, ...]]] = {}
    for child in node:
        if not isinstance(child.tag, str):
            continue
        name = local(child.tag)
        child_path = f"{path}/{name}"
        field = by_path.get(child_path)
        if field is None or (name == "meta" and path.count("/") == 1):
            continue
        if field.type == "repeat":
            instance = _children(child, child_path, by_path, language, labels)
            if child_path not in repeats:
                repeats[child_path] = []
                out.append(child_path)  # placeholder, filled below
            repeats[child_path].append(instance)
        elif field.type == "group":
            kids = _children(child, child_path, by_path, language, labels)
            if kids:
                out.append(
                    Answer(
                        child_path,
                        name,
                        pick_label(field.labels, language, name),
                        "group",
                        children=kids,
                    )
                )
        elif field.control is not None and (child.text or "").strip():
            out.append(_leaf(field, child.text.strip(), language, labels))
    result = []
    for item in out:
        if isinstance(item, str):
            field = by_path[item]
            instances = tuple(repeats[item])
            flat = all(a.kind == "leaf" for inst in instances for a in inst)
            columns = (
                tuple(dict.fromkeys((a.path, a.label) for inst in instances for a in inst))
                if flat
                else ()
            )
            result.append(
                Answer(
                    item,
                    field.name,
                    pick_label(field.labels, language, field.name),
                    "repeat",
                    instances=instances,
                    columns=columns,
                )
            )
        else:
            result.append(item)
    return tuple(result)


def _flat(schema, xml, language, labels) -> dict[str, tuple[str, str | None, str | None]]:
    """path (with repeat positions) -> (label, shown value, sensitivity), for comparing two
    versions."""
    root = forms.read_instance(xml).root
    out: dict[str, tuple[str, str | None, str | None]] = {}

    def walk(answers_: tuple[Answer, ...], prefix: str, heading: str) -> None:
        for a in answers_:
            if a.kind == "leaf":
                out[f"{prefix}{a.path}"] = (f"{heading}{a.label}", a.value, a.sensitive)
            elif a.kind == "group":
                walk(a.children, prefix, heading)
            else:
                for i, instance in enumerate(a.instances, 1):
                    walk(instance, f"{prefix}{a.path}[{i}]", f"{heading}{a.label} {i} › ")

    by_path = {f.path: f for f in schema.fields}
    walk(_children(root, f"/{schema.root_name}", by_path, language, labels), "", "")
    return out


def add_comment(
    session: Session,
    principal: Principal,
    project_id: int,
    xml_form_id: str,
    instance_id: str,
    body: str,
) -> SubmissionComment:
    """Add a reviewer's comment (1 to 10,000 characters); audited."""
    require(principal, "submission.update", project_id)
    body = body.strip()
    if not body or len(body) > 10_000:
        raise MissingParameter("A comment must have between 1 and 10,000 characters.")
    submission_id = get_submission_id(
        session, principal, project_id, xml_form_id, instance_id, "submission.update"
    )
    comment = SubmissionComment(submission_id=submission_id, actor_id=principal.actor_id, body=body)
    session.add(comment)
    audit.record(
        session, principal.actor_id, "submission.comment", "submission", submission_id, None
    )
    session.flush()
    return comment


@dataclass(frozen=True, slots=True)
class FormCounts:
    total: int
    unreviewed: int
    last_at: datetime | None
    waiting: int = 0  # submissions whose current version still waits for a register
    failed: int = 0  # ... or failed for good at one (dead): a supervisor can send it again


def counts_by_form(
    session: Session, principal: Principal, project_id: int
) -> dict[str, FormCounts]:
    """Per form of the project, in the caller's wards: submissions, how many await review, the
    latest one's time, and how many still wait for (or failed at) a register."""
    require(principal, "submission.read", project_id)
    scope = in_scope_clause(principal, "submission.read", project_id)
    rows = session.execute(
        select(
            Form.xml_form_id,
            func.count(Submission.id),
            func.sum(case((Submission.review_state.is_(None), 1), else_=0)),
            func.max(Submission.created_at),
        )
        .join(Submission, Submission.form_id == Form.id)
        .where(
            Form.project_id == project_id,
            Submission.draft.is_(False),
            Submission.deleted_at.is_(None),
            *([scope] if scope is not None else []),
        )
        .group_by(Form.xml_form_id)
    ).all()
    out = {}
    for xml_form_id, total, unreviewed, last_at in rows:
        if last_at is not None and not isinstance(last_at, datetime):  # SQLite's MAX() is text
            last_at = datetime.fromisoformat(str(last_at))
        if last_at is not None and last_at.tzinfo is None:
            last_at = last_at.replace(tzinfo=UTC)
        out[xml_form_id] = FormCounts(int(total), int(unreviewed or 0), last_at)
    forwarding = session.execute(
        select(Form.xml_form_id, Delivery.state, func.count(func.distinct(Delivery.submission_id)))
        .join(Submission, Submission.id == Delivery.submission_id)
        .join(Form, Form.id == Submission.form_id)
        .join(SubmissionVersion, SubmissionVersion.id == Delivery.submission_version_id)
        .where(
            Form.project_id == project_id,
            Delivery.state.in_(("pending", "dead")),
            SubmissionVersion.current,
            Submission.draft.is_(False),
            Submission.deleted_at.is_(None),
            *([scope] if scope is not None else []),
        )
        .group_by(Form.xml_form_id, Delivery.state)
    ).all()
    for xml_form_id, state, count in forwarding:
        if xml_form_id in out:
            field = "waiting" if state == "pending" else "failed"
            out[xml_form_id] = dataclasses.replace(out[xml_form_id], **{field: int(count)})
    return out


def get_submission_id(
    session: Session,
    principal: Principal,
    project_id: int,
    xml_form_id: str,
    instance_id: str,
    verb: str = "submission.read",
) -> int:
    """The id of a live submission the caller may ``verb`` (in its wards); raise NotFound."""
    require(principal, verb, project_id)
    form = form_or_404(session, project_id, xml_form_id)
    row = session.execute(
        select(Submission.id, Submission.ward).where(
            Submission.form_id == form.id,
            Submission.instance_id == instance_id,
            Submission.deleted_at.is_(None),
        )
    ).first()
    if row is None:
        raise NotFound()  # the same answer as outside the wards: check_scope
    check_scope(principal, verb, project_id, row.ward)
    return row.id


# --- What the audit log keeps of a list's filters --------------------------------------


def filters_for_audit(filters: SubmissionFilters) -> dict[str, object]:
    """The filters of a list or export as the audit log keeps them: that a search was made
    and its length, never its words (they may be a client's name or an HIV status)."""
    kept: dict[str, object] = {
        k: str(v) for k, v in dataclasses.asdict(filters).items() if v is not None and k != "text"
    }
    if filters.text and filters.text.strip():
        kept["search"] = {"length": len(filters.text.strip())}
    return kept


# --- Moving through the filtered list from one submission ------------------------------


def neighbours(
    session: Session,
    principal: Principal,
    project_id: int,
    xml_form_id: str,
    instance_id: str,
    filters: SubmissionFilters,
) -> tuple[str | None, str | None]:
    """(newer, older): the instanceIDs of the submissions before and after this one in the
    list with ``filters`` (newest first), in the caller's wards; None at either end. Reads
    ids only: the page it serves is audited by ``get_submission_detail``."""
    submission_id = get_submission_id(session, principal, project_id, xml_form_id, instance_id)
    form = form_or_404(session, project_id, xml_form_id)
    where = filter_clauses(
        principal, project_id, form, dataclasses.replace(filters, before_id=None)
    )
    newer = session.scalar(
        select(Submission.instance_id)
        .where(*where, Submission.id > submission_id)
        .order_by(Submission.id)
        .limit(1)
    )
    older = session.scalar(
        select(Submission.instance_id)
        .where(*where, Submission.id < submission_id)
        .order_by(Submission.id.desc())
        .limit(1)
    )
    return newer, older
