"""The project's facility list, filled as program staff fill it (the entity API service), so
that phones and tests can name real facility codes."""

from __future__ import annotations

import json
from pathlib import Path

from server.auth.permissions import SYSTEM
from server.services import entities, entity_api

LISTS = Path(__file__).resolve().parents[2] / "xlsforms" / "entity_lists.json"


def add_facilities(db, project_id: int, *codes: str) -> None:
    """Add facilities with these codes (entity names) to the project's `facilities` list."""
    properties = json.loads(LISTS.read_text())["facilities"]
    with db.transaction() as session:
        entities.ensure_reference_list(session, project_id, "facilities", properties)
        entity_api.create_entities(
            session,
            SYSTEM,
            project_id,
            "facilities",
            [{"uuid": code, "label": f"Cơ sở {code}", "data": {}} for code in codes],
        )
