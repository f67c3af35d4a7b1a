"""WSGI middleware for Central's app-user URLs: /v1/key/{token}/... becomes /v1/... with the
token kept in the environ (Central's fieldKeyParser); ``?st={token}`` is accepted too. Draft
test URLs /v1/test/{token}/projects/{p}/forms/{f}/draft... are handled the same way."""

from __future__ import annotations

import re
from urllib.parse import parse_qs

FIELD_KEY_ENVIRON = "donghanh.field_key"
DRAFT_TOKEN_ENVIRON = "donghanh.draft_token"  # noqa: S105 (an environ key, not a secret)
ORIGINAL_PATH_ENVIRON = "donghanh.original_path"
_KEY_PATH = re.compile(r"^/v1/key/([^/]+)(/.*)$")
_TEST_PATH = re.compile(r"^/v1/test/([^/]+)(/projects/\d+/forms/[^/]+/draft(?:/.*|\.xml))$")
KEY_PREFIX_ENVIRON = "donghanh.key_prefix"


class FieldKeyMiddleware:
    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        environ[ORIGINAL_PATH_ENVIRON] = path
        if match := _KEY_PATH.match(path):
            environ[FIELD_KEY_ENVIRON] = match.group(1)
            environ[KEY_PREFIX_ENVIRON] = f"/v1/key/{match.group(1)}"
            environ["PATH_INFO"] = "/v1" + match.group(2)
        elif match := _TEST_PATH.match(path):
            # Draft testing (Central's /v1/test/{token}/...): reaches only that form's draft.
            environ[DRAFT_TOKEN_ENVIRON] = match.group(1)
            environ[KEY_PREFIX_ENVIRON] = f"/v1/test/{match.group(1)}"
            environ["PATH_INFO"] = "/v1" + match.group(2)
        elif path.startswith("/v1/") and "st=" in environ.get("QUERY_STRING", ""):
            token = parse_qs(environ["QUERY_STRING"]).get("st")
            if token:
                environ[FIELD_KEY_ENVIRON] = token[0]
                environ[KEY_PREFIX_ENVIRON] = f"/v1/key/{token[0]}"
        return self.app(environ, start_response)
