"""Every string of the web UI (templates and Python) has a Vietnamese translation, with the
same placeholders; the catalog holds nothing the code no longer says."""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from server.i18n import compile_catalogs

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "server/translations/vi/LC_MESSAGES/messages.po"
METHOD_MAP = [
    ("server/web/**.py", "python"),
    ("server/openrosa/**.py", "python"),  # what Collect shows volunteers
    ("server/web/templates/**.html", "jinja2"),
]


def extracted() -> Catalog:
    catalog = Catalog()
    for filename, lineno, message, comments, context in extract_from_dir(
        str(ROOT),
        METHOD_MAP,
        options_map={"server/web/templates/**.html": {}},
        keywords={**DEFAULT_KEYWORDS, "lazy_gettext": None},
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def vietnamese() -> Catalog:
    with PO.open("rb") as f:
        return read_po(f, locale="vi")


def test_the_ui_has_strings_to_translate():
    assert len([m for m in extracted() if m.id]) > 100


def test_every_ui_string_has_a_vietnamese_translation():
    vi = vietnamese()
    missing = []
    for message in extracted():
        if not message.id:
            continue
        found = vi.get(message.id)
        strings = (
            (found.string,)
            if found and isinstance(found.string, str)
            else (found.string if found else ("",))
        )
        if found is None or found.fuzzy or not all(s and s.strip() for s in strings):
            missing.append(message.id)
    assert missing == []


def test_translations_keep_their_placeholders():
    errors = [(m.id, [str(e) for e in errs]) for m, errs in vietnamese().check() if errs]
    assert errors == []


def test_the_catalog_holds_no_string_the_code_no_longer_uses():
    used = {m.id if isinstance(m.id, str) else tuple(m.id) for m in extracted() if m.id}
    kept = {m.id if isinstance(m.id, str) else tuple(m.id) for m in vietnamese() if m.id}
    assert kept - used == set()


def test_the_catalog_compiles(tmp_path):
    out = compile_catalogs(tmp_path)
    assert (out / "vi/LC_MESSAGES/messages.mo").stat().st_size > 5000
