"""The bounds of a page of any list the server answers (work lists, entity lists, OData
tables, the audit log), in one place so that no edge lets a number through that the
database cannot take: a huge offset or id would otherwise reach SQLite or PostgreSQL as an
integer they overflow on (a 500 instead of a 400).

Nine digits, like the ids in the routes (app.BoundedInt): far beyond any list here.
"""

from __future__ import annotations

from server.errors import UnexpectedValue

MAX_NUMBER = 999_999_999


def check(value: int, field: str, least: int = 0) -> int:
    """``value`` when it lies within [least, MAX_NUMBER], else a 400 naming ``field``."""
    if not least <= value <= MAX_NUMBER:
        raise UnexpectedValue(
            f"{field} must be a whole number from {least} to {MAX_NUMBER}.", field=field
        )
    return value
