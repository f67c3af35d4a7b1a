"""An entity list (clients, referrals, …) exported for people: Central's ``entities.csv``
columns (``__id, label, <properties>, __createdAt, __creatorId, __creatorName, __updates,
__updatedAt, __version``; odk-protocol.md), as CSV or as an XLSX sheet. Only the entities of
the caller's wards, never a merged duplicate; a property saved from a special-category
question is left out unless the caller's role may read it. Audited as an export.

The lists phones download are not these: Collect's columns are ``name, label, __version``
(services/entities.py)."""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from server.auth.permissions import Principal, can, require
from server.errors import NotFound
from server.models.actors import Actor
from server.models.entities import Entity
from server.models.forms import Form, FormVersion
from server.services import audit, entities
from server.services import forms as form_service
from server.services.exports import BOM, safe_cell
from server.services.submission_tables import SPECIAL_VERB

_BATCH = 1000


@dataclass(frozen=True, slots=True)
class EntityExport:
    dataset_id: int
    project_id: int
    name: str
    properties: list[str]
    where: list
    omitted: list[str]

    @property
    def header(self) -> list[str]:
        return [
            "__id",
            "label",
            *self.properties,
            "__createdAt",
            "__creatorId",
            "__creatorName",
            "__updates",
            "__updatedAt",
            "__version",
        ]


def special_properties(session: Session, project_id: int, dataset: str) -> set[str]:
    """The properties of ``dataset`` that a published form of the project saves from a
    special-category question."""
    found: set[str] = set()
    versions = session.scalars(
        select(FormVersion)
        .join(Form, Form.current_version_id == FormVersion.id)
        .where(Form.project_id == project_id)
    )
    for version in versions:
        schema = form_service.schema_of(session, version)
        if not any(e.dataset == dataset for e in schema.entities):
            continue
        found.update(f.saveto for f in schema.fields if f.saveto and f.sensitive == "special")
    return found


def plan_export(
    session: Session, principal: Principal, project_id: int, name: str, kind: str
) -> EntityExport:
    """Check and audit an export of the list ``name``; NotFound for an unknown list."""
    require(principal, "entity.read", project_id)
    dataset = entities.find_dataset(session, project_id, name)
    if dataset is None:
        raise NotFound(f"Could not find the entity list '{name}'.")
    props = entities.properties_of(session, dataset.id)
    omitted: list[str] = []
    if not can(principal, SPECIAL_VERB, project_id):
        hidden = special_properties(session, project_id, name)
        omitted = [p for p in props if p in hidden]
        props = [p for p in props if p not in hidden]
    where = entities.live_in_scope(session, principal, dataset)
    audit.record(
        session,
        principal.actor_id,
        "entity.list.export",
        "dataset",
        dataset.id,
        {
            "name": name,
            "format": kind,
            "specialCategory": "omitted" if omitted else "included",
            "omittedProperties": len(omitted),
        },
    )
    return EntityExport(dataset.id, project_id, name, props, where, omitted)


def rows(session: Session, plan: EntityExport) -> Iterator[list]:
    """Each entity's row, oldest first, read by keyset batches."""
    last = 0
    while True:
        batch = session.execute(
            select(Entity, Actor.display_name)
            .outerjoin(Actor, Actor.id == Entity.creator_id)
            .where(*plan.where, Entity.id > last)
            .order_by(Entity.id)
            .limit(_BATCH)
        ).all()
        if not batch:
            return
        for entity, creator in batch:
            if entities.is_merged(entity):
                continue
            yield [
                entity.uuid,
                entity.label,
                *(entity.data.get(p, "") for p in plan.properties),
                entity.created_at.isoformat().replace("+00:00", "Z"),
                entity.creator_id,
                creator or "",
                max(entity.version - 1, 0),
                entity.updated_at.isoformat().replace("+00:00", "Z") if entity.updated_at else "",
                entity.version,
            ]
        last = batch[-1][0].id
        session.expunge_all()


def csv_bytes(session: Session, plan: EntityExport) -> Iterator[bytes]:
    """The list as CSV (a BOM for Excel; cells safe from formulas), in chunks."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write(BOM)
    writer.writerow(plan.header)
    for n, row in enumerate(rows(session, plan), 1):
        writer.writerow([safe_cell(v) for v in row])
        if n % 500 == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def xlsx_file(session: Session, plan: EntityExport, spool_path: str) -> Path:
    """The list as an XLSX sheet written in openpyxl's write-only mode to a temp file."""
    Path(spool_path).mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=spool_path, suffix=".xlsx")
    os.close(fd)
    path = Path(name)
    book = Workbook(write_only=True)
    sheet = book.create_sheet(plan.name[:31] or "entities")
    sheet.append(plan.header)
    try:
        for row in rows(session, plan):
            sheet.append([safe_cell(v) for v in row])
        book.save(path)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path
