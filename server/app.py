"""The application factory: settings -> database -> blobs -> blueprints -> error handlers -> CLI."""

from __future__ import annotations

import importlib
import logging
from pathlib import Path

from flask import Flask, Response, jsonify, request
from flask_babel import Babel
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from server import blobs, spool
from server.db import Database
from server.errors import NotFound, Problem, TooLarge, problem_json
from server.extension import Extension
from server.files import private_folder
from server.http.proxy import TrustedProxyMiddleware
from server.http.raw_path import RawPathMiddleware, SegmentConverter
from server.i18n import compile_catalogs
from server.keys import FieldKeyMiddleware
from server.logs import install_redaction
from server.registers import load_targets
from server.security import add_security_headers
from server.settings import Settings

log = logging.getLogger("donghanh")
_OPENROSA_TAILS = ("/formList", "/submission", "/manifest", ".xml")
VIEW_MODULES = (
    "server.openrosa.formlist",
    "server.openrosa.submissions",
    "server.openrosa.drafts",
    "server.api.sessions",
    "server.api.users",
    "server.api.projects",
    "server.api.submissions",
    "server.api.deliveries",
    "server.api.forms",
    "server.api.entities",
    "server.api.clients",
    "server.api.duplicates",
    "server.api.audits",
    "server.api.odata",
    "server.api.targets",
    "server.api.indicators",
    "server.api.indicator_report",
    "server.api.worklists",
    "server.api.exports",
    "server.web.auth",
    "server.web.account",
    "server.web.assets",
    "server.web.dashboard",
    "server.web.submissions",
    "server.web.publishing",
    "server.web.people",
    "server.web.clients",
    "server.web.audits",
    "server.web.targets",
    "server.web.indicators",
    "server.web.worklists",
    "server.web.duplicates",
    "server.web.webforms",
    "server.web.exports",
)


def create_app(settings: Settings | None = None) -> Flask:
    """Build the Flask app; reads the environment only when ``settings`` is None."""
    settings = (settings or Settings.from_env()).with_secret_key()
    private_folder(settings.instance_path)  # 0700: the database, key, blobs live here
    logging.basicConfig(level=settings.log_level)
    install_redaction()  # app-user keys never reach a log line
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # Every process sweeps at start what a killed one left (safe beside live workers: a spool
    # in use is locked); a gunicorn worker killed by kill -9 is swept by its replacement.
    if swept := spool.prepare(settings.spool_path):
        log.warning("removed %d upload spool files left by a stopped process", swept)
    app = Flask(__name__, instance_path=settings.instance_path, static_folder=None)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_submission_bytes,
        MAX_FORM_MEMORY_SIZE=500_000,
        MAX_FORM_PARTS=1000,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
    )
    app.extensions["donghanh"] = Extension(
        settings=settings,
        db=Database(settings.database_url),
        blobs=blobs.from_url(settings.blob_store, settings.s3_endpoint_url),
        targets=load_targets(settings),
    )

    # Ids in URLs fit the database's 32-bit integer columns; a longer number is a 404, not a
    # 500 from the driver.
    app.url_map.converters["int"] = BoundedInt
    # A form id, dataset or attachment name may hold '/' or '%' (server/http/raw_path.py).
    app.url_map.converters["default"] = app.url_map.converters["string"] = SegmentConverter
    for module in VIEW_MODULES:  # importing a views module attaches its routes to its bp
        importlib.import_module(module)
    from server.api import bp as api_bp
    from server.api.deliveries import metrics_bp
    from server.openrosa import bp as openrosa_bp
    from server.web import bp as web_bp
    from server.web import select_locale

    app.register_blueprint(openrosa_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(metrics_bp)
    app.register_blueprint(web_bp)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(
        compile_catalogs(Path(settings.instance_path) / "translations")
    )
    app.config["BABEL_DEFAULT_LOCALE"] = "vi"
    app.config["BABEL_DEFAULT_TIMEZONE"] = settings.timezone
    Babel(app, locale_selector=select_locale)
    app.after_request(add_security_headers)
    _register_error_handlers(app)

    from server.cli import register_cli

    register_cli(app)
    app.wsgi_app = FieldKeyMiddleware(app.wsgi_app)
    app.wsgi_app = RawPathMiddleware(app.wsgi_app)
    # Outermost: the client's address and scheme are settled before anything reads them.
    app.wsgi_app = TrustedProxyMiddleware(app.wsgi_app, settings.trusted_networks)
    return app


class BoundedInt(IntegerConverter):
    """At most nine digits: every id fits a 32-bit column, and a longer number matches no
    route at all (404 for every method; a failed conversion would make werkzeug say 405)."""

    regex = r"\d{1,9}"


def _register_error_handlers(app: Flask) -> None:
    from server.openrosa import render_problem

    def render(problem: Problem) -> Response:
        path = request.path
        if path.startswith("/v1/") and path.endswith(_OPENROSA_TAILS):
            return render_problem(problem)
        if not path.startswith("/v1/") and path != "/metrics":
            from server.web import render_problem as render_page

            return render_page(problem)
        response = jsonify(problem_json(problem))
        response.status_code = problem.status
        return response

    @app.errorhandler(Problem)
    def _problem(problem: Problem):
        return render(problem)

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        if error.code == 404:
            return render(NotFound())
        if error.code == 413:
            return render(TooLarge())
        problem = Problem(error.description)
        problem.status, problem.code = error.code or 500, f"{error.code}.1"
        return render(problem)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return render(Problem())
