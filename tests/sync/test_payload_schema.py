"""Every payload the worker sends validates against docs/payload.schema.json (the contract
the register implements)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from server.registers import TargetConfig
from sync.payload import build
from tests.support.xmls import encrypted_envelope, instance

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "docs/payload.schema.json").read_text())

TYPED_MD = """
| survey   |                    |       |        |
|          | type               | name  | label  |
|          | integer            | tuoi  | Age    |
|          | decimal            | tien  | Amount |
|          | date               | ngay  | Date   |
|          | select_multiple yn | ho_tro | Help  |
|          | geopoint           | vi_tri | Where |
|          | begin_group        | hdr   | Header |
|          | text               | ma_xa | Ward   |
|          | end_group          |       |        |
|          | begin_repeat       | lan   | Visits |
|          | text               | ghi   | Note   |
|          | end_repeat         |       |        |
| choices  |                    |       |        |
|          | list_name          | name  | label  |
|          | yn                 | a     | A      |
|          | yn                 | b     | B      |
| settings |                    |       |        |
|          | form_id            | version |      |
|          | typed              | 3     |        |
"""


def validate(db, version_id) -> dict:
    with db.transaction(write=False) as session:
        document = json.loads(
            build(session, version_id, TargetConfig("t", "https://r"), "https://x").body
        )
    jsonschema.validate(document, SCHEMA)
    return document


def test_typed_payload_validates_and_types_answers(db, make_form, submit):
    make_form(TYPED_MD)
    xml = instance(
        "typed",
        "uuid:t1",
        version="3",
        tuoi="34",
        tien="2.50",
        ngay="2026-11-01",
        ho_tro="a b",
        vi_tri="21.02 105.85 12 5",
        hdr=[{"ma_xa": "00118"}],
        lan=[{"ghi": "x"}, {"ghi": "y"}],
    )
    document = validate(db, submit(xml).version_id)
    assert document["answers"] == {
        "tuoi": 34,
        "tien": 2.5,
        "ngay": "2026-11-01",
        "ho_tro": ["a", "b"],
        "vi_tri": {
            "type": "Point",
            "coordinates": [105.85, 21.02, 12.0],
            "properties": {"accuracy": 5.0},
        },
        "hdr": {"ma_xa": "00118"},
        "lan": [{"ghi": "x"}, {"ghi": "y"}],
    }


def test_encrypted_payload_validates_with_no_answers(db, make_form, submit):
    make_form(TYPED_MD.replace("| typed ", "| enc "))
    document = validate(db, submit(encrypted_envelope("enc", "uuid:e1", "3", [])).version_id)
    assert document["answers"] is None
    assert document["submission"]["encrypted"] is True


def test_the_schema_rejects_a_payload_missing_its_key():
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"schemaVersion": "1.0"}, SCHEMA)
