"""Entity lists and entities in the REST API (what pyodk's entity_lists and entities call)."""

from __future__ import annotations

from flask import Response, g, jsonify, request

from forms.odata import odata_name
from server.api import bp, is_true
from server.db import get_db
from server.services import entities, entity_api

DATASETS = "/projects/<int:project_id>/datasets"


def dataset_json(session, dataset) -> dict:
    return {
        "name": dataset.name,
        "projectId": dataset.project_id,
        "createdAt": dataset.created_at.isoformat(),
        "approvalRequired": dataset.approval_required,
        # A property is live from the moment it exists here (added through the API or by a
        # published form), so publishedAt is when it was made; pyodk requires a date.
        "properties": [
            {
                "name": p.name,
                "odataName": odata_name(p.name),
                "publishedAt": p.created_at.isoformat(),
                "forms": [],
            }
            for p in entities.property_rows(session, dataset.id)
        ],
    }


def entity_json(entity) -> dict:
    current = {
        "label": entity.label,
        "current": True,
        "version": entity.version,
        "data": entity.data,
        "createdAt": (entity.updated_at or entity.created_at).isoformat(),
        "creatorId": entity.creator_id,
        "userAgent": "",
    }
    return {
        "uuid": entity.uuid,
        "creatorId": entity.creator_id,
        "createdAt": entity.created_at.isoformat(),
        "updatedAt": entity.updated_at.isoformat() if entity.updated_at else None,
        "deletedAt": None,
        "conflict": entity.conflict,
        "currentVersion": current,
    }


def _body() -> dict:
    body = request.get_json(force=True, silent=True)
    return body if isinstance(body, dict) else {}


@bp.get(DATASETS)
def list_datasets(project_id: int) -> Response:
    with get_db().transaction(write=False) as session:
        rows = entity_api.list_datasets(session, g.principal, project_id)
        return jsonify([dataset_json(session, d) for d in rows])


@bp.post(DATASETS)
def create_dataset(project_id: int) -> Response:
    body = _body()
    with get_db().transaction() as session:
        dataset = entity_api.create_dataset(
            session,
            g.principal,
            project_id,
            str(body.get("name", "")),
            bool(body.get("approvalRequired", False)),
        )
        return jsonify(dataset_json(session, dataset))


@bp.get(f"{DATASETS}/<name>")
def get_dataset(project_id: int, name: str) -> Response:
    with get_db().transaction(write=False) as session:
        dataset = entity_api.get_dataset(session, g.principal, project_id, name)
        return jsonify(dataset_json(session, dataset))


@bp.post(f"{DATASETS}/<name>/properties")
def add_property(project_id: int, name: str) -> Response:
    with get_db().transaction() as session:
        entity_api.add_property(
            session, g.principal, project_id, name, str(_body().get("name", ""))
        )
    return jsonify({"success": True})


@bp.get(f"{DATASETS}/<name>/entities")
def list_entities(project_id: int, name: str) -> Response:
    with get_db().transaction() as session:  # the look is audited
        rows = entity_api.list_entities(session, g.principal, project_id, name)
    return jsonify([entity_json(e) for e in rows])


@bp.post(f"{DATASETS}/<name>/entities")
def create_entities(project_id: int, name: str) -> Response:
    body = _body()
    many = "entities" in body
    with get_db().transaction() as session:
        created = entity_api.create_entities(
            session, g.principal, project_id, name, body["entities"] if many else [body]
        )
    return jsonify({"success": True} if many else entity_json(created[0]))


@bp.get(f"{DATASETS}/<name>/entities/<entity_id>")
def get_entity(project_id: int, name: str, entity_id: str) -> Response:
    with get_db().transaction() as session:  # the look is audited
        entity = entity_api.read_entity(session, g.principal, project_id, name, entity_id)
    return jsonify(entity_json(entity))


@bp.patch(f"{DATASETS}/<name>/entities/<entity_id>")
def update_entity(project_id: int, name: str, entity_id: str) -> Response:
    base = request.args.get("baseVersion")
    force = (request.args.get("force") or "").lower() == "true"
    with get_db().transaction() as session:
        entity = entity_api.update_entity(
            session,
            g.principal,
            project_id,
            name,
            entity_id,
            _body(),
            int(base) if base and base.isdigit() else None,
            force,
            is_true(request.args.get("resolve")),
        )
    return jsonify(entity_json(entity))


@bp.delete(f"{DATASETS}/<name>/entities/<entity_id>")
def delete_entity(project_id: int, name: str, entity_id: str) -> Response:
    with get_db().transaction() as session:
        entity_api.delete_entity(session, g.principal, project_id, name, entity_id)
    return jsonify({"success": True})


@bp.post(f"{DATASETS}/<name>/entities/<entity_id>/restore")
def restore_entity(project_id: int, name: str, entity_id: str) -> Response:
    """Central's restore of a deleted entity (in the caller's wards)."""
    with get_db().transaction() as session:
        entity_api.restore_entity(session, g.principal, project_id, name, entity_id)
    return jsonify({"success": True})


@bp.get(f"{DATASETS}/<name>/entities/<entity_id>/versions")
def entity_versions(project_id: int, name: str, entity_id: str) -> Response:
    """Every version of the entity, oldest first, in Central's shape (its core fields)."""
    with get_db().transaction() as session:  # the look is audited
        rows = entity_api.entity_versions(session, g.principal, project_id, name, entity_id)
        out = [
            {
                "version": v.version,
                "baseVersion": v.base_version,
                "label": v.label,
                "data": v.data,
                "current": current,
                "creatorId": v.creator_id,
                "createdAt": v.created_at.isoformat(),
                "userAgent": None,
            }
            for v, current in rows
        ]
    return jsonify(out)
