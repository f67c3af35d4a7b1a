"""Errors raised by forms/: each carries a message a form author or a device can act on."""

from __future__ import annotations


class XmlError(ValueError):
    """XML that is malformed or hostile (DOCTYPE, entities)."""


class FormError(ValueError):
    """A form that cannot be compiled or read; names the sheet and row when known."""

    def __init__(self, message: str, sheet: str | None = None, row: int | None = None):
        super().__init__(message)
        self.message = message
        self.sheet = sheet
        self.row = row

    def __str__(self) -> str:
        where = []
        if self.sheet:
            where.append(f"sheet '{self.sheet}'")
        if self.row:
            where.append(f"row {self.row}")
        prefix = (
            f"[{', '.join(where)}] " if where and f"row : {self.row}" not in self.message else ""
        )
        return prefix + self.message


class InstanceError(ValueError):
    """A submission instance that lacks what the protocol requires (e.g. the form id)."""
