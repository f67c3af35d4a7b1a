"""GET /v1/projects/{id}/indicators.xlsx: the indicators report as an XLSX workbook, with the
query of the JSON indicators (from, to, ward, province, model); audited as an export. The
web page's download answers with the same response (xlsx_response)."""

from __future__ import annotations

from urllib.parse import quote

from flask import Response, g, request

from server.api import bp
from server.db import get_db
from server.extension import get_settings
from server.services import indicator_report, indicators


def xlsx_response(report: indicator_report.Report) -> Response:
    """The built workbook as a download, never cached."""
    response = Response(report.content, content_type=indicator_report.CONTENT_TYPE)
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{report.filename}\"; filename*=UTF-8''{quote(report.filename)}"
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/projects/<int:project_id>/indicators.xlsx")
def indicators_xlsx(project_id: int) -> Response:
    query = indicators.parse_query(request.args)  # the JSON route's rules: a 400 Problem
    language = request.accept_languages.best_match(["vi", "en"]) or "vi"
    with get_db().transaction() as session:
        report = indicator_report.build(
            session,
            g.principal,
            project_id,
            query.first,
            query.last,
            query.scope,
            language,
            get_settings().timezone,
        )
    return xlsx_response(report)
