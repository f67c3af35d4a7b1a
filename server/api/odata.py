"""OData feeds as ODK Central serves them (pyodk's ``get_table`` and ``entities.merge``; Excel
and Power BI "From OData feed"): a form's submissions under /forms/{formId}.svc and an entity
list under /datasets/{name}.svc."""

from __future__ import annotations

import json
from urllib.parse import quote

from flask import Response, g, jsonify, request, stream_with_context

from server.api import bp, is_true
from server.db import get_db
from server.services import odata
from server.services.odata import BadQuery, Query

SVC = "/projects/<int:project_id>/forms/<xml_form_id>.svc"


def _base_url(project_id: int, xml_form_id: str) -> str:
    form = quote(xml_form_id, safe="")  # a form id may hold '/' or '%'
    return f"{request.host_url.rstrip('/')}/v1/projects/{project_id}/forms/{form}.svc"


DATASET_SVC = "/projects/<int:project_id>/datasets/<name>.svc"


@bp.get(DATASET_SVC)
def entity_odata_service(project_id: int, name: str) -> Response:
    with get_db().transaction(write=False) as session:
        names = odata.entity_service_document(session, g.principal, project_id, name)
    return _service_document(_dataset_url(project_id, name), names)


@bp.get(f"{DATASET_SVC}/$metadata")
def entity_odata_metadata(project_id: int, name: str) -> Response:
    with get_db().transaction(write=False) as session:
        body = odata.entity_metadata(session, g.principal, project_id, name)
    return Response(body, content_type="application/xml; charset=utf-8")


@bp.get(f"{DATASET_SVC}/Entities")
def entity_odata_table(project_id: int, name: str) -> Response:
    query = _query()
    with get_db().transaction() as session:
        body = odata.entity_table(
            session, g.principal, project_id, name, query, _dataset_url(project_id, name)
        )
    response = jsonify(body)
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _dataset_url(project_id: int, name: str) -> str:
    return f"{request.host_url.rstrip('/')}/v1/projects/{project_id}/datasets/{name}.svc"


@bp.get(SVC)
def odata_service(project_id: int, xml_form_id: str) -> Response:
    with get_db().transaction(write=False) as session:
        names = odata.service_document(session, g.principal, project_id, xml_form_id)
    return _service_document(_base_url(project_id, xml_form_id), names)


def _service_document(base: str, names: list[str]) -> Response:
    return jsonify(
        {
            "@odata.context": f"{base}/$metadata",
            "value": [{"name": n, "kind": "EntitySet", "url": n} for n in names],
        }
    )


@bp.get(f"{SVC}/$metadata")
def odata_metadata(project_id: int, xml_form_id: str) -> Response:
    with get_db().transaction(write=False) as session:
        body = odata.metadata(session, g.principal, project_id, xml_form_id)
    return Response(body, content_type="application/xml; charset=utf-8")


@bp.get(f"{SVC}/<table>")
def odata_table(project_id: int, xml_form_id: str, table: str) -> Response:
    """Streamed a batch of submissions at a time, so a form of 100,000 is never held whole;
    ``@odata.count`` and ``@odata.nextLink`` come after the rows."""
    query = _query()
    with get_db().transaction() as session:
        plan = odata.plan_table(
            session,
            g.principal,
            project_id,
            xml_form_id,
            table,
            query,
            _base_url(project_id, xml_form_id),
        )

    def generate():
        yield json.dumps(plan.head(), ensure_ascii=False)[:-1] + ', "value": ['
        with get_db().transaction(write=False) as session:
            for index, row in enumerate(odata.table_rows(session, plan)):
                yield ("," if index else "") + json.dumps(row, ensure_ascii=False)
        tail = json.dumps(plan.tail(), ensure_ascii=False)
        yield "]" + ("" if tail == "{}" else ", " + tail[1:-1]) + "}"

    response = Response(stream_with_context(generate()), content_type="application/json")
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _query() -> Query:
    args = request.args
    unsupported = sorted(k for k in args if k.startswith("$") and k not in _KNOWN)
    if unsupported:
        raise BadQuery(f"{unsupported[0]} is not supported here.")
    if args.get("$expand", "*") != "*":
        raise BadQuery("$expand takes only '*' (every repeat inline), as in Central.")
    try:
        top = int(args["$top"]) if "$top" in args else None
        skip = int(args.get("$skip", "0") or 0)
    except ValueError:
        raise BadQuery("$top and $skip are whole numbers.") from None
    return Query(
        top=top,
        skip=skip,
        count=is_true(args.get("$count")),
        filter=args.get("$filter") or None,
        wkt=is_true(args.get("$wkt")),
        select=args.get("$select") or None,
        orderby=args.get("$orderby") or None,
        expand="$expand" in args,
    )


_KNOWN = {"$top", "$skip", "$count", "$filter", "$wkt", "$select", "$format", "$orderby", "$expand"}
