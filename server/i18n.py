"""Translations: the .po catalogs under server/translations are compiled to .mo at start-up,
into the instance folder, so that no compiled file is kept in git and none can go stale."""

from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

SOURCE = Path(__file__).resolve().parent / "translations"


def compile_catalogs(out_dir: Path, source: Path = SOURCE) -> Path:
    """Compile every <lang>/LC_MESSAGES/messages.po newer than its .mo; returns ``out_dir``."""
    for po_path in sorted(source.glob("*/LC_MESSAGES/messages.po")):
        mo_path = out_dir / po_path.relative_to(source).with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        mo_path.parent.mkdir(parents=True, exist_ok=True)
        with po_path.open("rb") as f:
            catalog = read_po(f, locale=po_path.parts[-3])
        tmp = mo_path.with_suffix(".mo.tmp")
        with tmp.open("wb") as f:
            write_mo(f, catalog, use_fuzzy=False)
        tmp.replace(mo_path)  # atomic: two workers starting together never read half a file
    return out_dir
