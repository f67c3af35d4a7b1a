"""Ward and site codes: the official communes/wards the forms offer (xlsforms/wards.csv) and a
project's facilities (its `facilities` reference list, whose entity names are the codes).
Codes given to phones and to ward-limited roles are checked here, once for every edge: a code
no list knows would silently give the phone no client and no referral."""

from __future__ import annotations

import csv
import functools
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.errors import UnexpectedValue
from server.models.entities import Dataset, Entity

WARDS_CSV = Path(__file__).resolve().parents[2] / "xlsforms" / "wards.csv"
FACILITIES = "facilities"  # xlsforms/entity_lists.json: name = facility code
PROVINCES = {"01": "Hà Nội", "66": "Đắk Lắk"}  # xlsforms/build_wards.py


@dataclass(frozen=True, slots=True)
class Place:
    """A ward or a facility as a picker shows it: its code, its name and its group."""

    code: str
    name: str
    group: str  # the province of a ward; empty for a facility


class UnknownCode(UnexpectedValue):
    """Codes that are not in the list they name (wards.csv, or the project's facilities)."""

    def __init__(self, kind: str, unknown: list[str], hints: dict[str, str]):
        where = (
            "commune/ward codes of xlsforms/wards.csv"
            if kind == "wards"
            else "facility codes of the project's facilities list"
        )
        told = ", ".join(f"{c} (did you mean {hints[c]}?)" if c in hints else c for c in unknown)
        super().__init__(f"These are not {where}: {told}.", field=kind, value=unknown)
        self.kind, self.unknown = kind, unknown


@functools.cache
def wards() -> tuple[Place, ...]:
    """The official wards, in the file's order (province, then code)."""
    with WARDS_CSV.open(encoding="utf-8", newline="") as f:
        return tuple(
            Place(row["name"], row["label"], PROVINCES.get(row["tinh"], row["tinh"]))
            for row in csv.DictReader(f)
        )


def facilities(session: Session, project_id: int) -> list[Place]:
    """The project's live facilities, by code."""
    return [
        Place(code, name, "")
        for code, name in session.execute(
            select(Entity.uuid, Entity.label)
            .join(Dataset, Dataset.id == Entity.dataset_id)
            .where(
                Dataset.project_id == project_id,
                Dataset.name == FACILITIES,
                Entity.deleted_at.is_(None),
            )
            .order_by(Entity.uuid)
        )
    ]


def check_codes(
    session: Session, project_id: int | None, kind: str, codes: Iterable[str]
) -> list[str]:
    """The codes given (trimmed, each once, in the order given) written as their list writes
    them, for ``kind`` "wards" (wards.csv) or "sites" (the project's facilities, matched
    without regard to case: ``vct-01`` is ``VCT-01``). Raises UnknownCode naming the others."""
    wanted = list(dict.fromkeys(c.strip() for c in codes if c and c.strip()))
    if not wanted:
        return []
    known = [p.code for p in (wards() if kind == "wards" else facilities(session, project_id))]
    exact = set(known)
    folded: dict[str, str] = {}
    for code in known:
        folded.setdefault(code.casefold(), code)
    found, unknown = [], []
    for code in wanted:
        canonical = code if code in exact else folded.get(code.casefold())
        if canonical is None:
            unknown.append(code)
        else:
            found.append(canonical)
    if unknown:
        padded = {c: c.zfill(5) for c in unknown if c.isdigit() and c.zfill(5) in exact}
        raise UnknownCode(kind, unknown, padded if kind == "wards" else {})
    return list(dict.fromkeys(found))
