"""A form's submissions as Central's export tables: the main table and one table per repeat,
with Central's columns (lib/data/briefcase.js): ``SubmissionDate``, the questions by path
(groups joined with ``-``, a geopoint as four ``-Latitude/-Longitude/-Altitude/-Accuracy``
columns, a select_multiple optionally followed by one 0/1 ``question/choice`` column per
choice), then ``KEY``, ``SubmitterID``, ``SubmitterName``, ``AttachmentsPresent``,
``AttachmentsExpected``, ``Status``, ``ReviewState``, ``DeviceID``, ``Edits``,
``FormVersion``; a repeat's table ends with ``PARENT_KEY`` and ``KEY``
(``uuid:…/group/repeat[2]``).

Every file format (CSV, ZIP of CSVs, XLSX) is written from these rows; the rows are read in
batches and never held at once. Only the caller's wards; special-category questions are left
out unless the caller's role may read them (``submission.read_special``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from forms.xform import Field, FormSchema
from forms.xml import local, parse
from server.auth.permissions import Principal, can, require
from server.models.actors import Actor
from server.models.blobs import Blob
from server.models.forms import FormVersion
from server.models.submissions import Submission, SubmissionAttachment, SubmissionVersion
from server.services import audit, odata
from server.services import forms as form_service
from server.services.submissions import (
    SubmissionFilters,
    filter_clauses,
    form_or_404,
)

SPECIAL_VERB = "submission.read_special"
META_COLUMNS = (
    "KEY",
    "SubmitterID",
    "SubmitterName",
    "AttachmentsPresent",
    "AttachmentsExpected",
    "Status",
    "ReviewState",
    "DeviceID",
    "Edits",
    "FormVersion",
)
GEO_PARTS = ("Latitude", "Longitude", "Altitude", "Accuracy")
BATCH = 1000


@dataclass(slots=True)
class Column:
    """One column of a table: its Central header, the question it comes from, and the part
    it holds ("value", a geopoint part 0-3, or "choice" with the choice's value)."""

    header: str
    field: Field | None
    part: str = "value"
    choice: str | None = None


@dataclass(slots=True)
class Table:
    """A table of the export: ``name`` is its file name without extension (Central's
    ``{xmlFormId}`` and ``{xmlFormId}-{repeat}``), ``repeat`` its repeat path (None: main)."""

    name: str
    repeat: str | None
    columns: list[Column] = field(default_factory=list)

    @property
    def header(self) -> list[str]:
        return [c.header for c in self.columns]


@dataclass(slots=True)
class _Node:
    """The schema as a tree the XML walk follows: children by element name."""

    field: Field | None
    table: int
    col: int = -1  # first column of this leaf in its table
    kind: str = "group"  # group | repeat | leaf | geo | multi
    choices: dict[str, int] = field(default_factory=dict)  # value -> offset after col
    children: dict[str, _Node] = field(default_factory=dict)


@dataclass(slots=True)
class ExportPlan:
    """What an export will hold, worked out before any row is read."""

    form_id: int
    xml_form_id: str
    schema: FormSchema
    tables: list[Table]
    where: list
    special: bool  # True: special-category questions are in the export
    omitted: list[str]  # the special-category questions left out (paths)
    split_multiples: bool
    root: _Node = None  # type: ignore[assignment]
    templates: list[list] = field(default_factory=list)
    binary_paths: frozenset[str] = frozenset()
    omitted_binary: frozenset[str] = frozenset()

    def audit_details(self) -> dict[str, object]:
        """What the export's audit row records: the choice about special-category answers."""
        return {
            "xmlFormId": self.xml_form_id,
            "specialCategory": "included" if self.special else "omitted",
            "omittedFields": len(self.omitted),
        }


def plan_export(
    session: Session,
    principal: Principal,
    project_id: int,
    xml_form_id: str,
    filters: SubmissionFilters | None = None,
    odata_filter: str | None = None,
    split_multiples: bool = False,
    group_paths: bool = True,
) -> ExportPlan:
    """The tables of a form's export for this caller, and the WHERE clauses of its rows (the
    caller's wards, ``filters`` as the review list takes them, Central's ``$filter`` on
    ``__system`` fields). Raises NotFound / InsufficientRights / BadQuery."""
    require(principal, "submission.read", project_id)
    form = form_or_404(session, project_id, xml_form_id)
    version = session.get(FormVersion, form.current_version_id or form.draft_version_id)
    schema = form_service.schema_of(session, version)
    special = can(principal, SPECIAL_VERB, project_id)
    where = filter_clauses(principal, project_id, form, filters or SubmissionFilters())
    if odata_filter:
        where.append(odata.filter_clause(odata_filter, odata.SUBMISSION_FIELDS))
    plan = ExportPlan(form.id, form.xml_form_id, schema, [], where, special, [], split_multiples)
    _build_tables(plan, group_paths)
    return plan


def _build_tables(plan: ExportPlan, group_paths: bool) -> None:
    schema = plan.schema
    root_path = f"/{schema.root_name}"
    main = Table(_file_name(plan.xml_form_id), None, [Column("SubmissionDate", None)])
    plan.tables.append(main)
    plan.root = _Node(None, 0)
    nodes: dict[str, _Node] = {root_path: plan.root}
    repeat_names: dict[str, int] = {}
    for f in schema.fields:
        if f.type == "repeat":
            repeat_names[f.name] = repeat_names.get(f.name, 0) + 1
    seen: dict[str, int] = {}
    binary, omitted_binary = set(), set()
    for f in schema.fields:
        parent_path = f.path.rsplit("/", 1)[0]
        parent = nodes.get(parent_path)
        if parent is None:
            continue  # under a part we left out
        if f.sensitive == "special" and not plan.special:
            plan.omitted.append(f.path)
            if f.type == "binary":
                omitted_binary.add(f.path)
            continue
        if f.path.startswith(f"{root_path}/meta/entity"):
            continue  # the entity block is Central's bookkeeping, not answers
        if f.type == "repeat":
            name = f.name
            if repeat_names[name] > 1:
                seen[name] = seen.get(name, 0) + 1
                name = f"{name}~{seen[name]}"
            plan.tables.append(Table(_file_name(f"{plan.xml_form_id}-{name}"), f.path))
            node = _Node(f, len(plan.tables) - 1, kind="repeat")
        elif f.type == "group":
            node = _Node(f, parent.table)
        else:
            table = plan.tables[parent.table]
            base = f.path[len(table.repeat or root_path) + 1 :].replace("/", "-")
            if not group_paths:
                base = f.name
            node = _Node(f, parent.table, col=len(table.columns), kind="leaf")
            if f.type == "geopoint":
                node.kind = "geo"
                table.columns += [Column(f"{base}-{p}", f, str(i)) for i, p in enumerate(GEO_PARTS)]
            else:
                table.columns.append(Column(base, f))
                if f.type == "binary":
                    binary.add(f.path)
                if _is_multi(f):
                    node.kind = "multi"
                    if plan.split_multiples:
                        for i, c in enumerate(f.choices):
                            node.choices[c.value] = i + 1
                            table.columns.append(Column(f"{base}/{c.value}", f, "choice", c.value))
        nodes[f.path] = node
        parent.children[f.name] = node
    main.columns += [Column(h, None, "meta") for h in META_COLUMNS]
    for table in plan.tables[1:]:
        table.columns += [Column("PARENT_KEY", None, "meta"), Column("KEY", None, "meta")]
    plan.templates = [[0 if c.part == "choice" else None for c in t.columns] for t in plan.tables]
    plan.binary_paths = frozenset(binary)
    plan.omitted_binary = frozenset(omitted_binary)


def _is_multi(f: Field) -> bool:
    return f.control == "select" or f.type == "select"


def _file_name(name: str) -> str:
    """Central's sanitize-filename: characters Windows or POSIX refuse become nothing."""
    bad = '/\\?<>:*|"'
    cleaned = "".join(c for c in name if c not in bad and ord(c) >= 32)
    return cleaned.strip(". ") or "export"


@dataclass(slots=True)
class ExportRow:
    """One submission's rows: the main row and (table index, row) of each repeat instance."""

    main: list
    repeats: list[tuple[int, list]]
    version_id: int


def count_rows(session: Session, plan: ExportPlan) -> int:
    """How many submissions the export will hold (for a progress bar)."""
    return session.scalar(select(func.count()).select_from(Submission).where(*plan.where)) or 0


def export_rows(session: Session, plan: ExportPlan) -> Iterator[ExportRow]:
    """Each matching submission's rows, oldest first, read from the database in batches of
    ``BATCH`` by keyset (constant memory at any size)."""
    edits = (
        select(func.count())
        .where(SubmissionVersion.submission_id == Submission.id)
        .correlate(Submission)
        .scalar_subquery()
    )
    expected = (
        select(func.count())
        .where(SubmissionAttachment.submission_version_id == SubmissionVersion.id)
        .correlate(SubmissionVersion)
        .scalar_subquery()
    )
    present = (
        select(func.count())
        .where(
            SubmissionAttachment.submission_version_id == SubmissionVersion.id,
            SubmissionAttachment.blob_id.is_not(None),
        )
        .correlate(SubmissionVersion)
        .scalar_subquery()
    )
    base = (
        select(
            Submission.id,
            Submission.instance_id,
            Submission.created_at,
            Submission.submitter_id,
            Actor.display_name,
            Submission.review_state,
            Submission.device_id,
            SubmissionVersion.id,
            SubmissionVersion.xml,
            SubmissionVersion.encrypted_key,
            FormVersion.version,
            edits,
            expected,
            present,
        )
        .join(
            SubmissionVersion,
            (SubmissionVersion.submission_id == Submission.id) & SubmissionVersion.current,
        )
        .join(FormVersion, FormVersion.id == SubmissionVersion.form_version_id)
        .outerjoin(Actor, Actor.id == Submission.submitter_id)
        .where(*plan.where)
        .order_by(Submission.id)
        .limit(BATCH)
    )
    last = 0
    while True:
        batch = session.execute(base.where(Submission.id > last)).all()
        if not batch:
            return
        for row in batch:
            yield _rows_of(plan, row)
        last = batch[-1][0]
        session.expunge_all()


def _rows_of(plan: ExportPlan, row) -> ExportRow:
    (
        _id,
        instance_id,
        created_at,
        submitter_id,
        submitter,
        review_state,
        device_id,
        version_id,
        xml,
        encrypted,
        form_version,
        edits,
        expected,
        present,
    ) = row
    main = plan.templates[0][:]
    repeats: list[tuple[int, list]] = []
    status = None
    if encrypted is not None:
        status = "not decrypted"
    else:
        _walk(plan, parse(xml), plan.root, main, instance_id, instance_id, repeats)
    main[0] = _iso(created_at)
    n = len(main) - len(META_COLUMNS)
    main[n] = instance_id
    main[n + 1] = submitter_id
    main[n + 2] = submitter
    main[n + 3] = present or 0
    main[n + 4] = expected or 0
    main[n + 5] = status
    main[n + 6] = review_state
    main[n + 7] = device_id
    main[n + 8] = max((edits or 1) - 1, 0)
    main[n + 9] = form_version
    return ExportRow(main, repeats, version_id)


def _walk(plan, element, node: _Node, row: list, key: str, parent_key: str, repeats):
    """Fill ``row`` from ``element``'s children; repeat instances become rows of their own
    tables with Central's KEY (``key/name[n]``) and PARENT_KEY."""
    counts: dict[str, int] = {}
    for child in element:
        tag = child.tag
        if not isinstance(tag, str):
            continue
        name = local(tag)
        sub = node.children.get(name)
        if sub is None:
            continue
        kind = sub.kind
        if kind == "group":
            _walk(plan, child, sub, row, f"{key}/{name}", parent_key, repeats)
        elif kind == "repeat":
            n = counts[name] = counts.get(name, 0) + 1
            own_key = f"{key}/{name}[{n}]"
            sub_row = plan.templates[sub.table][:]
            _walk(plan, child, sub, sub_row, own_key, own_key, repeats)
            sub_row[-2] = parent_key
            sub_row[-1] = own_key
            repeats.append((sub.table, sub_row))
        else:
            text = child.text
            if not text:
                continue
            if kind == "geo":
                parts = text.split()
                for i in range(min(4, len(parts))):
                    row[sub.col + i] = parts[i]
                continue
            row[sub.col] = text
            if kind == "multi" and sub.choices:
                for value in text.split():
                    offset = sub.choices.get(value)
                    if offset is not None:
                        row[sub.col + offset] = 1


def _iso(moment: datetime) -> str:
    """Central's ISO instant with milliseconds and Z (JavaScript's toISOString)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def media_files(session: Session, plan: ExportPlan) -> Iterator[tuple[str, str]]:
    """(file name, blob sha256) of every file that arrived with the exported submissions'
    current versions, by keyset batches. A file answering a special-category question the
    caller may not read is left out with its question."""
    base = (
        select(
            SubmissionAttachment.id, SubmissionAttachment.name, Blob.sha256, SubmissionVersion.id
        )
        .join(Blob, Blob.id == SubmissionAttachment.blob_id)
        .join(SubmissionVersion, SubmissionVersion.id == SubmissionAttachment.submission_version_id)
        .join(Submission, Submission.id == SubmissionVersion.submission_id)
        .where(*plan.where, SubmissionVersion.current)
        .order_by(SubmissionAttachment.id)
        .limit(BATCH)
    )
    last = 0
    while True:
        batch = session.execute(base.where(SubmissionAttachment.id > last)).all()
        if not batch:
            return
        hidden: dict[int, set[str]] = {}
        if plan.omitted_binary:
            hidden = _hidden_files(session, plan, {row[3] for row in batch})
        for _id, name, sha256, version_id in batch:
            if name not in hidden.get(version_id, ()):
                yield name, sha256
        last = batch[-1][0]


def _hidden_files(session: Session, plan: ExportPlan, version_ids: set[int]) -> dict[int, set[str]]:
    hidden: dict[int, set[str]] = {}
    rows = session.execute(
        select(SubmissionVersion.id, SubmissionVersion.xml).where(
            SubmissionVersion.id.in_(sorted(version_ids))
        )
    )
    for version_id, xml in rows:
        root = parse(xml)
        for path in plan.omitted_binary:
            nodes = [root]  # every instance of each step: a repeat holds the question many times
            for name in path.strip("/").split("/")[1:]:
                nodes = [c for n in nodes for c in n if local(c.tag) == name]
            for node in nodes:
                if (node.text or "").strip():
                    hidden.setdefault(version_id, set()).add(node.text.strip())
    return hidden


def record_export(
    session: Session, principal: Principal, plan: ExportPlan, kind: str, details: dict
) -> None:
    """The export's audit row: what was exported, in which format, with which filters, and
    whether special-category answers were in it (``specialCategory``)."""
    audit.record(
        session,
        principal.actor_id,
        "submission.export",
        "form",
        plan.form_id,
        {**plan.audit_details(), "format": kind, **details},
    )
