"""python -m bench.duplicates: how well and how fast the duplicate matcher finds planted
duplicates in a synthetic list of clients.

A population of --clients (20,000) client entities: the UIC letters drawn from Vietnamese given
names as common as they are (Hương, Hùng, Thu... far more than Xuân), sex, a date of birth
(or, for three in ten, only the year), a ward of xlsforms/wards.csv. Among them --planted
(1,000) duplicates of others, each with one slip (a letter, the parents' order, accents typed,
the birth year one off, another ward) and a third of them in another ward as well, and as
many look-alikes: other people with the same letters and birth year. Prints the precision
and recall of the candidate list (pairs scoring THRESHOLD or more), the time of a full
nightly run (duplicates.scan on a fresh SQLite or PostgreSQL database) and the median time of
one registration's check (duplicates.check_entity) over --checks registrations. Prints,
never asserts.

    python -m bench.duplicates [--db sqlite|postgres|both] [--clients 20000] [--planted 1000]
                               [--checks 50]
"""

from __future__ import annotations

import argparse
import csv
import random
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

#: Given names with a rough weight (how often they are met), accents kept: the bench folds
#: them as staff do when they type two letters.
GIVEN = {
    "Hương": 9,
    "Hùng": 8,
    "Thu": 8,
    "Thủy": 7,
    "Hoa": 7,
    "Lan": 7,
    "Minh": 7,
    "Mai": 6,
    "Nga": 6,
    "Hải": 6,
    "Hà": 6,
    "Tuấn": 6,
    "Thanh": 6,
    "Ngọc": 5,
    "Nam": 5,
    "Hòa": 5,
    "Dũng": 5,
    "Đức": 5,
    "Phương": 5,
    "Linh": 5,
    "Trang": 5,
    "Hạnh": 4,
    "Hiền": 4,
    "Quang": 4,
    "Sơn": 4,
    "Long": 4,
    "Bình": 4,
    "Cường": 4,
    "Tâm": 4,
    "Vân": 4,
    "Yến": 3,
    "Oanh": 3,
    "Loan": 3,
    "Liên": 3,
    "Khánh": 3,
    "Kiên": 3,
    "Giang": 3,
    "Chi": 3,
    "Đào": 3,
    "Bích": 2,
    "Cúc": 2,
    "Dung": 3,
    "Ánh": 2,
    "Ân": 1,
    "Uyên": 2,
    "Phúc": 3,
    "Quý": 2,
    "Vinh": 3,
    "Xuân": 2,
    "Tùng": 3,
    "Toàn": 3,
    "Lợi": 2,
    "Nhung": 3,
    "Huệ": 3,
    "Gấm": 1,
    "Ích": 1,
    "Ước": 1,
    "Êm": 1,
    "Ơn": 1,
}
SLIPS = ("typo", "diacritics", "swapped", "year", "ward")


def _wards() -> list[tuple[str, str]]:
    path = Path(__file__).resolve().parents[1] / "xlsforms" / "wards.csv"
    with path.open(encoding="utf-8", newline="") as f:
        return [(row["name"], row["tinh"]) for row in csv.DictReader(f)]


def _two(name: str) -> str:
    """A given name's first two letters as a phone keyboard may leave them (accents kept)."""
    return name[:2].upper()


@dataclass
class Client:
    uuid: str
    data: dict


def _client(me: str, bo: str, sex: str, dob: tuple[int, int, int] | None, year: int, ward):
    digits = f"{dob[0]:02d}{dob[1]:02d}{year % 100:02d}" if dob else f"0000{year % 100:02d}"
    return Client(
        str(uuid.uuid4()),
        {
            "uic": f"{me}{bo}{sex}{digits}",
            "gioi": sex,
            "nam_sinh": str(year),
            "ma_xa": ward[0],
            "ma_tinh": ward[1],
            "trang_thai": "mo",
        },
    )


def population(clients: int, planted: int, rng: random.Random):
    """(clients, the planted pairs as frozensets of uuids)."""
    names, weights = list(GIVEN), list(GIVEN.values())
    wards = _wards()
    ward_weights = [rng.random() ** 2 + 0.05 for _ in wards]  # some wards far busier

    def someone():
        me, bo = (_two(n) for n in rng.choices(names, weights, k=2))
        year = rng.randint(1965, 2008)
        dob = (rng.randint(1, 28), rng.randint(1, 12)) if rng.random() < 0.7 else None
        ward = rng.choices(wards, ward_weights)[0]
        return me, bo, rng.choice("12"), dob, year, ward

    base = clients - 2 * planted
    people = [someone() for _ in range(base)]
    out = [_client(*p) for p in people]
    truth = set()
    for index in rng.sample(range(base), planted):
        me, bo, sex, dob, year, ward = people[index]
        slip = rng.choice(SLIPS)
        if slip == "typo":
            which = rng.randrange(4)
            letters = list(me + bo)
            letters[which] = rng.choice("ABCDEGHIKLMNOPQRSTUVXY")
            me, bo = "".join(letters[:2]), "".join(letters[2:])
        elif slip == "diacritics":  # an accent typed, or the original typed without
            me = {"A": "Â", "O": "Ơ", "U": "Ư", "E": "Ê", "D": "Đ"}.get(me[0], me[0]) + me[1]
        elif slip == "swapped":
            me, bo = bo, me
        elif slip == "year":
            year += rng.choice((-1, 1))
            dob = None if rng.random() < 0.5 else dob
        if slip == "ward" or rng.random() < 0.33:  # most move nearby: the same province
            nearby = [w for w in wards if w[1] == ward[1] and w != ward]
            ward = rng.choice(nearby if rng.random() < 0.8 else wards)
        copy = _client(me, bo, sex, dob, year, ward)
        out.append(copy)
        truth.add(frozenset((out[index].uuid, copy.uuid)))
    for index in rng.sample(range(base), planted):  # same letters and year, another person
        me, bo, _, _, year, _ = people[index]
        other = someone()
        out.append(_client(me, bo, other[2], other[3], year, other[5]))
    rng.shuffle(out)
    return out, truth


def quality(candidates: set[frozenset], truth: set[frozenset]) -> tuple[float, float]:
    found = len(candidates & truth)
    precision = found / len(candidates) if candidates else 1.0
    return precision, found / len(truth) if truth else 1.0


def matcher_only(clients: int, planted: int, seed: int = 13) -> str:
    """The matcher in memory, without a database (quick to tune)."""
    from server.services import matching

    rng = random.Random(seed)
    people, truth = population(clients, planted, rng)
    started = time.perf_counter()
    records = [matching.person(c.uuid, c.data) for c in people]
    freq = matching.Frequencies.of(records)
    candidates = {
        frozenset((a.uuid, b.uuid))
        for a, b in matching.blocks(records)
        if matching.compare(a, b, freq).score >= matching.THRESHOLD
    }
    took = time.perf_counter() - started
    precision, recall = quality(candidates, truth)
    return (
        f"matcher alone: {len(candidates)} candidate pairs, precision {precision:.3f}, "
        f"recall {recall:.3f} ({took:.2f} s)"
    )


def run(db: str, clients: int, planted: int, checks: int, seed: int = 13) -> list[str]:
    from sqlalchemy import insert, select

    from bench.common import reset_database
    from server.app import create_app
    from server.auth.permissions import SYSTEM
    from server.models.duplicates import DuplicatePair
    from server.models.entities import Dataset, Entity
    from server.services import duplicates, projects
    from server.settings import Settings

    rng = random.Random(seed)
    people, truth = population(clients, planted, rng)
    holdout = people[-checks:] if checks else []
    stored = people[: len(people) - len(holdout)]
    with tempfile.TemporaryDirectory() as tmp:
        url = reset_database(db, Path(tmp))
        app = create_app(
            Settings.from_env(
                {
                    "INSTANCE_PATH": f"{tmp}/instance",
                    "DATABASE_URL": url,
                    "BLOB_STORE": f"file:{tmp}/blobs",
                    "SECRET_KEY": "bench-secret-key-not-for-production",
                    "PUBLIC_URL": "https://bench.example.org",
                }
            )
        )
        assert app.test_cli_runner().invoke(args=["init"]).exit_code == 0
        database = app.extensions["donghanh"].db
        with database.transaction() as session:
            project_id = projects.list_projects(session)[0].id
            dataset_id = session.scalar(
                select(Dataset.id).where(
                    Dataset.project_id == project_id, Dataset.name == "clients"
                )
            )
            session.execute(
                insert(Entity),
                [
                    {
                        "dataset_id": dataset_id,
                        "uuid": c.uuid,
                        "label": c.data["uic"],
                        "data": c.data,
                        "version": 1,
                    }
                    for c in stored
                ],
            )
        started = time.perf_counter()
        with database.transaction() as session:
            counted = duplicates.scan(session, SYSTEM, dataset_id)
        nightly = time.perf_counter() - started
        times = []
        for c in holdout:
            with database.transaction() as session:
                entity = Entity(
                    dataset_id=dataset_id, uuid=c.uuid, label=c.data["uic"], data=c.data, version=1
                )
                session.add(entity)
                session.flush()
                t0 = time.perf_counter()
                duplicates.check_entity(session, entity)
                times.append(time.perf_counter() - t0)
        with database.transaction(write=False) as session:
            uuids = dict(session.execute(select(Entity.id, Entity.uuid)).all())
            candidates = {
                frozenset((uuids[a], uuids[b]))
                for a, b in session.execute(select(DuplicatePair.a_id, DuplicatePair.b_id))
            }
        database.engine.dispose()
    precision, recall = quality(candidates, truth)
    median = statistics.median(times) * 1000 if times else 0.0
    return [
        f"{db}: {clients} clients, {planted} planted duplicates, {planted} look-alikes",
        f"  candidates {len(candidates)} pairs: precision {precision:.3f}, recall {recall:.3f}",
        f"  nightly run: {nightly:.2f} s ({counted} pairs scored)",
        f"  one registration's check: median {median:.1f} ms, slowest "
        f"{max(times) * 1000 if times else 0:.1f} ms (n={len(times)})",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="sqlite", choices=["sqlite", "postgres", "both"])
    parser.add_argument("--clients", type=int, default=20000)
    parser.add_argument("--planted", type=int, default=1000)
    parser.add_argument("--checks", type=int, default=50)
    parser.add_argument("--matcher-only", action="store_true")
    args = parser.parse_args()
    print(matcher_only(args.clients, args.planted))
    if args.matcher_only:
        return
    for db in ("sqlite", "postgres") if args.db == "both" else (args.db,):
        for line in run(db, args.clients, args.planted, args.checks):
            print(line, flush=True)


if __name__ == "__main__":
    main()
