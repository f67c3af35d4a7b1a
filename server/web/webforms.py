"""Forms in the browser (issue 16): the /f/{projectId}/{xmlFormId} page runs ODK Web Forms,
bundled at install time from npm (server/webforms, built into server/webforms/dist, never a
CDN). The page is a shell with no data: an app user's key comes after '#' and the page's script
calls the OpenRosa routes Collect uses (/v1/key/{key}/...), so form assignment, ward-scoped lists
and revocation apply unchanged. Its Content-Security-Policy allows only what the engine needs."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from flask import Response, abort, g, render_template, send_from_directory
from flask_babel import gettext as _

from server.extension import get_settings
from server.http.caller import WEB_FORMS_HEADER
from server.web import bp

DIST = Path(__file__).resolve().parents[1] / "webforms" / "dist"
_NAME = r"[A-Za-z_][A-Za-z0-9_.\-]{0,99}"


def bundle() -> dict:
    """The built bundle's manifest (entry file and every hashed file), read again when a new
    build replaced it."""
    path = DIST / "manifest.json"
    if not path.exists():
        raise RuntimeError("The web forms bundle is not built: run `make run` or `make webforms`.")
    return _manifest(path.stat().st_mtime_ns)


@cache
def _manifest(mtime_ns: int) -> dict:
    return json.loads((DIST / "manifest.json").read_text(encoding="utf-8"))


def page_policy(response: Response) -> Response:
    """What the Web Forms engine needs, and no more: WebAssembly compilation for its XPath
    parser, the inline styles it injects, data: fonts and images; geolocation and camera for
    questions that ask for a location or a photo (F5)."""
    response.headers["Content-Security-Policy"] = "; ".join(
        (
            "default-src 'self'",
            "script-src 'self' 'wasm-unsafe-eval'",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: blob:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "media-src 'self' blob:",
            "worker-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )
    response.headers["Permissions-Policy"] = "camera=(self), geolocation=(self), microphone=()"
    return response


def strings() -> dict[str, str]:
    return {
        "waiting": _("%(n)s finished form(s) wait to be sent."),
        "noneWaiting": _("No form waits to be sent."),
        "offline": _("No connection: finished forms are kept on this device and sent later."),
        "saved": _("The form is saved on this device."),
        "sent": _("Sent to the server."),
        "notSaved": _("The form could not be saved on this device"),
        "notAccepted": _("The server did not accept a waiting form"),
        "revoked": _(
            "This link no longer works: its access was revoked. What this device kept was deleted."
        ),
        "noKey": _("Open this page with the link your coordinator gave you."),
        "noForm": _("This form cannot be opened"),
        "noNetwork": _("No connection, and this form was not opened on this device before."),
        "personal": _(
            "Offline use is for a personal device only: forms and lists stay in this browser "
            "until they are sent, for at most %(hours)s hours."
        )
        % {"hours": get_settings().web_forms_offline_hours},
        "clear": _("Delete what this device keeps"),
        "loginAgain": _(
            "Your session has ended: log in again to send the finished forms this device keeps."
        ),
    }


def calendar() -> dict:
    """The words and the date order of the date questions' calendar (PrimeVue's locale, which
    Web Forms' date box reads): dd/mm/yyyy as Vietnamese users write dates, whatever the
    language, weeks from Monday; the rest in the page's language."""
    days = [_("Sun"), _("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat")]
    months = [_("month %(n)s", n=n) for n in range(1, 13)]
    return {
        "dateFormat": "dd/mm/yy",  # PrimeVue's yy is the four-digit year
        "firstDayOfWeek": 1,
        "dayNamesMin": days,
        "dayNamesShort": days,
        "monthNames": months,
        "monthNamesShort": months,
        "today": _("Today"),
        "clear": _("Clear the date"),
        "chooseDate": _("Choose a date"),
        "prevMonth": _("Previous month"),
        "nextMonth": _("Next month"),
    }


@bp.get("/f/<int:project_id>/<xml_form_id>")
def web_form(project_id: int, xml_form_id: str) -> Response:
    config = {
        "projectId": project_id,
        "formId": xml_form_id,
        "offlineHours": get_settings().web_forms_offline_hours,
        "workerUrl": "/f/sw.js",
        # A logged-in web user's page uses its session (and the header the OpenRosa routes
        # require with it: server/http/caller.py); an app user's link carries its key.
        "session": not g.principal.is_anonymous,
        "actorId": g.principal.actor_id,  # whose finished forms the outbox sends
        "sessionHeader": WEB_FORMS_HEADER,
        "strings": strings(),
        "calendar": calendar(),
    }
    html = render_template(
        "web/web_form.html",
        config=json.dumps(config, ensure_ascii=False).replace("</", "<\\/"),
        script=f"/f/assets/{bundle()['page']}",
    )
    response = Response(html, content_type="text/html; charset=utf-8")
    response.headers["Cache-Control"] = "no-cache"  # the service worker keeps it for offline
    return page_policy(response)


@bp.get("/f/assets/<name>")
def web_form_asset(name: str) -> Response:
    if name not in bundle()["files"]:
        abort(404)
    response = send_from_directory(DIST, name, max_age=365 * 86400)
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return page_policy(response)


@bp.get("/f/sw.js")
def web_form_worker() -> Response:
    assets = [f"/f/assets/{name}" for name in bundle()["files"]]
    source = (DIST / "sw.js").read_text(encoding="utf-8")
    body = f"const ASSETS = {json.dumps(assets)};\n{source}"
    response = Response(body, content_type="text/javascript; charset=utf-8")
    response.headers["Service-Worker-Allowed"] = "/f/"
    response.headers["Cache-Control"] = "no-cache"
    return page_policy(response)
