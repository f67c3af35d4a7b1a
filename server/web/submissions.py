"""The review pages: a form's submissions with filters, one submission in full, its files,
review with a comment, comments, and retrying a delivery that failed for good."""

from __future__ import annotations

from urllib.parse import parse_qsl, quote, urlencode

from flask import Response, g, redirect, render_template, request, url_for
from flask_babel import get_locale

from server.api.exports import export_response
from server.blobs import iter_blob
from server.db import get_db
from server.extension import get_blobs, get_settings, get_target_names
from server.services import (
    clients,
    deliveries,
    form_reads,
    lifecycle,
    projects,
    review,
    submission_map,
    submissions,
)
from server.services.submissions import REVIEW_FILTERS
from server.web import bp, render_error
from server.web.inputs import CommentInput, ReviewInput, read_filters, read_form

BASE = "/projects/<int:project_id>/forms/<xml_form_id>/submissions"
#: The list's filters, carried from the list to a submission and back after its review.
LIST_KEYS = ("q", "since", "until", "submitter", "ward", "review", "delivery")
#: Served inline (shown in the page) only with these types, chosen from the file name's
#: extension and never from what the phone claimed; anything else is a download.
INLINE_TYPES = {
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "gif": "image/gif",
    "webp": "image/webp",
    "m4a": "audio/mp4",
    "mp3": "audio/mpeg",
    "ogg": "audio/ogg",
    "oga": "audio/ogg",
    "wav": "audio/wav",
    "aac": "audio/aac",
    "amr": "audio/amr",
    "3gp": "audio/3gpp",
    "mp4": "video/mp4",
    "webm": "video/webm",
}


@bp.get(BASE)
def list_submissions(project_id: int, xml_form_id: str) -> str:
    filters, kept = read_filters(get_settings().timezone)
    with get_db().transaction() as session:  # the look is audited
        project = projects.get_project(session, project_id)
        page = submissions.list_submissions(session, g.principal, project_id, xml_form_id, filters)
        options = submissions.filter_options(
            session, get_blobs(), g.principal, project_id, xml_form_id
        )
        form = form_reads.form_view(session, g.principal, project_id, xml_form_id)
        links = clients.submission_links(
            session, g.principal, project_id, [r.id for r in page.rows], _language()
        )
    query = list_query(request.args)
    next_url = (
        f"{request.path}?{urlencode({**query, 'before': page.next_before_id})}"
        if page.next_before_id
        else None
    )
    first_url = f"{request.path}?{urlencode(query)}" if "before" in request.args else None
    return render_template(
        "web/submissions.html",
        project=project,
        xml_form_id=xml_form_id,
        form_title=form.name or xml_form_id,
        page=page,
        options=options,
        kept=kept,
        review_filters=REVIEW_FILTERS,
        next_url=next_url,
        first_url=first_url,
        filtered=bool(query),
        links=links,
        row_query=urlencode(query),
        export_url=f"{request.path}.csv?{urlencode(query)}",
        map_url=f"{request.path}/map?{urlencode(query)}",
        job_url=f"{request.path}/exports?{urlencode(query)}",
    )


@bp.get(f"{BASE}/<instance_id>")
def show_submission(project_id: int, xml_form_id: str, instance_id: str) -> str:
    filters, _kept = read_filters(get_settings().timezone)
    with get_db().transaction() as session:  # writes the audit row of this look
        project = projects.get_project(session, project_id)
        args = (session, g.principal, project_id, xml_form_id, instance_id)
        detail = submissions.get_submission_detail(session, get_blobs(), *args[1:], _language())
        newer, older = submissions.neighbours(*args, filters)
        reviews = review.review_history(*args)
        link = clients.submission_links(
            session, g.principal, project_id, [detail.id], _language()
        ).get(detail.id)
    return render_template(
        "web/submission.html",
        project=project,
        s=detail,
        link=link,
        reviews=reviews,
        newer=newer,
        older=older,
        list_query=urlencode(list_query(request.args)),
    )


def list_query(args) -> dict[str, str]:
    """The list's filters among ``args`` (a query string or a posted ``back``), nothing else:
    never the paging, never a message."""
    return {k: args[k].strip() for k in LIST_KEYS if (args.get(k) or "").strip()}


def _language() -> str:
    return str(get_locale() or "vi")


@bp.post(f"{BASE}/<instance_id>/review")
def review_submission(project_id: int, xml_form_id: str, instance_id: str) -> Response:
    data, errors = read_form(ReviewInput())
    if errors:
        return render_error(400)
    with get_db().transaction() as session:
        review.set_review_state(
            session,
            g.principal,
            project_id,
            xml_form_id,
            instance_id,
            data["review_state"],
            get_target_names(),
        )
        if data["comment"].strip():
            submissions.add_comment(
                session, g.principal, project_id, xml_form_id, instance_id, data["comment"]
            )
    if data.get("back") is None:  # not posted from the page: back to the submission
        return _back(project_id, xml_form_id, instance_id, "reviewed")
    query = list_query(dict(parse_qsl(data["back"])))  # only the filters: never a URL
    target = url_for("web.list_submissions", project_id=project_id, xml_form_id=xml_form_id)
    return redirect(f"{target}?{urlencode({**query, 'done': 'reviewed'})}", 303)


@bp.post(f"{BASE}/<instance_id>/comments")
def comment_submission(project_id: int, xml_form_id: str, instance_id: str) -> Response:
    data, errors = read_form(CommentInput())
    if errors:
        return render_error(400)
    with get_db().transaction() as session:
        submissions.add_comment(
            session, g.principal, project_id, xml_form_id, instance_id, data["body"]
        )
    return _back(project_id, xml_form_id, instance_id, "commented")


@bp.post(f"{BASE}/<instance_id>/deliveries/<int:delivery_id>/retry")
def retry_delivery(
    project_id: int, xml_form_id: str, instance_id: str, delivery_id: int
) -> Response:
    with get_db().transaction() as session:
        submission_id = submissions.get_submission_id(
            session, g.principal, project_id, xml_form_id, instance_id, "submission.update"
        )
        deliveries.retry_for_submission(
            session, g.principal, project_id, submission_id, delivery_id
        )
    return _back(project_id, xml_form_id, instance_id, "retried")


def _back(project_id: int, xml_form_id: str, instance_id: str, done: str) -> Response:
    return redirect(
        url_for(
            "web.show_submission",
            project_id=project_id,
            xml_form_id=xml_form_id,
            instance_id=instance_id,
            done=done,
        ),
        303,
    )


@bp.get(f"{BASE}/<instance_id>/attachments/<name>")
def submission_attachment(
    project_id: int, xml_form_id: str, instance_id: str, name: str
) -> Response:
    """A photo, recording or file of the current version; every download is audited."""
    with get_db().transaction() as session:
        blob = submissions.get_attachment(
            session, g.principal, project_id, xml_form_id, instance_id, name
        )
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    inline = INLINE_TYPES.get(suffix)
    response = Response(
        iter_blob(get_blobs(), blob.sha256),
        content_type=inline or "application/octet-stream",
        direct_passthrough=True,
    )
    disposition = "inline" if inline else "attachment"
    response.headers["Content-Disposition"] = _disposition(disposition, name)
    response.headers["Content-Length"] = str(blob.size)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def _disposition(kind: str, name: str) -> str:
    from urllib.parse import quote

    ascii_name = "".join(c if (c.isascii() and c.isalnum()) or c in "._-" else "_" for c in name)
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"


@bp.post(f"{BASE}/<instance_id>/delete")
def delete_submission(project_id: int, xml_form_id: str, instance_id: str) -> Response:
    with get_db().transaction() as session:
        lifecycle.delete_submission(session, g.principal, project_id, xml_form_id, instance_id)
    return redirect(
        url_for("web.list_deleted", project_id=project_id, xml_form_id=xml_form_id, done="deleted"),
        303,
    )


@bp.get(f"{BASE}/deleted")
def list_deleted(project_id: int, xml_form_id: str) -> str:
    with get_db().transaction() as session:  # the look is audited
        project = projects.get_project(session, project_id)
        rows = lifecycle.list_deleted(session, g.principal, project_id, xml_form_id)
    return render_template("web/deleted.html", project=project, xml_form_id=xml_form_id, rows=rows)


@bp.post(f"{BASE}/<instance_id>/restore")
def restore_submission(project_id: int, xml_form_id: str, instance_id: str) -> Response:
    with get_db().transaction() as session:
        lifecycle.restore_submission(session, g.principal, project_id, xml_form_id, instance_id)
    return _back(project_id, xml_form_id, instance_id, "restored")


@bp.get(f"{BASE}.csv")
def export_submissions(project_id: int, xml_form_id: str) -> Response:
    """The list's submissions (with its filters) as CSV; the export is audited."""
    filters, _kept = read_filters(get_settings().timezone)
    return export_response(g.principal, project_id, xml_form_id, "csv", filters, {})


@bp.get(f"{BASE}/map")
def map_submissions(project_id: int, xml_form_id: str) -> str:
    """Where the list's submissions were made (their first GPS answer), on one map."""
    filters, _kept = read_filters(get_settings().timezone)
    with get_db().transaction() as session:  # writes the audit row of this look
        project = projects.get_project(session, project_id)
        points, total = submission_map.map_points(
            session, g.principal, project_id, xml_form_id, filters
        )
        form = form_reads.form_view(session, g.principal, project_id, xml_form_id)
    base = url_for("web.list_submissions", project_id=project_id, xml_form_id=xml_form_id)
    data = [
        {"lat": p.lat, "lon": p.lon, "name": p.name, "url": f"{base}/{quote(p.instance_id)}"}
        for p in points
    ]
    return render_template(
        "web/map.html",
        project=project,
        xml_form_id=xml_form_id,
        form_title=form.name or xml_form_id,
        points=data,
        total=total,
        limit=submission_map.MAP_LIMIT,
    )
