"""The indicators page of a project (period, scope, each indicator against its target, trend
and breakdowns), the records behind one number, and the same figures as an XLSX workbook."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from flask import Response, g, render_template, request
from flask_babel import get_locale

from server.api.indicator_report import xlsx_response
from server.db import get_db
from server.errors import Problem
from server.extension import get_settings
from server.services import (
    indicator_report,
    indicator_views,
    indicator_words,
    indicators,
    projects,
)
from server.web import bp, render_error

#: The query keys the page keeps from one request to the next (the filter form's fields).
SHOWN = 500  # rows of a drill-down page: the first ones records() gives, and how many in all
KEPT = ("period", "month", "quarter", "from", "to", "province", "ward", "model")


def _request_filters():
    """(period, scope, the filter form's values) of the query string, or a Problem."""
    settings = get_settings()
    today = datetime.now(ZoneInfo(settings.timezone)).date()
    args = {k: request.args.get(k, "") for k in KEPT}
    period = indicator_views.resolve_period(args, today)
    return period, args, today


def _language() -> str:
    return str(get_locale() or "vi")


def _query(period, scope, **extra) -> str:
    """The query string naming this period and scope exactly (for links and downloads)."""
    keys = {
        "period": "range",
        "from": period.first.isoformat(),
        "to": period.last.isoformat(),
        "province": scope.province or "",
        "ward": scope.ward or "",
        "model": scope.model or "",
        **extra,
    }
    return urlencode({k: v for k, v in keys.items() if v})


@bp.get("/projects/<int:project_id>/indicators")
def show_indicators(project_id: int) -> Response | str:
    language = _language()
    try:
        period, args, today = _request_filters()
    except Problem as problem:
        return render_error(400, detail=problem.message)
    with get_db().transaction(write=False) as session:
        project = projects.get_project(session, project_id)
        scope = indicators.scope_from(args)
        board = indicator_views.dashboard(
            session, g.principal, project_id, period, scope, language, get_settings().timezone
        )
    options = indicator_views.scope_options(g.principal, project_id, language)
    return render_template(
        "web/indicators.html",
        project=project,
        board=board,
        options=options,
        kept=args,
        today=today,
        query=_query(period, scope),
        scope_text=indicator_words.scope_text(scope, language),
        period_text=f"{indicator_words.day_text(period.first)} – "
        f"{indicator_words.day_text(period.last)}",
    )


@bp.get("/projects/<int:project_id>/indicators/<code>/records")
def indicator_records(project_id: int, code: str) -> Response | str:
    language = _language()
    try:
        period, args, _today = _request_filters()
        cell = indicator_views.parse_cell(request.args.get("cell"))
    except Problem as problem:
        return render_error(400, detail=problem.message)
    with get_db().transaction() as session:  # the look is audited
        project = projects.get_project(session, project_id)
        scope = indicators.scope_from(args)
        rows = indicator_views.record_rows(
            session, g.principal, project_id, code, period, scope, cell
        )
    dimension = cell[0] if cell else None
    return render_template(
        "web/indicator_records.html",
        project=project,
        code=code,
        name=indicator_views.indicator_name(code, language),
        cell_text=(
            f"{indicator_words.word(dimension, language)}: "
            f"{indicator_words.breakdown_label(dimension, cell[1], language)}"
            if cell
            else None
        ),
        rows=rows[:SHOWN],
        total=len(rows),
        scope_text=indicator_words.scope_text(scope, language),
        period_text=f"{indicator_words.day_text(period.first)} – "
        f"{indicator_words.day_text(period.last)}",
        back=f"/projects/{project_id}/indicators?{_query(period, scope)}",
    )


@bp.get("/projects/<int:project_id>/indicators.xlsx")
def indicators_xlsx(project_id: int) -> Response:
    """The page's figures as the workbook a ward or district sends up; audited as an export."""
    try:
        period, args, _today = _request_filters()
    except Problem as problem:
        return render_error(400, detail=problem.message)
    with get_db().transaction() as session:
        scope = indicators.scope_from(args)
        book = indicator_report.build(
            session,
            g.principal,
            project_id,
            period.first,
            period.last,
            scope,
            _language(),
            get_settings().timezone,
        )
    return xlsx_response(book)
