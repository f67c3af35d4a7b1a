"""Third-party assets served from their Python packages (never a CDN): Leaflet for maps."""

from __future__ import annotations

import xstatic.pkg.leaflet as leaflet
from flask import Response, send_from_directory

from server.web import bp


@bp.get("/static/vendor/leaflet/<path:filename>")
def vendor(filename: str) -> Response:
    response = send_from_directory(leaflet.BASE_DIR, filename, max_age=7 * 86400)
    return response
