"""Security headers on every response (issue 6): no framing, no sniffing, no referrer, a
Content-Security-Policy without unsafe-inline on pages, HSTS over HTTPS."""

from __future__ import annotations

from flask import Response, request

from server.extension import get_settings


def content_security_policy(tile_url: str) -> str:
    images = "'self' data: blob:"
    if tile_url:
        images += " " + "/".join(tile_url.split("/", 3)[:3])  # scheme://host of the tiles
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src {images}",
            "media-src 'self'",
            "connect-src 'self'",
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    headers.setdefault(
        "Content-Security-Policy", content_security_policy(get_settings().map_tile_url)
    )
    if request.scheme == "https":  # a trusted proxy's X-Forwarded-Proto is in it
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response
