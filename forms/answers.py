"""Typed answers from an instance and its form's schema, keyed by XLSForm name.

Groups nest as objects and repeats as lists of objects (Central's JSON shape); numbers are
numbers, dates ISO strings, select_multiple lists, geopoints GeoJSON. The meta group is left
out: its facts travel beside the answers.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from decimal import Decimal, InvalidOperation

from lxml import etree

from forms.xform import Field, FormSchema
from forms.xml import local


def answers(
    schema: FormSchema,
    root: etree._Element,
    transform: Callable[[Field, object], object] | None = None,
) -> dict:
    """The instance's answers as a JSON-ready dict.

    ``transform(field, value)`` may replace a value (e.g. hash it); returning ``DROP`` leaves
    the answer out.
    """
    by_path = {f.path: f for f in schema.fields}
    return _group(root, f"/{schema.root_name}", by_path, transform)


class _Drop:
    def __repr__(self) -> str:
        return "DROP"


DROP = _Drop()


def _group(node, path, by_path, transform) -> dict:
    out: dict = {}
    for child in node:
        if not isinstance(child.tag, str):
            continue
        name = local(child.tag)
        child_path = f"{path}/{name}"
        field = by_path.get(child_path)
        if field is None or child_path == f"/{path.strip('/').split('/')[0]}/meta":
            continue
        if field.type == "repeat":
            out.setdefault(name, []).append(_group(child, child_path, by_path, transform))
        elif field.type == "group":
            out[name] = _group(child, child_path, by_path, transform)
        else:
            value = typed(field, child.text)
            if transform is not None:
                value = transform(field, value)
            if value is not DROP:
                out[name] = value
    return out


def typed(field: Field, text: str | None) -> object:
    """One answer as a JSON value; text that does not fit its type is kept as text."""
    if text is None or not text.strip():
        return None
    text = text.strip()
    kind = field.type
    try:
        if kind == "int":
            return int(text)
        if kind == "decimal":
            number = Decimal(text)
            if not number.is_finite():  # Infinity and NaN are not JSON numbers: keep the text
                return text
            return int(number) if number == number.to_integral_value() else float(number)
    except (ValueError, InvalidOperation, OverflowError):
        return text
    if field.control == "select" or kind == "select":
        return text.split()
    if kind == "geopoint":
        return _geopoint(text)
    return text


def _geopoint(text: str) -> object:
    parts = text.split()
    try:
        lat, lon, *rest = (float(p) for p in parts)
    except ValueError:
        return text
    point = {"type": "Point", "coordinates": [lon, lat, *rest[:1]]}
    if len(rest) > 1:
        point["properties"] = {"accuracy": rest[1]}
    return point


def leaves(schema: FormSchema, root: etree._Element) -> list[tuple[Field, str]]:
    """Every answered leaf (not groups, repeats or meta) with its text, in document order."""
    by_path = {f.path: f for f in schema.fields}
    meta = f"/{schema.root_name}/meta"
    out = []
    for el in root.iter():
        if not isinstance(el.tag, str) or len(el):
            continue
        path = "/" + "/".join(local(a.tag) for a in reversed(list(el.iterancestors())))
        path = f"{path}/{local(el.tag)}" if path != "/" else f"/{local(el.tag)}"
        field = by_path.get(path)
        if field is None or field.type in ("group", "repeat") or path.startswith(meta):
            continue
        text = (el.text or "").strip()
        if text:
            out.append((field, text))
    return out


def fold(text: str) -> str:
    """Lower case without diacritics ("Đỗ Thị Hà" -> "do thi ha"), for search in Vietnamese."""
    text = text.lower().replace("\u0111", "d")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))
