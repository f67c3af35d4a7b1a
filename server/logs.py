"""App-user keys and one-time password links never reach a log line (issue 11).

A key in the URL (``/v1/key/<token>/``, ``/v1/test/<token>/``, ``?st=<token>``) is a password:
whoever reads it downloads that phone's client list. gunicorn's access log writes the request
line as received, werkzeug's dev server too, and any line of ours could quote a path. Rather
than a filter per logger or handler (a child logger's records skip its parent's filters, and
handlers come and go), the process's log-record factory redacts every record once, as it is
made: gunicorn's master and workers, werkzeug, the worker thread and our own loggers alike.
"""

from __future__ import annotations

import logging
import re

REDACTED = "[redacted]"
# ``/reset/<token>`` is an administrator's one-time password link (server/web/account.py);
# ``/v1/sessions/<token>`` is Central's logout, which names a live session token.
_KEY_IN_PATH = re.compile(
    r"(/v1/(?:key|test)/|/reset/|/v1/sessions/(?!current\b))[^/\s?#\"']+"
)
_KEY_IN_QUERY = re.compile(r"([?&;]st=)[^&;\s#\"']+")
_MARKERS = ("/v1/key/", "/v1/test/", "st=", "/reset/", "/v1/sessions/")


def redact(text: str) -> str:
    """``text`` with every app-user key and one-time link replaced by [redacted]."""
    return _KEY_IN_QUERY.sub(rf"\1{REDACTED}", _KEY_IN_PATH.sub(rf"\1{REDACTED}", text))


def _mentions_a_key(record: logging.LogRecord) -> bool:
    parts = [record.msg]
    args = record.args
    if isinstance(args, dict):
        parts.extend(args.values())
    elif isinstance(args, tuple):
        parts.extend(args)
    return any(isinstance(p, str) and any(m in p for m in _MARKERS) for p in parts)


def install_redaction() -> None:
    """Make every log record of this process redact keys (idempotent)."""
    current = logging.getLogRecordFactory()
    if getattr(current, "redacts_keys", False):
        return

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = current(*args, **kwargs)
        if _mentions_a_key(record):
            try:
                message = record.getMessage()
            except (TypeError, ValueError, KeyError):
                return record  # a broken format string: logging reports it when it emits
            record.msg, record.args = redact(message), None
        return record

    factory.redacts_keys = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
