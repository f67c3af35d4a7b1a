"""The documents forwarding sends are byte-identical to the ones the one-version-at-a-time
builder made before the batched loop (tests/sync/fixtures/payloads.json was written by that
builder, commit 034b53a), and the batch builder gives the same bytes as the one-version one:
plain, edited, repeats, a photo present and one missing, identifying answers hashed, special
ones dropped, per-target field rules, a programme form with groups and calculates."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, update

from server.models.submissions import Submission, SubmissionVersion
from server.registers import TargetConfig
from sync import payload as payloads
from tests.support.xmls import instance

FIXTURE = Path(__file__).parent / "fixtures" / "payloads.json"

SENSITIVE_MD = """
| survey   |               |         |             |                    |
|          | type          | name    | label       | bind::dh:sensitive |
|          | text          | ma_kh   | Client code |                    |
|          | text          | dien_thoai | Phone    | identifying        |
|          | select_one yn | sd_tu_bao | Used?     | special            |
|          | select_multiple yn | nhieu | Many    | identifying        |
|          | geopoint      | vi_tri  | Where       | identifying        |
|          | image         | anh     | Photo       | identifying        |
|          | text          | ghi_chu | Note        |                    |
| choices  |               |         |             |                    |
|          | list_name     | name    | label       |                    |
|          | yn            | co      | Yes         |                    |
|          | yn            | khong   | No          |                    |
| settings |               |         |             |                    |
|          | form_id       | version | namespaces  |                    |
|          | tham          | 1       | dh="https://donghanh.vn/xforms" |  |
"""

TARGETS = [
    TargetConfig("https://a.example/intake", "https://a.example/intake", hash_key=b"key-a"),
    TargetConfig(
        "https://b.example/intake",
        "https://b.example/intake",
        identifying="full",
        special="full",
        fields={"ghi_chu": "drop", "ma_kh": "hash"},
        hash_key=b"key-b",
    ),
]
PHOTO = b"\xff\xd8\xff\xe0 photo bytes" * 50


@pytest.fixture
def versions(app, db, make_form, visit_form, submit, collect):
    """Submissions of every shape, with their times set to fixed values."""
    make_form(SENSITIVE_MD)
    submit(instance("visit", "uuid:p1", ma_kh="LAHU1M1990", gap="co", anh="a.jpg"))
    submit(
        instance("visit", "uuid:p2", deprecated_id="uuid:p1", gap="khong", instance_name="Lần 2")
    )
    submit(
        instance("visit", "uuid:p3", gap="co", ho_tro=[{"anh_ht": "x.jpg"}, {"anh_ht": "y.jpg"}])
    )
    submit(
        instance(
            "tham",
            "uuid:s1",
            ma_kh="LAHU2F1985",
            dien_thoai="0912 345 678",
            sd_tu_bao="khong",
            nhieu="co khong",
            vi_tri="21.0285 105.8542 10 5",
            anh="b.jpg",
            ghi_chu='Đã gặp, hẹn tuần sau "ổn"',
        )
    )
    [reply] = collect.submit(
        instance("visit", "uuid:c1", ma_kh="LAHU3M2001", gap="co", anh="c.jpg"), {"c.jpg": PHOTO}
    )
    assert reply.status == 201
    fixed = datetime(2026, 11, 22, 2, 15, 30, 123456, tzinfo=UTC)
    with db.transaction() as session:
        session.execute(update(Submission).values(created_at=fixed))
        session.execute(update(SubmissionVersion).values(created_at=fixed))
        return list(session.scalars(select(SubmissionVersion.id).order_by(SubmissionVersion.id)))


def one_by_one(db, versions) -> list[bytes]:
    with db.transaction(write=False) as session:
        return [
            payloads.build(session, v, t, "https://donghanh.example.org").body
            for v in versions
            for t in TARGETS
        ]


def batched(db, versions) -> list[bytes]:
    with db.transaction(write=False) as session:
        built = payloads.build_batch(
            session, [(v, t) for v in versions for t in TARGETS], "https://donghanh.example.org"
        )
    return [b.body for b in built]


def test_documents_are_the_bytes_the_old_builder_made(db, versions):
    bodies = one_by_one(db, versions)
    if os.environ.get("WRITE_PAYLOAD_FIXTURES") == "1":  # only when the document must change
        FIXTURE.parent.mkdir(exist_ok=True)
        FIXTURE.write_text(json.dumps([b.decode() for b in bodies], ensure_ascii=False, indent=0))
    expected = [b.encode() for b in json.loads(FIXTURE.read_text())]
    assert len(expected) == 2 * len(versions) == 10
    assert bodies == expected


def test_the_batch_builder_gives_the_same_bytes_as_the_one_version_builder(db, versions):
    expected = [b.encode() for b in json.loads(FIXTURE.read_text())]
    assert batched(db, versions) == expected
    backwards = [expected[2 * i : 2 * i + 2] for i in reversed(range(len(versions)))]
    assert batched(db, list(reversed(versions))) == [b for pair in backwards for b in pair]
