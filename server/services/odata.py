"""A form's submissions, and an entity list, as ODK Central's OData feeds (pyodk's
``get_table`` and ``entities.merge``, Excel and Power BI "From OData feed"): the service
document, $metadata, and each table with $top, $skip, $count, $filter on __system fields,
$select and $wkt. Only the caller's wards; every read of a table is audited as an export."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

from sqlalchemy import and_, func, not_, or_, select
from sqlalchemy.orm import Session

import forms
from forms import odata
from server.auth.permissions import Principal, require
from server.errors import NotFound, Problem
from server.models.actors import Actor
from server.models.entities import Entity
from server.models.forms import FormVersion
from server.models.submissions import Submission, SubmissionAttachment, SubmissionVersion
from server.models.types import utcnow
from server.services import audit, entities, entity_api, paging
from server.services import forms as form_service
from server.services.submissions import form_or_404, live_in_scope, version_count

MAX_TOP = 10_000


class BadQuery(Problem):
    code, status = "400.91", 400
    message = "The OData query is not one this server reads."


@dataclass(frozen=True, slots=True)
class Query:
    top: int | None = None
    skip: int = 0
    count: bool = False
    filter: str | None = None
    wkt: bool = False
    select: str | None = None
    orderby: str | None = None
    expand: bool = False  # $expand=*: each repeat's rows inline in their parent's


#: What $orderby may name on submissions, as Central's (lib/data/submission.js), with or
#: without $root/Submissions/.
ORDERABLE = {
    "__id": Submission.instance_id,
    "__system/submissionDate": Submission.created_at,
    "__system/updatedAt": Submission.updated_at,
    "__system/submitterId": Submission.submitter_id,
    "__system/reviewState": Submission.review_state,
}


def order_clauses(text: str | None) -> list:
    """$orderby as SQL: ascending puts nulls first, descending last, and the submission's id
    follows in the first clause's direction (Central's stable order); newest first when
    there is none. BadQuery for a field or direction Central would not take."""
    if not text:
        return [Submission.id.desc()]
    clauses, first = [], None
    for part in text.split(","):
        words = part.split()
        if not words or len(words) > 2:
            raise BadQuery(f"$orderby cannot be read at '{part.strip()}'.")
        name = words[0].removeprefix("$root/Submissions/")
        direction = words[1].lower() if len(words) == 2 else "asc"
        if name not in ORDERABLE or direction not in ("asc", "desc"):
            raise BadQuery(
                f"$orderby takes {', '.join(ORDERABLE)} with asc or desc, not '{part.strip()}'."
            )
        column = ORDERABLE[name]
        clauses.append(
            column.desc().nulls_last() if direction == "desc" else column.asc().nulls_first()
        )
        first = first or direction
    clauses.append(Submission.id.desc() if first == "desc" else Submission.id.asc())
    return clauses


def _schema(session: Session, principal: Principal, project_id: int, xml_form_id: str):
    require(principal, "submission.read", project_id, xml_form_id)
    form = form_or_404(session, project_id, xml_form_id)
    version = session.get(FormVersion, form.current_version_id or form.draft_version_id)
    return form, form_service.schema_of(session, version)


def service_document(
    session: Session, principal: Principal, project_id: int, xml_form_id: str
) -> list[str]:
    """The names of the form's tables."""
    _form, schema = _schema(session, principal, project_id, xml_form_id)
    return [t.name for t in odata.tables(schema)]


def metadata(session: Session, principal: Principal, project_id: int, xml_form_id: str) -> bytes:
    _form, schema = _schema(session, principal, project_id, xml_form_id)
    return odata.metadata(schema)


#: What each filterable __system field is in the database, and how its values are read.
SUBMISSION_FIELDS = {
    "__id": (Submission.instance_id, "text"),
    "submissionDate": (Submission.created_at, "date"),
    "updatedAt": (Submission.updated_at, "date"),
    "submitterId": (Submission.submitter_id, "number"),
    "reviewState": (Submission.review_state, "text"),
    "deviceId": (Submission.device_id, "text"),
}
ENTITY_FIELDS = {
    "__id": (Entity.uuid, "text"),
    "createdAt": (Entity.created_at, "date"),
    "updatedAt": (Entity.updated_at, "date"),
    "creatorId": (Entity.creator_id, "number"),
    "version": (Entity.version, "number"),
    "conflict": (Entity.conflict, "text"),
}


def filter_clause(text: str, fields: dict):
    """A $filter as one SQL condition on the ``fields`` it may compare; BadQuery otherwise."""
    try:
        return _clause(odata.parse_filter(text, tuple(fields)), fields)
    except odata.FilterError as e:
        raise BadQuery(str(e)) from None


def _value(name: str, kind: str, literal: odata.Literal):
    if literal.kind == "null":
        return None
    if kind == "date":
        if literal.kind != "date":
            raise BadQuery(f"__system/{name} is compared with a date, not '{literal.text}'.")
        moment = datetime.fromisoformat(literal.text.replace("Z", "+00:00"))
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if kind == "number":
        try:
            return int(literal.text)
        except ValueError:
            raise BadQuery(f"__system/{name} is compared with a number.") from None
    return literal.text


def _clause(tree, fields: dict):
    kind = tree[0]
    if kind == "and":
        return and_(_clause(tree[1], fields), _clause(tree[2], fields))
    if kind == "or":
        return or_(_clause(tree[1], fields), _clause(tree[2], fields))
    if kind == "not":
        return not_(_clause(tree[1], fields))
    _cmp, op, name, literal, *part = tree
    column, value_kind = fields[name]
    if part:  # year(...), month(...): a number taken from a date (UTC, as Central's)
        if value_kind != "date":
            raise BadQuery(f"{part[0]}() takes a date, not __system/{name}.")
        column, value_kind = func.extract(part[0], column), "number"
    if literal.kind == "now" and value_kind != "date":
        raise BadQuery(f"now() is a moment; __system/{name} is not.")
    value = utcnow() if literal.kind == "now" else _value(name, value_kind, literal)
    if value is None:
        if op not in ("eq", "ne"):
            raise BadQuery("null is compared only with eq or ne.")
        return column.is_(None) if op == "eq" else column.is_not(None)
    # OData's two-valued logic: a null field compares false (so `not` makes it true), where
    # SQL would make the whole condition unknown.
    if op == "ne":
        return or_(column.is_(None), column != value)
    compared = {
        "eq": column == value,
        "gt": column > value,
        "ge": column >= value,
        "lt": column < value,
        "le": column <= value,
    }[op]
    return and_(column.is_not(None), compared)


@dataclass
class TablePlan:
    """A checked read of one table: what to read, and (once read) how many rows matched."""

    name: str
    schema: forms.FormSchema
    where: list
    repeat: bool
    total: int  # submissions matched; for a repeat table, its rows once they are all read
    base_url: str
    query: Query

    def head(self) -> dict:
        return {"@odata.context": f"{self.base_url}/$metadata#{self.name}"}

    def tail(self) -> dict:
        """``@odata.count`` when asked, ``@odata.nextLink`` when $top left rows out."""
        out: dict = {}
        if self.query.count:
            out["@odata.count"] = self.total
        _add_next_link(out, self.base_url, self.name, self.query, self.total)
        return out


def plan_table(
    session: Session,
    principal: Principal,
    project_id: int,
    xml_form_id: str,
    name: str,
    query: Query,
    base_url: str,
) -> TablePlan:
    """Check a read of one table (the caller, the table, the query), record it in the audit
    log, and count the submissions it reaches; ``table_rows`` then streams the rows."""
    form, schema = _schema(session, principal, project_id, xml_form_id)
    wanted = next((t for t in odata.tables(schema) if t.name == name), None)
    if wanted is None:
        raise NotFound(f"The form '{xml_form_id}' has no table '{name}'.")
    _check_paging(query)
    order_clauses(query.orderby)  # refused now, before the answer starts
    if query.select:
        _check_select(query.select, odata.select_paths(schema, wanted))
    where = live_in_scope(principal, project_id, form)
    if query.filter:
        where.append(filter_clause(query.filter, SUBMISSION_FIELDS))
    matched = session.scalar(select(func.count()).select_from(Submission).where(*where)) or 0
    audit.record(
        session,
        principal.actor_id,
        "submission.export",
        "form",
        form.id,
        {
            "odata": name,
            "submissions": matched,
            **({"filter": query.filter} if query.filter else {}),
        },
    )
    return TablePlan(name, schema, where, wanted.parent is not None, matched, base_url, query)


def table_rows(session: Session, plan: TablePlan) -> Iterator[dict]:
    """The rows of the planned read, newest submission first, a batch of 500 at a time."""
    query = plan.query
    if not plan.repeat:
        statement = _base_query(plan.where, query.orderby).offset(query.skip)
        if query.top is not None:
            statement = statement.limit(query.top)
        for batch in session.execute(statement.execution_options(yield_per=500)).partitions(500):
            for tables in _rows_of(session, plan.schema, batch, query.wkt, query.expand):
                yield _selected(tables[odata.SUBMISSIONS][0], query.select)
        return
    end = None if query.top is None else query.skip + query.top
    seen = 0
    statement = _base_query(plan.where, query.orderby).execution_options(yield_per=500)
    for batch in session.execute(statement).partitions(500):
        for tables in _rows_of(session, plan.schema, batch, query.wkt, query.expand):
            for row in tables.get(plan.name, []):
                if seen >= query.skip and (end is None or seen < end):
                    yield _selected(row, query.select)
                seen += 1
    plan.total = seen


def _check_select(select_text: str, columns) -> None:
    names = {n.strip() for n in select_text.split(",") if n.strip()}
    unknown = sorted(names - set(columns))
    if unknown:
        raise BadQuery(f"$select names '{unknown[0]}', which this table does not have.")


def _selected(row: dict, select_text: str | None) -> dict:
    """Only the properties $select names, top-level or nested (__id is always kept)."""
    if not select_text:
        return row
    return odata.select_row(row, [n.strip() for n in select_text.split(",") if n.strip()])


def _add_next_link(out: dict, base_url: str, name: str, query: Query, total: int) -> None:
    """``@odata.nextLink`` to the next page when $top left rows out, keeping the query."""
    if query.top is None or query.skip + query.top >= total:
        return
    params: dict = {"$top": query.top, "$skip": query.skip + query.top}
    for key, value in (
        ("$filter", query.filter),
        ("$select", query.select),
        ("$orderby", query.orderby),
    ):
        if value:
            params[key] = value
    if query.count:
        params["$count"] = "true"
    if query.wkt:
        params["$wkt"] = "true"
    out["@odata.nextLink"] = f"{base_url}/{name}?{urlencode(params)}"


def _check_paging(query: Query) -> None:
    if (query.top is not None and not 0 <= query.top <= MAX_TOP) or not (
        0 <= query.skip <= paging.MAX_NUMBER
    ):
        raise BadQuery(f"$top is between 0 and {MAX_TOP}, $skip between 0 and {paging.MAX_NUMBER}.")


def _base_query(where: list, orderby: str | None = None):
    versions = version_count()
    return (
        select(
            Submission,
            SubmissionVersion.id,
            SubmissionVersion.xml,
            SubmissionVersion.encrypted_key,
            FormVersion.version,
            Actor.display_name,
            versions,
        )
        .join(
            SubmissionVersion,
            (SubmissionVersion.submission_id == Submission.id) & SubmissionVersion.current,
        )
        .join(FormVersion, FormVersion.id == SubmissionVersion.form_version_id)
        .outerjoin(Actor, Actor.id == Submission.submitter_id)
        .where(*where)
        .order_by(*order_clauses(orderby))
    )


def _attachments(session: Session, version_ids: list[int]) -> dict[int, tuple[int, int]]:
    """(present, expected) files of each version."""
    if not version_ids:
        return {}
    rows = session.execute(
        select(
            SubmissionAttachment.submission_version_id,
            func.count(SubmissionAttachment.blob_id),
            func.count(),
        )
        .where(SubmissionAttachment.submission_version_id.in_(version_ids))
        .group_by(SubmissionAttachment.submission_version_id)
    ).all()
    return {version_id: (int(present), int(expected)) for version_id, present, expected in rows}


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _rows_of(
    session, schema, results, wkt: bool, expand: bool = False
) -> list[dict[str, list[dict]]]:
    files = _attachments(session, [r[1] for r in results])
    out = []
    for submission, version_id, xml, encrypted_key, form_version, submitter, count in results:
        present, expected = files.get(version_id, (0, 0))
        system = {
            "submissionDate": _iso(submission.created_at),
            "updatedAt": _iso(submission.updated_at),
            "submitterId": str(submission.submitter_id or ""),
            "submitterName": submitter,
            "attachmentsPresent": present,
            "attachmentsExpected": expected,
            "status": None,
            "reviewState": submission.review_state,
            "deviceId": submission.device_id,
            "edits": int(count) - 1,
            "formVersion": form_version,
        }
        if encrypted_key is not None:  # no answers to show: the server cannot read them
            tables = {odata.SUBMISSIONS: [{"__id": submission.instance_id}]}
        else:
            root = forms.read_instance(xml).root
            tables = odata.explode(schema, root, submission.instance_id, wkt, expand)
        tables[odata.SUBMISSIONS][0]["__system"] = system
        out.append(tables)
    return out


# --- Entities (pyodk's ``entities.get_table`` and ``entities.merge``) ---------------------


def entity_service_document(
    session: Session, principal: Principal, project_id: int, dataset_name: str
) -> list[str]:
    """An entity list's one table (NotFound when there is no such list)."""
    require(principal, "entity.read", project_id)
    entity_api.get_dataset(session, principal, project_id, dataset_name)
    return ["Entities"]


def entity_metadata(
    session: Session, principal: Principal, project_id: int, dataset_name: str
) -> bytes:
    require(principal, "entity.read", project_id)
    dataset = entity_api.get_dataset(session, principal, project_id, dataset_name)
    return odata.entity_metadata(dataset.name, entities.properties_of(session, dataset.id))


def entity_table(
    session: Session,
    principal: Principal,
    project_id: int,
    dataset_name: str,
    query: Query,
    base_url: str,
) -> dict:
    """The list's live entities the caller may read (its wards), oldest first, as Central's
    OData ``Entities`` table; audited as an export."""
    require(principal, "entity.read", project_id)
    dataset = entity_api.get_dataset(session, principal, project_id, dataset_name)
    _check_paging(query)
    if query.orderby or query.expand:
        raise BadQuery("$orderby and $expand are served on submissions, not entity lists.")
    where = (filter_clause(query.filter, ENTITY_FIELDS),) if query.filter else ()
    props = entities.properties_of(session, dataset.id)
    if query.select:
        _check_select(
            query.select, ["__id", "label", *(odata.odata_name(p) for p in props), "__system"]
        )
    names = dict(session.execute(select(Actor.id, Actor.display_name)).all())
    rows = []
    for entity in entities.visible_entities(session, principal, dataset, where=where):
        system = {
            "createdAt": _iso(entity.created_at),
            "creatorId": str(entity.creator_id or ""),
            "creatorName": names.get(entity.creator_id),
            "updates": entity.version - 1,
            "updatedAt": _iso(entity.updated_at),
            "version": entity.version,
            "conflict": entity.conflict,
        }
        row = {"__id": entity.uuid, "label": entity.label}
        row.update({odata.odata_name(p): entity.data.get(p, "") for p in props})
        row["__system"] = system
        rows.append(row)
    total = len(rows)
    end = None if query.top is None else query.skip + query.top
    value = [_selected(row, query.select) for row in rows[query.skip : end]]
    out: dict = {"@odata.context": f"{base_url}/$metadata#Entities", "value": value}
    if query.count:
        out["@odata.count"] = total
    _add_next_link(out, base_url, "Entities", query, total)
    audit.record(
        session,
        principal.actor_id,
        "entity.export",
        "dataset",
        dataset.id,
        {"odata": "Entities", "count": len(value)},
    )
    return out
