"""The plan ("kế hoạch", domain decision 6): a project's targets for a year as a table (cards on
a phone); for callers with target.update, a form to add or change a target and a button to
remove one. The checks, the rules and the audit are services/targets.py's."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import Response, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from server.auth.permissions import can, may_set_target
from server.db import get_db
from server.extension import get_settings
from server.services import indicator_catalogue, places, projects, targets
from server.web import bp


@bp.get("/projects/<int:project_id>/targets")
def list_targets(project_id: int) -> Response | str:
    return _page(project_id, _year(request.args.get("year")), request.args)


@bp.post("/projects/<int:project_id>/targets")
def set_target(project_id: int) -> Response | str:
    """Add a target or change its number (the same indicator, scope and period)."""
    return _write(project_id, request.form.get("planned", ""), "saved")


@bp.post("/projects/<int:project_id>/targets/remove")
def remove_target(project_id: int) -> Response | str:
    return _write(project_id, None, "removed")


def _write(project_id: int, planned: str | None, done: str) -> Response | str:
    form = request.form
    kind, _sep, value = form.get("scope", "").partition(":")
    row = targets.TargetInput(
        kind, value, form.get("indicator", ""), form.get("period", ""), planned
    )
    parsed = targets.parse_period(row.period)
    year = parsed[1].year if parsed else _year(form.get("year"))
    try:
        with get_db().transaction() as session:
            targets.set_targets(session, g.principal, project_id, [row])
    except targets.InvalidTargets as problem:
        errors = [_sentence(p) for p in problem.problems]
        return _page(project_id, year, form, errors, status=400)
    return redirect(url_for("web.list_targets", project_id=project_id, year=year, changed=done))


def _page(project_id: int, year: int, chosen, errors=(), status: int = 200) -> Response:
    with get_db().transaction(write=False) as session:
        project = projects.get_project(session, project_id)
        plan = targets.list_targets(
            session, g.principal, project_id, targets.TargetFilters(period=str(year))
        )
        scopes = targets.writable_scopes(g.principal, project_id)
    html = render_template(
        "web/targets.html",
        project=project,
        year=year,
        rows=[_shown(project_id, row) for row in plan],
        may_write=can(g.principal, "target.update", project_id),
        scopes=scopes,
        models=[(code, model_name(code)) for code in scopes.models],
        indicators=[(i.code, _name(i)) for i in indicator_catalogue.CATALOGUE if i.targetable],
        periods=_periods(year),
        chosen=chosen,
        errors=list(errors),
    )
    return Response(html, status=status, content_type="text/html; charset=utf-8")


def _year(text: str | None) -> int:
    """The year asked for, or this year where the programme works."""
    if text and text.strip().isdigit() and 2000 <= int(text) <= 2100:
        return int(text)
    return datetime.now(ZoneInfo(get_settings().timezone)).year


def _english() -> bool:
    return str(get_locale() or "vi") == "en"


def _name(entry: indicator_catalogue.Indicator) -> str:
    return entry.name_en if _english() else entry.name_vi


def model_name(code: str) -> str:
    vi, en = targets.models().get(code, (code, code))
    return en if _english() else vi


def scope_name(kind: str, value: str) -> str:
    """ "Phường Bồ Đề (00118)", "Hà Nội (01)", "Mô hình cảnh sát chuyển gửi", "Whole project"."""
    if kind == "ward":
        names = {p.code: p.name for p in places.wards()}
        return f"{names.get(value, value)} ({value})"
    if kind == "province":
        return f"{places.PROVINCES.get(value, value)} ({value})"
    if kind == "model":
        return model_name(value)
    return _("Whole project")


def period_label(kind: str, start: date) -> str:
    """ "Năm 2026", "Quý 1/2026", "Tháng 3/2026"."""
    if kind == "year":
        return _("Year %(year)s", year=start.year)
    if kind == "quarter":
        return _(
            "Quarter %(quarter)s/%(year)s", quarter=(start.month - 1) // 3 + 1, year=start.year
        )
    return _("Month %(month)s/%(year)s", month=start.month, year=start.year)


def _periods(year: int) -> list[tuple[str, str]]:
    """The periods of the year the form offers: the year, its quarters, its months."""
    starts = [("year", date(year, 1, 1))]
    starts += [("quarter", date(year, m, 1)) for m in (1, 4, 7, 10)]
    starts += [("month", date(year, m, 1)) for m in range(1, 13)]
    return [(targets.period_name(k, s), period_label(k, s)) for k, s in starts]


def _shown(project_id: int, row: targets.TargetView) -> dict:
    entry = indicator_catalogue.BY_CODE.get(row.indicator)
    return {
        "indicator": row.indicator,
        "name": _name(entry) if entry else row.indicator,
        "scope": f"{row.scope_kind}:{row.scope_value}",
        "scope_name": scope_name(row.scope_kind, row.scope_value),
        "period": row.period,
        "period_name": period_label(row.period_kind, row.period_start),
        "planned": targets.number_json(row.planned),
        "updated_at": row.updated_at,
        "updated_by": row.updated_by,
        "writable": may_set_target(g.principal, project_id, row.scope_kind, row.scope_value),
    }


def _sentence(problem: targets.RowProblem) -> str:
    """What is wrong with the row, in the reader's language."""
    entry = indicator_catalogue.BY_CODE.get(str(problem.value))
    name = _name(entry) if entry else str(problem.value)
    code = str(problem.value)
    sentences = {
        "unknown_province": lambda: _("%(code)s is not a province of the list.", code=code),
        "unknown_ward": lambda: _("%(code)s is not a commune/ward code of the list.", code=code),
        "unknown_model": lambda: _("%(code)s is not a programme model.", code=code),
        "unknown_indicator": lambda: _("Choose an indicator of the list."),
        "not_targetable": lambda: _(
            "%(name)s is computed from other figures: it has no plan target.", name=name
        ),
        "bad_period": lambda: _("Choose a year, a quarter or a month."),
        "not_a_number": lambda: _("Write the planned number in digits, for example 150."),
        "negative": lambda: _("The planned number cannot be negative."),
        "too_large": lambda: _("The planned number is too large for a plan."),
        "above_100": lambda: _("This indicator is a percentage: its target is at most 100."),
        "not_whole": lambda: _(
            "This indicator counts people or events: its target is a whole number."
        ),
    }
    return sentences.get(problem.reason, lambda: _("Choose where the target applies."))()
