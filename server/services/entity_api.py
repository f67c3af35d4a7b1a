"""The entity API pyodk uses (Central's shapes): entity lists, their properties, entities
with create, create many (Central's bulk create, from a CSV), update (baseVersion or force;
?resolve=true settles a conflict), delete and restore, and an entity's versions; each
checked in the caller's wards and audited."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.auth.permissions import Principal, require, require_wards
from server.errors import AlreadyExists, MissingParameter, NotFound, Problem
from server.models.entities import Dataset, Entity, EntityVersion
from server.models.types import utcnow
from server.services import audit, entities


class EntityVersionConflict(Problem):
    code, status = "409.15", 409
    message = "The entity has changed since the version you provided."


class NoConflict(Problem):
    """Central's noConflictEntity: ?resolve=true on an entity without a conflict."""

    code, status = "400.32", 400
    message = "The Entity doesn't have any conflict"


class BadEntityData(Problem):
    code, status = "400.11", 400
    message = "Entity data values must be strings."


def get_dataset(session: Session, principal: Principal, project_id: int, name: str) -> Dataset:
    require(principal, "form.read", project_id)
    dataset = entities.find_dataset(session, project_id, name)
    if dataset is None:
        raise NotFound(f"Could not find the entity list '{name}' in project {project_id}.")
    return dataset


def list_datasets(session: Session, principal: Principal, project_id: int) -> list[Dataset]:
    require(principal, "form.read", project_id)
    return list(
        session.scalars(
            select(Dataset).where(Dataset.project_id == project_id).order_by(Dataset.name)
        )
    )


def create_dataset(
    session: Session,
    principal: Principal,
    project_id: int,
    name: str,
    approval_required: bool = False,
) -> Dataset:
    require(principal, "form.create", project_id)
    if not name or name.startswith("__") or "." in name:
        raise MissingParameter(f"'{name}' is not a valid entity list name.")
    if entities.find_dataset(session, project_id, name) is not None:
        raise AlreadyExists(f"The entity list '{name}' already exists.")
    dataset = Dataset(project_id=project_id, name=name, approval_required=approval_required)
    session.add(dataset)
    session.flush()
    return dataset


def add_property(
    session: Session, principal: Principal, project_id: int, name: str, prop: str
) -> None:
    require(principal, "form.update", project_id)
    dataset = get_dataset(session, principal, project_id, name)
    if not prop or prop in ("name", "label") or prop.startswith("__"):
        raise MissingParameter(f"'{prop}' is a reserved or empty property name.")
    if prop in entities.properties_of(session, dataset.id):
        raise AlreadyExists(f"The entity list already has a property '{prop}'.")
    entities.add_properties(session, dataset, [prop])


def _data(value: object) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise BadEntityData()
    return value


def create_entities(
    session: Session, principal: Principal, project_id: int, name: str, items: list[dict]
) -> list[Entity]:
    """Create one or many entities: {uuid?, label, data}; unknown properties are refused."""
    require(principal, "entity.update", project_id)
    dataset = get_dataset(session, principal, project_id, name)
    known = set(entities.properties_of(session, dataset.id))
    created = []
    for item in items:
        extra = set(item) - {"uuid", "label", "data"}
        if extra:
            raise MissingParameter(f"Unexpected keys: {', '.join(sorted(extra))}.")
        data = _data(item.get("data"))
        unknown = set(data) - known
        if unknown:
            raise MissingParameter(f"Unknown properties: {', '.join(sorted(unknown))}.")
        if not item.get("label"):
            raise MissingParameter("An entity needs a label.")
        require_wards(principal, "entity.update", project_id, [entities.entity_ward(dataset, data)])
        entity_id = entities.entity_name(str(item.get("uuid") or entities.new_uuid()))
        if session.scalar(
            select(Entity.id).where(Entity.dataset_id == dataset.id, Entity.uuid == entity_id)
        ):
            raise AlreadyExists(f"An entity with the id {entity_id} already exists.")
        created.append(
            entities.create_entity(session, principal, dataset, entity_id, str(item["label"]), data)
        )
    return created


def get_entity(
    session: Session, principal: Principal, project_id: int, name: str, entity_id: str
) -> tuple[Dataset, Entity]:
    dataset = get_dataset(session, principal, project_id, name)
    entity = session.scalar(
        select(Entity).where(
            Entity.dataset_id == dataset.id,
            Entity.uuid == entities.entity_name(entity_id),
            Entity.deleted_at.is_(None),
        )
    )
    if entity is None or not entities.in_scope(
        entity, dataset, entities.wards_of(session, principal, project_id)
    ):
        raise NotFound(f"Could not find the entity {entity_id}.")
    return dataset, entity


def update_entity(
    session: Session,
    principal: Principal,
    project_id: int,
    name: str,
    entity_id: str,
    body: dict,
    base_version: int | None,
    force: bool,
    resolve: bool = False,
) -> Entity:
    """PATCH: needs ?baseVersion= equal to the current version, or ?force=true. With
    ?resolve=true the entity's conflict is settled: with an empty body as it stands, else
    after this update (Central's resolveConflict)."""
    require(principal, "entity.update", project_id)
    dataset, entity = get_entity(session, principal, project_id, name, entity_id)
    if resolve and not entity.conflict:
        raise NoConflict()
    if not force:
        if base_version is None:
            raise MissingParameter("Give ?baseVersion= (the version you edited) or ?force=true.")
        if base_version != entity.version:
            raise EntityVersionConflict(
                f"Current version of the Entity is '{entity.version}' and you provided "
                f"'{base_version}'. Please correct the version number or pass '?force=true'."
            )
    extra = set(body) - {"label", "data"}
    if extra:
        raise MissingParameter(f"Unexpected keys: {', '.join(sorted(extra))}.")
    data = _data(body.get("data"))
    require_wards(
        principal,
        "entity.update",
        project_id,
        [
            entities.entity_ward(dataset, entity.data),
            entities.entity_ward(dataset, {**entity.data, **data}),
        ],
    )
    if body or not resolve:  # resolving alone makes no new version
        entity = entities.update_entity(
            session, principal, dataset, entity, body.get("label"), data, None
        )
    if resolve:
        resolve_conflict(session, principal, dataset, entity)
    return entity


def resolve_conflict(
    session: Session, principal: Principal, dataset: Dataset, entity: Entity
) -> None:
    """Mark the entity's conflict settled (the caller checked its rights and wards)."""
    settled, entity.conflict = entity.conflict, None
    dataset.changed_at = utcnow()
    audit.record(
        session,
        principal.actor_id,
        "entity.update.resolve",
        "entity",
        entity.id,
        {"dataset": dataset.name, "uuid": entity.uuid, "conflict": settled},
    )


def delete_entity(
    session: Session, principal: Principal, project_id: int, name: str, entity_id: str
) -> None:
    require(principal, "entity.update", project_id)
    dataset, entity = get_entity(session, principal, project_id, name, entity_id)
    require_wards(
        principal, "entity.update", project_id, [entities.entity_ward(dataset, entity.data)]
    )
    entities.delete_entity(session, principal, dataset, entity)


def list_entities(
    session: Session, principal: Principal, project_id: int, name: str
) -> list[Entity]:
    """The list's live entities the caller may read (its wards); the look is audited."""
    dataset = get_dataset(session, principal, project_id, name)
    found = list(entities.visible_entities(session, principal, dataset))
    audit.record(
        session,
        principal.actor_id,
        "entity.list.read",
        "dataset",
        dataset.id,
        {"count": len(found), "api": True},
    )
    return found


def read_entity(
    session: Session, principal: Principal, project_id: int, name: str, entity_id: str
) -> Entity:
    """One entity the caller may read, for the REST API; the look is audited."""
    _dataset, entity = get_entity(session, principal, project_id, name, entity_id)
    audit.record(session, principal.actor_id, "entity.read", "entity", entity.id)
    return entity


def count_by_dataset(session: Session, principal: Principal, project_id: int) -> list[tuple]:
    """(dataset, live entities the caller may read) for each list of the project."""
    require(principal, "entity.read", project_id)
    return [
        (dataset, entities.count_visible(session, principal, dataset))
        for dataset in session.scalars(
            select(Dataset).where(Dataset.project_id == project_id).order_by(Dataset.name)
        )
    ]


def entity_versions(
    session: Session, principal: Principal, project_id: int, name: str, entity_id: str
) -> list[tuple[EntityVersion, bool]]:
    """Every version of a live entity the caller may read, oldest first as Central lists
    them, each with whether it is the current one; the look is audited."""
    _dataset, entity = get_entity(session, principal, project_id, name, entity_id)
    rows = session.scalars(
        select(EntityVersion)
        .where(EntityVersion.entity_id == entity.id)
        .order_by(EntityVersion.version)
    ).all()
    audit.record(
        session, principal.actor_id, "entity.read", "entity", entity.id, {"versions": len(rows)}
    )
    return [(row, row.version == entity.version) for row in rows]


def restore_entity(
    session: Session, principal: Principal, project_id: int, name: str, entity_id: str
) -> None:
    """Central's restore of a deleted entity: only one in the caller's wards (another ward's
    is not found, as when reading it); a live one is not found either, as in Central."""
    require(principal, "entity.update", project_id)
    dataset = get_dataset(session, principal, project_id, name)
    entity = session.scalar(
        select(Entity).where(
            Entity.dataset_id == dataset.id,
            Entity.uuid == entities.entity_name(entity_id),
            Entity.deleted_at.is_not(None),
        )
    )
    if entity is None or not entities.in_scope(
        entity, dataset, entities.wards_of(session, principal, project_id)
    ):
        raise NotFound(f"Could not find the entity {entity_id}.")
    require_wards(
        principal, "entity.update", project_id, [entities.entity_ward(dataset, entity.data)]
    )
    entity.deleted_at = None
    dataset.changed_at = utcnow()
    audit.record(
        session,
        principal.actor_id,
        "entity.restore",
        "entity",
        entity.id,
        {"dataset": dataset.name, "uuid": entity.uuid},
    )
