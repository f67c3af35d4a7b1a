"""Entities from submissions and for devices: datasets declared by forms, create and update
from a submission (Central's rules, odk-protocol.md sections 5 and 7), the CSV a follow-up form
downloads (scoped to the app user's wards), and the integrity answer."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import uuid as uuidlib
from collections.abc import Iterator

from lxml import etree
from sqlalchemy import false, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import forms
from forms.xml import local
from server.auth.permissions import Principal, require, ward_scope
from server.errors import NotFound, UnexpectedValue
from server.models.entities import (
    AppUserSite,
    AppUserWard,
    Dataset,
    DatasetProperty,
    Entity,
    EntityVersion,
)
from server.models.forms import Form, FormAttachment
from server.models.submissions import SubmissionVersion
from server.models.types import utcnow
from server.services import audit

UUID_V4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
UUID_ANY = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
SCOPE_PROPERTY = "ma_xa"  # domain.md: the commune/ward code every client carries
SITE_PROPERTY = "co_so"  # domain.md: the facility a referral is sent to
MERGE_PROPERTY = "gop_vao"  # domain.md 6.1: the client a duplicate was merged into


class EntityError(ValueError):
    """A submission's entity block that cannot be applied; the submission itself stands."""


class ScopeBlanked(UnexpectedValue, EntityError):
    """An update that empties the ward or site a list is scoped by: the entity would leave
    every phone and list of its ward. Refused (400 in the entity API); from a submission the
    submission stands and the update is recorded as an entity error."""


def entity_name(raw: str) -> str:
    """An entity's name (its ``uuid`` column) as it is stored and looked up, the one rule for
    every edge: a UUID in lower case without Collect's ``uuid:`` prefix (UUIDs ignore case);
    any other name, such as a facility code (``VCT-01``), exactly as given, since phones are
    set up with that code and referrals carry it."""
    name = raw.strip()
    if name[:5].lower() == "uuid:":
        name = name[5:]
    return name.lower() if UUID_ANY.match(name) else name


def ensure_datasets(
    session: Session, project_id: int, schema: forms.FormSchema, form_version_id: int
) -> None:
    """Create the datasets and properties a published form declares; link `<name>.csv`
    attachments of the version to the project's datasets of that name."""
    saveto = [f.saveto for f in schema.fields if f.saveto]
    for declaration in schema.entities:
        dataset = find_dataset(session, project_id, declaration.dataset)
        if dataset is None:
            dataset = Dataset(
                project_id=project_id,
                name=declaration.dataset,
                scope_property=SCOPE_PROPERTY if SCOPE_PROPERTY in saveto else None,
                site_property=SITE_PROPERTY if SITE_PROPERTY in saveto else None,
            )
            session.add(dataset)
            session.flush()
        add_properties(session, dataset, saveto)
    names = {
        d.name + ".csv": d.id
        for d in session.scalars(select(Dataset).where(Dataset.project_id == project_id))
    }
    for slot in session.scalars(
        select(FormAttachment).where(FormAttachment.form_version_id == form_version_id)
    ):
        if slot.name in names and slot.name != "itemsets.csv" and slot.blob_id is None:
            slot.dataset_id = names[slot.name]
    session.flush()


def add_properties(session: Session, dataset: Dataset, names: list[str]) -> None:
    known = set(
        session.scalars(
            select(DatasetProperty.name).where(DatasetProperty.dataset_id == dataset.id)
        )
    )
    for name in dict.fromkeys(names):
        if name not in known:
            session.add(DatasetProperty(dataset_id=dataset.id, name=name))
    session.flush()
    if dataset.scope_property is None and SCOPE_PROPERTY in names:
        dataset.scope_property = SCOPE_PROPERTY
    if dataset.site_property is None and SITE_PROPERTY in names and not dataset.shared:
        dataset.site_property = SITE_PROPERTY


def ensure_reference_list(
    session: Session, project_id: int, name: str, properties: list[str]
) -> Dataset:
    """A shared reference list (no personal data) that forms read, filled through the entity
    API; created once, its properties added when new ones are named."""
    dataset = find_dataset(session, project_id, name)
    if dataset is None:
        dataset = Dataset(project_id=project_id, name=name, shared=True)
        session.add(dataset)
        session.flush()
    add_properties(session, dataset, properties)
    return dataset


def find_dataset(session: Session, project_id: int, name: str) -> Dataset | None:
    return session.scalar(
        select(Dataset).where(Dataset.project_id == project_id, Dataset.name == name)
    )


def property_rows(session: Session, dataset_id: int) -> list[DatasetProperty]:
    """The list's properties, in the order they were added."""
    return list(
        session.scalars(
            select(DatasetProperty)
            .where(DatasetProperty.dataset_id == dataset_id)
            .order_by(DatasetProperty.id)
        )
    )


def properties_of(session: Session, dataset_id: int) -> list[str]:
    return list(
        session.scalars(
            select(DatasetProperty.name)
            .where(DatasetProperty.dataset_id == dataset_id)
            .order_by(DatasetProperty.id)
        )
    )


def process_submission(
    session: Session,
    principal: Principal,
    project_id: int,
    schema: forms.FormSchema,
    root: etree._Element,
    submission_version_id: int,
    approved: bool = False,
) -> Entity | None:
    """Create or update the entity a submission declares; errors are audited, not raised.

    On receipt the block's update and create apply, but a new entity of a list that requires
    approval waits for the approval (``approved``). Approval then makes only that entity:
    it never applies an update again, nor a create the list did not wait for (Central's
    `_createEntity` and `_updateEntity`, lib/model/query/entities.js).
    """
    block = _entity_block(root)
    if block is None:
        return None
    dataset = find_dataset(session, project_id, block.get("dataset") or "")
    actions = _actions(block, dataset, approved)
    if not actions:
        return None
    # The verb that let this caller write the submission: its scope bounds a web user's create.
    verb = "submission.update" if approved else "submission.create"
    try:
        for attempt in range(2):
            try:
                with session.begin_nested():
                    return _apply(
                        session,
                        principal,
                        project_id,
                        schema,
                        root,
                        block,
                        submission_version_id,
                        actions,
                        verb,
                    )
            except IntegrityError:
                # another submission made the same entity at the same moment: its savepoint
                # is undone, and the second try finds that entity (an EntityError, audited)
                if attempt:
                    raise
    except EntityError as e:
        audit.record(
            session,
            principal.actor_id,
            "entity.error",
            "submission_version",
            submission_version_id,
            {"problem": str(e)},
        )
        return None


def _actions(block, dataset: Dataset | None, approved: bool) -> frozenset[str]:
    """What a submission's entity block does now: on receipt (``approved`` False) its update,
    and its create unless the list waits for approval; on approval only that create."""
    asked = {action for action in ("create", "update") if block.get(action) in ("1", "true")}
    waits = dataset is not None and dataset.approval_required
    if approved:
        return frozenset(asked & {"create"} if waits else ())
    return frozenset(asked - {"create"} if waits else asked)


def _entity_block(root) -> etree._Element | None:
    meta = next((c for c in root if local(c.tag) == "meta"), None)
    if meta is None:
        return None
    return next((c for c in meta if local(c.tag) == "entity" and c.get("dataset")), None)


def _apply(
    session, principal, project_id, schema, root, block, submission_version_id, actions, verb
):
    dataset = find_dataset(session, project_id, block.get("dataset"))
    if dataset is None:
        raise EntityError(f"The entity list '{block.get('dataset')}' does not exist.")
    entity_id = entity_name(block.get("id") or "")
    if not UUID_V4.match(entity_id):
        raise EntityError(f"The entity id '{entity_id}' is not a version 4 UUID.")
    label_el = next((c for c in block if local(c.tag) == "label"), None)
    label = (label_el.text or "").strip() if label_el is not None else ""
    data = _saved_values(schema, root)
    entity = session.scalar(
        select(Entity).where(Entity.dataset_id == dataset.id, Entity.uuid == entity_id)
    )
    if "update" in actions and entity is not None:
        require_holds_entity(session, principal, dataset, entity)
        base = block.get("baseVersion")
        return update_entity(
            session,
            principal,
            dataset,
            entity,
            label or None,
            data,
            int(base) if base and base.isdigit() else None,
            submission_version_id,
        )
    if "create" in actions:
        if entity is not None and _made_by(session, entity, submission_version_id):
            return None  # made by another version of this submission (Central's rule)
        if entity is not None:
            raise EntityError(f"An entity with the id {entity_id} already exists.")
        if not label:
            raise EntityError("A new entity needs a label.")
        require_may_create(session, principal, dataset, entity_id, data, verb)
        return create_entity(
            session, principal, dataset, entity_id, label, data, submission_version_id
        )
    if block.get("create") in ("1", "true"):
        return None  # a new entity of a list that waits for approval
    raise EntityError(f"The entity {entity_id} to update does not exist.")


def _made_by(session: Session, entity: Entity, submission_version_id: int) -> bool:
    """True when a version of the submission this version belongs to made a version of the
    entity: approving it again, or an edit of it, must not make the entity twice."""
    submission = (
        select(SubmissionVersion.submission_id)
        .where(SubmissionVersion.id == submission_version_id)
        .scalar_subquery()
    )
    return (
        session.scalar(
            select(EntityVersion.id)
            .join(SubmissionVersion, SubmissionVersion.id == EntityVersion.submission_version_id)
            .where(
                EntityVersion.entity_id == entity.id, SubmissionVersion.submission_id == submission
            )
            .limit(1)
        )
        is not None
    )


def require_holds_entity(
    session: Session, principal: Principal, dataset: Dataset, entity: Entity
) -> None:
    """EntityError unless the sender holds this entity: one of its wards' clients, or a
    referral sent to one of its sites (the rule of the list its phone downloads). A clinic
    phone knows the uuids of the clients it receives referrals for, but does not hold them."""
    wards = wards_of(session, principal, dataset.project_id)
    if not in_scope(entity, dataset, wards, sites_of(session, principal)):
        raise EntityError(
            f"The entity {entity.uuid} is not in the sender's wards or sites; "
            "the update was not applied."
        )


def require_may_create(
    session: Session,
    principal: Principal,
    dataset: Dataset,
    entity_id: str,
    data: dict[str, str],
    verb: str = "submission.create",
) -> None:
    """EntityError unless the entity a submission would create is one the creator would hold
    through its wards: its ward (``ma_xa``) among a phone's wards, or among the wards where a
    web user holds ``verb`` (the verb that let it write the submission; a project-wide role:
    any ward). A site never lets a phone create: the referring ward's phone makes a referral
    (F3) and the clinic phone only records its outcome (F4); counted for creates, a site would
    let a clinic phone put clients or referrals into any ward's lists and phones. On approval
    the creator is the reviewer (``process_submission(approved=True)``)."""
    wards = wards_of(session, principal, dataset.project_id, verb)
    if not values_in_scope(data, dataset, wards):
        raise EntityError(
            f"The new entity {entity_id} is not in the sender's wards "
            f"('{dataset.scope_property or 'no ward'}': "
            f"'{data.get(dataset.scope_property or '', '')}'); it was not created."
        )


def entity_ward(dataset: Dataset, data: dict[str, str]) -> str | None:
    """The ward an entity with these values belongs to, for the write rule
    (permissions.require_wards): its ward property; None in a list without one, which only a
    project-wide role writes."""
    return (data.get(dataset.scope_property) or None) if dataset.scope_property else None


def _saved_values(schema: forms.FormSchema, root) -> dict[str, str]:
    """Property values: the answers of fields with save_to, as strings (Central's rule)."""
    wanted = {tuple(f.path.strip("/").split("/")[1:]): f.saveto for f in schema.fields if f.saveto}
    values: dict[str, str] = {}
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        path, node = [], el
        while node is not None and node is not root:
            path.append(local(node.tag))
            node = node.getparent()
        name = wanted.get(tuple(reversed(path)))
        if name is not None:
            values[name] = (el.text or "").strip()
    return values


def create_entity(
    session: Session,
    principal: Principal,
    dataset: Dataset,
    entity_id: str,
    label: str,
    data: dict[str, str],
    submission_version_id: int | None = None,
) -> Entity:
    add_properties(session, dataset, list(data))
    now = utcnow()
    entity = Entity(
        dataset_id=dataset.id,
        uuid=entity_id,
        label=label,
        data=data,
        version=1,
        creator_id=principal.actor_id,
        created_at=now,
    )
    session.add(entity)
    session.flush()
    session.add(
        EntityVersion(
            entity_id=entity.id,
            version=1,
            label=label,
            data=data,
            submission_version_id=submission_version_id,
            creator_id=principal.actor_id,
            created_at=now,
        )
    )
    dataset.changed_at = now
    audit.record(
        session,
        principal.actor_id,
        "entity.create",
        "entity",
        entity.id,
        {"dataset": dataset.name, "uuid": entity_id},
    )
    return entity


def update_entity(
    session: Session,
    principal: Principal,
    dataset: Dataset,
    entity: Entity,
    label: str | None,
    data: dict[str, str],
    base_version: int | None,
    submission_version_id: int | None = None,
) -> Entity:
    """Apply an update; one made from an older version than the current is applied and the
    entity is marked in conflict for a person to check (Central's offline-update rule).
    Raises ScopeBlanked for an update that would empty its ward or site."""
    keep_scope(dataset, entity, data)
    add_properties(session, dataset, list(data))
    now = utcnow()
    if base_version is not None and base_version < entity.version:
        entity.conflict = "soft"
    entity.version += 1
    entity.label = label or entity.label
    entity.data = {**entity.data, **data}
    entity.updated_at = now
    session.add(
        EntityVersion(
            entity_id=entity.id,
            version=entity.version,
            label=entity.label,
            data=entity.data,
            base_version=base_version,
            submission_version_id=submission_version_id,
            creator_id=principal.actor_id,
            created_at=now,
        )
    )
    dataset.changed_at = now
    session.flush()
    audit.record(
        session,
        principal.actor_id,
        "entity.update.version",
        "entity",
        entity.id,
        {"dataset": dataset.name, "uuid": entity.uuid, "version": entity.version},
    )
    return entity


def keep_scope(dataset: Dataset, entity: Entity, data: dict[str, str]) -> None:
    """Refuse new values that blank the property the list is scoped by (its ward, or the site
    a referral is sent to) while the entity has one: moving a client sets a new ward, no
    update removes it."""
    for name in (dataset.scope_property, dataset.site_property):
        if name and name in data and not data[name].strip() and entity.data.get(name):
            raise ScopeBlanked(
                f"The entity list '{dataset.name}' is scoped by '{name}': an update may change "
                f"it but not leave it empty (entity {entity.uuid}).",
                field=name,
                value=data[name],
            )


def delete_entity(session: Session, principal: Principal, dataset: Dataset, entity: Entity) -> None:
    entity.deleted_at = utcnow()
    dataset.changed_at = entity.deleted_at
    audit.record(
        session,
        principal.actor_id,
        "entity.delete",
        "entity",
        entity.id,
        {"dataset": dataset.name, "uuid": entity.uuid},
    )


def wards_of(
    session: Session,
    principal: Principal,
    project_id: int | None = None,
    verb: str = "entity.read",
) -> list[str] | None:
    """The wards whose entities this principal may hold: a phone's wards, or the wards of a
    web user's roles granting ``verb`` in ``project_id``; None means all."""
    if principal.kind != "field_key":
        wards = ward_scope(principal, verb, project_id)
        return None if wards is None else sorted(wards)
    return sorted(
        session.scalars(select(AppUserWard.ward).where(AppUserWard.actor_id == principal.actor_id))
    )


def sites_of(session: Session, principal: Principal) -> list[str]:
    """The sites (facility codes) a phone serves; web users serve none."""
    if principal.kind != "field_key":
        return []
    return sorted(
        session.scalars(select(AppUserSite.site).where(AppUserSite.actor_id == principal.actor_id))
    )


def visible_entities(
    session: Session,
    principal: Principal,
    dataset: Dataset,
    include_deleted: bool = False,
    where: tuple = (),
) -> Iterator[Entity]:
    """Entities of a dataset this principal may have on a device, in creation order;
    ``where`` narrows them further (an OData $filter)."""
    wards = wards_of(session, principal, dataset.project_id)
    sites = sites_of(session, principal)
    query = select(Entity).where(Entity.dataset_id == dataset.id, *where).order_by(Entity.id)
    if not include_deleted:
        query = query.where(Entity.deleted_at.is_(None))
    for entity in session.scalars(query.execution_options(yield_per=500)):
        if in_scope(entity, dataset, wards, sites):
            yield entity


def live_in_scope(session: Session, principal: Principal, dataset: Dataset) -> list:
    """WHERE clauses for the dataset's live entities this principal may hold (its wards and
    sites, as SQL): what the readable lists and the exports start from."""
    where = [Entity.dataset_id == dataset.id, Entity.deleted_at.is_(None)]
    clause = scope_clause(
        dataset,
        wards_of(session, principal, dataset.project_id),
        sites_of(session, principal),
    )
    if clause is not None:
        where.append(clause)
    return where


def scope_clause(dataset: Dataset, wards: list[str] | None, sites: list[str] | tuple = ()):
    """``in_scope`` as SQL on the entities' values (None: every entity), so that a list of
    20,000 clients is counted and paged by the database, not read whole."""
    if wards is None or dataset.shared:
        return None
    held = []
    if dataset.scope_property:
        held.append(Entity.data[dataset.scope_property].as_string().in_(wards))
    if sites and dataset.site_property:
        held.append(Entity.data[dataset.site_property].as_string().in_(list(sites)))
    return or_(*held) if held else false()


def count_visible(session: Session, principal: Principal, dataset: Dataset) -> int:
    """How many live entities of the list ``visible_entities`` gives, counted in SQL."""
    query = select(func.count(Entity.id)).where(
        Entity.dataset_id == dataset.id, Entity.deleted_at.is_(None)
    )
    clause = scope_clause(
        dataset, wards_of(session, principal, dataset.project_id), sites_of(session, principal)
    )
    if clause is not None:
        query = query.where(clause)
    return int(session.scalar(query) or 0)


def is_merged(entity: Entity) -> bool:
    """A client merged into another (``gop_vao``: a duplicate, services/duplicates.py or F7
    trung_ma): it is no longer on any phone, and phones asking about it are told it is
    deleted."""
    return bool((entity.data or {}).get(MERGE_PROPERTY))


def openrosa_hash(session: Session, principal: Principal, dataset: Dataset) -> str:
    """Changes when the list changes or the principal's wards change (Central hashes the time
    of the last change; we add the scope, since two phones may see different rows)."""
    wards = wards_of(session, principal, dataset.project_id)
    state = {
        "latestChange": dataset.changed_at.isoformat(),
        "wards": wards,
        "sites": sites_of(session, principal),
    }
    return hashlib.md5(
        json.dumps(state, sort_keys=True).encode(), usedforsecurity=False
    ).hexdigest()


def new_uuid() -> str:
    return str(uuidlib.uuid4())


def set_wards(session: Session, actor_id: int, wards: list[str]) -> None:
    """Replace an app user's wards."""
    session.execute(AppUserWard.__table__.delete().where(AppUserWard.actor_id == actor_id))
    for ward in dict.fromkeys(w.strip() for w in wards if w.strip()):
        session.add(AppUserWard(actor_id=actor_id, ward=ward))
    session.flush()


def set_sites(session: Session, actor_id: int, sites: list[str]) -> None:
    """Replace the sites (facility codes) an app user serves."""
    session.execute(AppUserSite.__table__.delete().where(AppUserSite.actor_id == actor_id))
    for site in dict.fromkeys(s.strip() for s in sites if s.strip()):
        session.add(AppUserSite(actor_id=actor_id, site=site))
    session.flush()


def csv_lines(
    session: Session, principal: Principal, project_id: int, dataset_name: str
) -> Iterator[str]:
    """CSV lines of an entity list for a device (header always written)."""
    require(principal, "form.read", project_id)
    dataset = find_dataset(session, project_id, dataset_name)
    if dataset is None:
        raise NotFound(f"Could not find the entity list '{dataset_name}'.")
    props = properties_of(session, dataset.id)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")

    def line(row) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(row)
        return buffer.getvalue()

    yield line(["name", "label", "__version", *props])
    for entity in visible_entities(session, principal, dataset):
        if is_merged(entity):
            continue  # a duplicate merged into another leaves the phones
        yield line(
            [entity.uuid, entity.label, entity.version, *(entity.data.get(p, "") for p in props)]
        )


def record_download(
    session: Session,
    principal: Principal,
    project_id: int,
    dataset_name: str,
    count: int,
    complete: bool,
) -> None:
    """Audit a phone's download of an entity list (``csv_lines``): how many entities went out
    and whether the phone took them all. On the hot path, so one INSERT: the list's id is a
    subquery of it."""
    dataset_id = (
        select(Dataset.id)
        .where(Dataset.project_id == project_id, Dataset.name == dataset_name)
        .scalar_subquery()
    )
    audit.record(
        session,
        principal.actor_id,
        "entity.list.download",
        "dataset",
        dataset_id,
        {"count": count, "complete": complete},
    )


def integrity(
    session: Session, principal: Principal, project_id: int, dataset_name: str, ids: list[str]
) -> list[tuple[str, bool]]:
    """(uuid, deleted) for the ids asked (all the caller may see when none). An entity deleted
    on the server, or no longer in the caller's wards, is `deleted`: Collect then removes it
    from the phone. An id the server has never received is not answered, as in Central
    (getEntitiesState, lib/model/query/entities.js): Collect asks only about the entities it
    made itself and has not yet seen in the list (a registration still in its outbox, or one
    waiting for approval), and keeps those it is not told are deleted."""
    require(principal, "form.read", project_id)
    dataset = find_dataset(session, project_id, dataset_name)
    if dataset is None or not _reaches_dataset(session, principal, dataset):
        raise NotFound(f"Could not find the entity list '{dataset_name}'.")
    if not ids:
        every = [
            (e.uuid, e.deleted_at is not None or is_merged(e))
            for e in visible_entities(session, principal, dataset, include_deleted=True)
        ]
        _record_integrity(session, principal, dataset, 0, len(every))
        return every
    wanted = list(dict.fromkeys(entity_name(i) for i in ids))
    wards = wards_of(session, principal, project_id)
    sites = sites_of(session, principal)
    found = {
        e.uuid: e
        for e in session.scalars(
            select(Entity).where(Entity.dataset_id == dataset.id, Entity.uuid.in_(wanted))
        )
    }
    answered = [
        (
            uuid,
            entity.deleted_at is not None
            or is_merged(entity)
            or not in_scope(entity, dataset, wards, sites),
        )
        for uuid in wanted
        if (entity := found.get(uuid)) is not None
    ]
    _record_integrity(session, principal, dataset, len(wanted), len(answered))
    return answered


def _record_integrity(session, principal, dataset: Dataset, asked: int, count: int) -> None:
    audit.record(
        session,
        principal.actor_id,
        "entity.integrity.read",
        "dataset",
        dataset.id,
        {"asked": asked, "count": count},
    )


def _reaches_dataset(session: Session, principal: Principal, dataset: Dataset) -> bool:
    """An app user limited to some forms reaches only the entity lists those forms use."""
    if principal.forms is None:
        return True
    return (
        session.scalar(
            select(FormAttachment.form_version_id)
            .join(Form, Form.current_version_id == FormAttachment.form_version_id)
            .where(
                FormAttachment.dataset_id == dataset.id,
                Form.project_id == dataset.project_id,
                Form.xml_form_id.in_(sorted(principal.forms)),
            )
            .limit(1)
        )
        is not None
    )


def in_scope(
    entity: Entity, dataset: Dataset, wards: list[str] | None, sites: list[str] | tuple = ()
) -> bool:
    """True when a phone limited to ``wards`` (None: no limit), serving ``sites``, may hold
    this entity: one of its wards', or one sent to one of its sites (a referral to a clinic)."""
    return values_in_scope(entity.data, dataset, wards, sites)


def values_in_scope(
    data: dict[str, str], dataset: Dataset, wards: list[str] | None, sites: list[str] | tuple = ()
) -> bool:
    """``in_scope`` for an entity's values, also one not made yet (``require_may_create``)."""
    if wards is None or dataset.shared:
        return True
    if dataset.scope_property and data.get(dataset.scope_property) in wards:
        return True
    return bool(sites and dataset.site_property) and data.get(dataset.site_property) in sites
