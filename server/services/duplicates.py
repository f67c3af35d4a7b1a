"""Suspected duplicate clients: found on every registration (``check_entity``, from ingest)
and nightly for the whole list (``scan``, `flask duplicates scan`); the review queue of the
pairs in the caller's wards; a decision ("same" merges, "different" is remembered and never
suggested again) and its undo within 30 days. Every decision is audited.

A merge keeps one client (the survivor) and marks the other ``gop_vao`` = the survivor's
uuid, the convention F7 (trung_ma) already writes and the indicator engine follows
(indicators.Data.person): the merged client's submissions, referrals and visits count for the
survivor. A merged client is no longer on any phone: it leaves the list's CSV and the
integrity answer reports it deleted (entities.is_merged).
"""

from __future__ import annotations

import logging
import uuid as uuidlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.auth.permissions import Principal, require, require_may_decide_duplicates, ward_scope
from server.errors import NotFound, Problem, UnexpectedValue
from server.models.duplicates import (
    DIFFERENT,
    OPEN,
    SAME,
    DuplicateKey,
    DuplicatePair,
    DuplicateStats,
)
from server.models.entities import Dataset, Entity
from server.models.types import utcnow
from server.services import audit, deliveries, entities, matching

log = logging.getLogger(__name__)

#: The list whose entities are people (domain.md 6.1).
CLIENTS = "clients"
MERGE_PROPERTY = entities.MERGE_PROPERTY
UNDO_DAYS = 30
DECISIONS = ("same", "different")


class PairDecided(Problem):
    """The pair was decided already (or one of the two was merged since)."""

    code, status = "409.32", 409


class UndoExpired(Problem):
    code, status = "409.31", 409


def is_open(entity: Entity) -> bool:
    """A client that may still be someone's duplicate: not deleted, not merged."""
    return entity.deleted_at is None and not entities.is_merged(entity)


# --- finding -----------------------------------------------------------------------------


_COUNTED: dict[tuple[int, object], matching.Frequencies] = {}


def frequencies(session: Session, dataset_id: int) -> matching.Frequencies:
    """The list's frequencies as the last nightly run counted them (uniform before any), read
    once per run: a registration's check does not parse them again."""
    row = session.execute(
        select(DuplicateStats.computed_at).where(DuplicateStats.dataset_id == dataset_id)
    ).first()
    if row is None:
        return matching.UNIFORM
    key = (dataset_id, row.computed_at)
    counted = _COUNTED.get(key)
    if counted is None:
        data = session.scalar(
            select(DuplicateStats.data).where(DuplicateStats.dataset_id == dataset_id)
        )
        counted = matching.Frequencies.from_json(data or {})
        if len(_COUNTED) > 32:
            _COUNTED.clear()
        _COUNTED[key] = counted
    return counted


def _ordered(x: int, y: int) -> tuple[int, int]:
    return (x, y) if x < y else (y, x)


def check_entity(session: Session, entity: Entity) -> int:
    """File one client under its keys and suggest the pairs it makes with the clients sharing
    one (a registration or an update, in the ingest transaction): a few indexed queries, not
    a read of the list. Returns the number of open pairs it is in."""
    session.execute(delete(DuplicateKey).where(DuplicateKey.entity_id == entity.id))
    if not is_open(entity):
        return 0
    me = matching.person(entity.uuid, entity.data or {})
    own = matching.keys(me)
    if own:
        session.execute(
            insert(DuplicateKey),
            [{"dataset_id": entity.dataset_id, "entity_id": entity.id, "key": k} for k in own],
        )
    others = session.execute(  # Core rows: a registration reads a few dozen, never the list
        select(Entity.id, Entity.uuid, Entity.data).where(
            Entity.id.in_(
                select(DuplicateKey.entity_id).where(
                    DuplicateKey.dataset_id == entity.dataset_id,
                    DuplicateKey.key.in_(matching.probe_keys(me)),
                    DuplicateKey.entity_id != entity.id,
                )
            ),
            Entity.deleted_at.is_(None),
        )
    ).all()
    freq = frequencies(session, entity.dataset_id) if others else matching.UNIFORM
    found = {}
    for other_id, other_uuid, data in others:
        if (data or {}).get(MERGE_PROPERTY):
            continue
        match = matching.compare(me, matching.person(other_uuid, data or {}), freq)
        if match.score >= matching.THRESHOLD:
            found[_ordered(entity.id, other_id)] = match
    known = {
        (p.a_id, p.b_id): p
        for p in session.scalars(
            select(DuplicatePair).where(
                or_(DuplicatePair.a_id == entity.id, DuplicatePair.b_id == entity.id)
            )
        )
    }
    for (a, b), match in found.items():
        pair = known.get((a, b))
        if pair is None:
            session.add(
                DuplicatePair(
                    dataset_id=entity.dataset_id,
                    a_id=a,
                    b_id=b,
                    score=match.score,
                    reasons=list(match.reasons),
                    state=OPEN,
                )
            )
        elif pair.state == OPEN:
            pair.score, pair.reasons = match.score, list(match.reasons)
    for key, pair in known.items():  # an update that no longer looks like the other
        if pair.state == OPEN and key not in found:
            session.delete(pair)
    session.flush()
    return len(found)


def check_if_client(session: Session, entity: Entity | None) -> None:
    """ingest's hook: the check, for a client made or changed by a submission."""
    if entity is None:
        return
    dataset = session.get(Dataset, entity.dataset_id)
    if dataset is None or dataset.name != CLIENTS:
        return
    try:
        with session.begin_nested():
            check_entity(session, entity)
    except IntegrityError:  # another registration filed the same pair at this moment
        log.info("duplicate check of entity %s left to the nightly run", entity.id)


def scan(session: Session, principal: Principal, dataset_id: int) -> int:
    """The nightly run over a whole list: count the frequencies, file every open client
    under its keys again and score every pair sharing one. Open pairs no longer suggested are
    dropped; decided ones are kept as they are. Returns the number of open pairs."""
    require(principal, "duplicate.scan")
    rows = session.execute(
        select(Entity.id, Entity.uuid, Entity.data).where(
            Entity.dataset_id == dataset_id, Entity.deleted_at.is_(None)
        )
    ).all()
    people = {}
    for entity_id, uuid, data in rows:
        if not (data or {}).get(MERGE_PROPERTY):
            people[entity_id] = matching.person(uuid, data or {})
    freq = matching.Frequencies.of(people.values())
    stats = session.get(DuplicateStats, dataset_id)
    if stats is None:
        session.add(
            DuplicateStats(dataset_id=dataset_id, data=freq.as_json(), computed_at=utcnow())
        )
    else:
        stats.data, stats.computed_at = freq.as_json(), utcnow()
    session.execute(delete(DuplicateKey).where(DuplicateKey.dataset_id == dataset_id))
    key_rows = [
        {"dataset_id": dataset_id, "entity_id": entity_id, "key": k}
        for entity_id, p in people.items()
        for k in matching.keys(p)
    ]
    for start in range(0, len(key_rows), 5000):
        session.execute(insert(DuplicateKey), key_rows[start : start + 5000])
    ids = {p.uuid: entity_id for entity_id, p in people.items()}
    found = {}
    for a, b in matching.blocks(people.values()):
        match = matching.compare(a, b, freq)
        if match.score >= matching.THRESHOLD:
            found[_ordered(ids[a.uuid], ids[b.uuid])] = match
    known = {
        (p.a_id, p.b_id): p
        for p in session.scalars(
            select(DuplicatePair).where(DuplicatePair.dataset_id == dataset_id)
        )
    }
    new = []
    for key, match in found.items():
        pair = known.get(key)
        if pair is None:
            new.append(
                {
                    "dataset_id": dataset_id,
                    "a_id": key[0],
                    "b_id": key[1],
                    "score": match.score,
                    "reasons": list(match.reasons),
                    "state": OPEN,
                    "found_at": utcnow(),
                }
            )
        elif pair.state == OPEN and (pair.score != match.score):
            pair.score, pair.reasons = match.score, list(match.reasons)
    gone = [p.id for k, p in known.items() if p.state == OPEN and k not in found]
    for start in range(0, len(new), 5000):
        session.execute(insert(DuplicatePair), new[start : start + 5000])
    for start in range(0, len(gone), 500):
        session.execute(
            delete(DuplicatePair).where(DuplicatePair.id.in_(gone[start : start + 500]))
        )
    audit.record(
        session,
        principal.actor_id,
        "duplicate.scan",
        "dataset",
        dataset_id,
        {"clients": len(people), "pairs": len(found), "new": len(new), "dropped": len(gone)},
    )
    session.flush()
    return len(found)


def scan_project(session: Session, principal: Principal, project_id: int | None = None) -> dict:
    """``scan`` for the clients list of every project (or one): {project id: open pairs}."""
    query = select(Dataset).where(Dataset.name == CLIENTS)
    if project_id is not None:
        query = query.where(Dataset.project_id == project_id)
    return {d.project_id: scan(session, principal, d.id) for d in session.scalars(query)}


# --- the queue ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PairView:
    """A candidate pair as the queue shows it: both clients (the caller may see both)."""

    a: Entity
    b: Entity
    score: float
    reasons: tuple[str, ...]
    state: str
    survivor: str | None
    decided_at: datetime | None
    decided_by_id: int | None

    @property
    def undo_until(self) -> datetime | None:
        return self.decided_at + timedelta(days=UNDO_DAYS) if self.decided_at else None


def _dataset(session: Session, project_id: int, name: str) -> Dataset:
    dataset = entities.find_dataset(session, project_id, name)
    if dataset is None:
        raise NotFound(f"Could not find the entity list '{name}'.")
    return dataset


def _sees(principal: Principal, dataset: Dataset, wards, *clients: Entity) -> bool:
    return all(
        entities.in_scope(c, dataset, None if wards is None else sorted(wards)) for c in clients
    )


def _view(pair: DuplicatePair, a: Entity, b: Entity) -> PairView:
    survivor = None
    if pair.survivor_id is not None:
        survivor = a.uuid if pair.survivor_id == a.id else b.uuid
    return PairView(
        a,
        b,
        pair.score,
        tuple(pair.reasons or ()),
        pair.state,
        survivor,
        pair.decided_at,
        pair.decided_by_id,
    )


def list_pairs(
    session: Session, principal: Principal, project_id: int, dataset_name: str, state: str = OPEN
) -> list[PairView]:
    """The pairs of ``state`` whose two clients are both in the caller's wards (a pair with
    one client elsewhere is not listed at all), best score first. Open pairs are those of
    two open clients; decided ones are those still within their undo time."""
    require(principal, "duplicate.review", project_id)
    dataset = _dataset(session, project_id, dataset_name)
    wards = ward_scope(principal, "duplicate.review", project_id)
    query = select(DuplicatePair).where(
        DuplicatePair.dataset_id == dataset.id, DuplicatePair.state == state
    )
    if state != OPEN:
        since = utcnow() - timedelta(days=UNDO_DAYS)
        query = query.where(DuplicatePair.decided_at >= since)
    pairs = list(session.scalars(query))
    ids = {i for p in pairs for i in (p.a_id, p.b_id)}
    by_id = {}
    for start in range(0, len(ids), 500):
        chunk = sorted(ids)[start : start + 500]
        by_id.update({e.id: e for e in session.scalars(select(Entity).where(Entity.id.in_(chunk)))})
    out = []
    for pair in pairs:
        a, b = by_id.get(pair.a_id), by_id.get(pair.b_id)
        if a is None or b is None or not _sees(principal, dataset, wards, a, b):
            continue
        if state == OPEN and not (is_open(a) and is_open(b)):
            continue
        out.append(_view(pair, a, b))
    out.sort(key=lambda v: (-v.score, v.a.id, v.b.id))
    audit.record(
        session,
        principal.actor_id,
        "duplicate.list",
        "dataset",
        dataset.id,
        {"state": state, "count": len(out)},
    )
    return out


def _two(
    session: Session,
    principal: Principal,
    dataset: Dataset,
    a_uuid: str,
    b_uuid: str,
    lock: bool = False,
):
    """The two clients named, in the caller's wards (else NotFound, as for one client of
    another ward), and their pair row if there is one. With ``lock`` (a decision or its
    undo) both clients' rows are locked, in id order, before anything is checked: two
    supervisors deciding about the same client at once take turns, and the second sees what
    the first wrote (PostgreSQL; SQLite's writers take turns anyway)."""
    names = [entities.entity_name(a_uuid), entities.entity_name(b_uuid)]
    if names[0] == names[1]:
        raise UnexpectedValue("A client cannot be a duplicate of itself.", field="b", value=b_uuid)
    query = (
        select(Entity)
        .where(Entity.dataset_id == dataset.id, Entity.uuid.in_(names))
        .order_by(Entity.id)
    )
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    found = {e.uuid: e for e in session.scalars(query)}
    wards = ward_scope(principal, "duplicate.review", dataset.project_id)
    clients = [found.get(n) for n in names]
    if any(c is None for c in clients) or not _sees(principal, dataset, wards, *clients):
        raise NotFound("Could not find these two clients in your communes/wards.")
    a, b = sorted(clients, key=lambda e: e.id)
    pair = session.scalar(
        select(DuplicatePair).where(DuplicatePair.a_id == a.id, DuplicatePair.b_id == b.id)
    )
    return a, b, pair


def get_pair(
    session: Session, principal: Principal, project_id: int, dataset_name: str, a: str, b: str
) -> PairView:
    """One pair for the side-by-side page (audited: it shows two clients' records)."""
    require(principal, "duplicate.review", project_id)
    dataset = _dataset(session, project_id, dataset_name)
    first, second, pair = _two(session, principal, dataset, a, b)
    if pair is None:
        raise NotFound("These two clients are not a suggested pair.")
    audit.record(
        session,
        principal.actor_id,
        "duplicate.read",
        "entity",
        first.id,
        {"dataset": dataset.name, "a": first.uuid, "b": second.uuid},
    )
    return _view(pair, first, second)


def decide(
    session: Session,
    principal: Principal,
    project_id: int,
    dataset_name: str,
    a_uuid: str,
    b_uuid: str,
    decision: str,
    keep: str | None = None,
    targets: list[str] | tuple[str, ...] = (),
) -> PairView:
    """Decide a pair: "same" merges the two (``keep`` names the survivor; by default the
    client registered first), "different" is remembered and never suggested again. The
    caller must hold ``duplicate.review`` in both clients' wards. A pair nobody suggested may
    be decided too (a supervisor who knows the two are one person)."""
    if decision not in DECISIONS:
        raise UnexpectedValue(
            "The decision must be 'same' or 'different'.", field="decision", value=decision
        )
    require(principal, "duplicate.review", project_id)
    dataset = _dataset(session, project_id, dataset_name)
    a, b, pair = _two(session, principal, dataset, a_uuid, b_uuid, lock=True)
    require_may_decide_duplicates(
        principal, project_id, [entities.entity_ward(dataset, c.data or {}) for c in (a, b)]
    )
    if pair is not None and pair.state != OPEN:
        raise PairDecided("These two clients were decided already; undo the decision first.")
    if not (is_open(a) and is_open(b)):
        raise PairDecided("One of these clients was merged or deleted already.")
    if pair is None:
        match = matching.compare(
            matching.person(a.uuid, a.data or {}),
            matching.person(b.uuid, b.data or {}),
            frequencies(session, dataset.id),
        )
        pair = DuplicatePair(
            dataset_id=dataset.id,
            a_id=a.id,
            b_id=b.id,
            score=match.score,
            reasons=list(match.reasons),
        )
        session.add(pair)
    now = utcnow()
    pair.state = SAME if decision == "same" else DIFFERENT
    pair.decided_by_id, pair.decided_at = principal.actor_id, now
    details = {"dataset": dataset.name, "a": a.uuid, "b": b.uuid, "decision": decision}
    if decision == "same":
        if keep is not None and entities.entity_name(keep) not in (a.uuid, b.uuid):
            raise UnexpectedValue(
                "The client to keep must be one of the two.", field="keep", value=keep
            )
        survivor = b if keep is not None and entities.entity_name(keep) == b.uuid else a
        merged = a if survivor is b else b
        pair.survivor_id = survivor.id
        entities.update_entity(
            session, principal, dataset, merged, None, {MERGE_PROPERTY: survivor.uuid}, None
        )
        session.execute(delete(DuplicateKey).where(DuplicateKey.entity_id == merged.id))
        details.update(survivor=survivor.uuid, merged=merged.uuid)
        _tell_register(session, targets, "entity.merge", dataset, merged, survivor, principal)
    session.flush()
    audit.record(
        session, principal.actor_id, "duplicate.decide", "entity", merged_or(pair), details
    )
    return _view(pair, a, b)


def _tell_register(session, targets, kind, dataset, merged, survivor, principal) -> None:
    """The register hears of a merge (and of its undo) as an event in its outbox, after the
    submissions it already has: the merged client's uuid and the survivor's."""
    deliveries.enqueue_event(
        session,
        list(targets),
        {
            "id": str(uuidlib.uuid4()),
            "type": kind,
            "projectId": dataset.project_id,
            "dataset": dataset.name,
            "merged": merged.uuid,
            "into": survivor.uuid,
            "at": utcnow().isoformat(),
            "by": principal.actor_id,
        },
    )


def merged_or(pair: DuplicatePair) -> int:
    """The audit subject of a decision: the merged client, or the first of the two."""
    if pair.survivor_id is None:
        return pair.a_id
    return pair.b_id if pair.survivor_id == pair.a_id else pair.a_id


def undo(
    session: Session,
    principal: Principal,
    project_id: int,
    dataset_name: str,
    a_uuid: str,
    b_uuid: str,
    targets: list[str] | tuple[str, ...] = (),
) -> PairView:
    """Take a decision back within UNDO_DAYS: a merge is unmade (the merged client's
    ``gop_vao`` emptied, it returns to its ward's phones) and the pair is open again."""
    require(principal, "duplicate.review", project_id)
    dataset = _dataset(session, project_id, dataset_name)
    a, b, pair = _two(session, principal, dataset, a_uuid, b_uuid, lock=True)
    require_may_decide_duplicates(
        principal, project_id, [entities.entity_ward(dataset, c.data or {}) for c in (a, b)]
    )
    if pair is None or pair.state == OPEN:
        raise PairDecided("There is no decision on these two clients to undo.")
    if pair.decided_at is None or utcnow() - pair.decided_at > timedelta(days=UNDO_DAYS):
        raise UndoExpired(f"A decision can be undone within {UNDO_DAYS} days only.")
    details = {"dataset": dataset.name, "a": a.uuid, "b": b.uuid, "decision": pair.state}
    subject = merged_or(pair)
    if pair.state == SAME:
        survivor = a if pair.survivor_id == a.id else b
        merged = b if survivor is a else a
        unmerged = (merged.data or {}).get(MERGE_PROPERTY) == survivor.uuid
        if unmerged:
            entities.update_entity(
                session, principal, dataset, merged, None, {MERGE_PROPERTY: ""}, None
            )
            # only a merge really unmade is told: gop_vao changed since (an F7, a later
            # decision) means the register's record already says something else
            _tell_register(
                session, targets, "entity.unmerge", dataset, merged, survivor, principal
            )
        details.update(survivor=survivor.uuid, merged=merged.uuid, unmerged=unmerged)
    pair.state, pair.survivor_id = OPEN, None
    pair.decided_by_id, pair.decided_at = None, None
    session.flush()
    for client in (a, b):
        check_entity(session, client)
    audit.record(session, principal.actor_id, "duplicate.undo", "entity", subject, details)
    return _view(pair, a, b)


def forget(session: Session, entity_ids) -> None:
    """Drop the keys and pairs of clients erased for good (lifecycle.erase_client)."""
    ids = list(entity_ids)
    if not ids:
        return
    session.execute(delete(DuplicateKey).where(DuplicateKey.entity_id.in_(ids)))
    session.execute(
        delete(DuplicatePair).where(
            or_(
                DuplicatePair.a_id.in_(ids),
                DuplicatePair.b_id.in_(ids),
                DuplicatePair.survivor_id.in_(ids),
            )
        )
    )


def survivor_of(session: Session, dataset_id: int, uuid: str) -> str:
    """The client a uuid stands for after merges (gop_vao followed, as the indicators do)."""
    seen = {uuid}
    while True:
        data = session.scalar(
            select(Entity.data).where(Entity.dataset_id == dataset_id, Entity.uuid == uuid)
        )
        nxt = str((data or {}).get(MERGE_PROPERTY) or "").lower()
        if not nxt or nxt in seen:
            return uuid
        seen.add(nxt)
        uuid = nxt
