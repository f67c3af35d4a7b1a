"""Route on the path as the client sent it, so that a form id, dataset name or attachment
name may hold any character Central allows: `/`, `%`, `'`, emoji.

A WSGI server hands PATH_INFO already percent-decoded, so `/forms/a%2Fb/versions` arrives as
`/forms/a/b/versions` and matches no route. Central routes on the raw URL (express decodes
each parameter after matching). Here `RawPathMiddleware` rebuilds PATH_INFO from the raw
request target (gunicorn's RAW_URI, werkzeug's REQUEST_URI) decoding every escape except
`%2F` and `%25`, which stay escaped inside their segment; `SegmentConverter`, the app's
default URL converter, then decodes those two in each parameter. Without a raw target (an
unusual server) the decoded path is used as before.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote, urlsplit

from werkzeug.routing import BaseConverter

_ESCAPE = re.compile(rb"%([0-9A-Fa-f]{2})")
_KEPT_ESCAPE = re.compile(r"%(2[Ff]|25)")
#: Set in the WSGI environ when PATH_INFO holds the two escapes kept (see fully_decoded).
KEPT_MARK = "donghanh.path_keeps_escapes"
_KEPT = {b"2F", b"25"}  # '/' and '%': decoding either would change where a segment ends


def _decode_but_separators(raw: bytes) -> bytes:
    def one(match: re.Match[bytes]) -> bytes:
        code = match.group(1).upper()
        return b"%" + code if code in _KEPT else bytes([int(code, 16)])

    return _ESCAPE.sub(one, raw)


class RawPathMiddleware:
    """Rebuild PATH_INFO from the raw request target (see the module's docstring)."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
        if raw:
            path = _raw_path(raw)
            script = environ.get("SCRIPT_NAME", "")
            if path is not None and path.startswith(script):
                # WSGI strings are latin-1 stand-ins for bytes (PEP 3333), as PATH_INFO is.
                decoded = _decode_but_separators(path[len(script) :].encode("latin-1"))
                environ["PATH_INFO"] = decoded.decode("latin-1")
                environ[KEPT_MARK] = True
        return self.app(environ, start_response)


def fully_decoded(path: str) -> str:
    """A path rebuilt here as a WSGI server would have given it: the kept `%2F` and `%25`
    decoded too, in one pass (what Digest's ``uri`` is compared with)."""
    return _KEPT_ESCAPE.sub(lambda m: "%" if m.group(1) == "25" else "/", path)


def _raw_path(raw: str) -> str | None:
    if raw.startswith("/"):
        return raw.split("?", 1)[0].split("#", 1)[0]
    if "://" in raw:  # an absolute-form target (RFC 9112 3.2.2)
        return urlsplit(raw).path or "/"
    return None


class SegmentConverter(BaseConverter):
    """One path segment, its `%2F` and `%25` decoded (the middleware kept them escaped);
    building a URL escapes them again, so that url_for round-trips any form id."""

    regex = "[^/]+"

    def to_python(self, value: str) -> str:
        return unquote(value) if "%" in value else value

    def to_url(self, value: object) -> str:
        return quote(str(value), safe="!$&'()*+,:;=@")
