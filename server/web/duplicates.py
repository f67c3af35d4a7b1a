"""The review queue of suspected duplicate clients: each pair's two records side by side
(labels, not codes), "same person" (merge) and "not the same person", and the decisions of
the last 30 days with their undo."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Response, g, redirect, render_template, url_for
from flask_babel import get_locale, lazy_gettext

from server.db import get_db
from server.extension import get_settings, get_target_names
from server.services import duplicate_views, duplicates, indicator_words, projects
from server.web import bp, render_error
from server.web.inputs import DuplicateInput, read_form

QUEUE = "/projects/<int:project_id>/lists/<name>/duplicates"

#: The matcher's reasons (matching.compare) in words.
REASONS = {
    "same_uic": lazy_gettext("same client code"),
    "same_initials": lazy_gettext("same letters of the parents' names"),
    "one_letter": lazy_gettext("one letter differs"),
    "letters_differ": lazy_gettext("letters differ"),
    "initials_swapped": lazy_gettext("mother's and father's letters swapped"),
    "sex_differs": lazy_gettext("sex differs"),
    "same_birth_date": lazy_gettext("same date of birth"),
    "same_birth_year": lazy_gettext("same year of birth"),
    "birth_year_off_by_one": lazy_gettext("year of birth one apart"),
    "birth_year_differs": lazy_gettext("year of birth differs"),
    "same_ward": lazy_gettext("same ward"),
    "neighbouring_ward": lazy_gettext("another ward of the same province"),
    "other_province": lazy_gettext("another province"),
}


def _language() -> str:
    return str(get_locale() or "vi")


def _day(moment) -> str:
    """A decision's day as Vietnamese write it, in the programme's time zone."""
    if moment is None:
        return ""
    return indicator_words.day_text(moment.astimezone(ZoneInfo(get_settings().timezone)).date())


def _card(view: duplicates.PairView, language: str) -> dict:
    return {
        "view": view,
        "rows": duplicate_views.side_by_side(view.a, view.b, language),
        "reasons": [str(REASONS.get(r, r)) for r in view.reasons],
        "percent": round(view.score * 100),
        "decided": _day(view.decided_at),
        "undo_until": _day(view.undo_until),
        "wards": [
            indicator_words.place_name((c.data or {}).get("ma_xa")) for c in (view.a, view.b)
        ],
    }


@bp.get(QUEUE)
def list_duplicates(project_id: int, name: str) -> str:
    language = _language()
    with get_db().transaction() as session:  # the look at the two records is audited
        project = projects.get_project(session, project_id)
        pending = duplicates.list_pairs(session, g.principal, project_id, name)
        same = duplicates.list_pairs(session, g.principal, project_id, name, duplicates.SAME)
        apart = duplicates.list_pairs(session, g.principal, project_id, name, duplicates.DIFFERENT)
    decided = sorted(same + apart, key=lambda v: v.decided_at, reverse=True)
    return render_template(
        "web/duplicates.html",
        project=project,
        name=name,
        pending=[_card(v, language) for v in pending],
        decided=[_card(v, language) for v in decided],
        undo_days=duplicates.UNDO_DAYS,
    )


@bp.post(QUEUE + "/<a>/<b>")
def decide_duplicate(project_id: int, name: str, a: str, b: str) -> Response:
    data, errors = read_form(DuplicateInput())
    if errors:
        return render_error(400)
    with get_db().transaction() as session:
        if data["decision"] == "undo":
            duplicates.undo(session, g.principal, project_id, name, a, b, get_target_names())
        else:
            duplicates.decide(
                session,
                g.principal,
                project_id,
                name,
                a,
                b,
                data["decision"],
                data["keep"],
                get_target_names(),
            )
    done = {"same": "merged", "different": "kept_apart", "undo": "undone"}[data["decision"]]
    return redirect(url_for("web.list_duplicates", project_id=project_id, name=name, done=done))
