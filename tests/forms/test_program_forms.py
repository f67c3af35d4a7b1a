"""The program's own XLSForms in xlsforms/: each compiles with pyxform and loads in ODK Validate
(JavaRosa) with no error and no warning, in Vietnamese and English, with sensitive answers
marked for forwarding."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import forms

XLSFORMS = sorted((Path(__file__).resolve().parents[2] / "xlsforms").glob("*.xlsx"))
VI, EN = "Tiếng Việt (vi)", "English (en)"
NOT_ASKED = {"start", "end", "today", "deviceid", "meta", "instanceID", "instanceName"}


def test_the_program_ships_its_forms():
    assert "f5_tham_nha.xlsx" in [p.name for p in XLSFORMS]


@pytest.mark.java
@pytest.mark.skipif(shutil.which("java") is None, reason="ODK Validate needs java")
@pytest.mark.parametrize("path", XLSFORMS, ids=lambda p: p.name)
def test_program_form_compiles_and_validates_without_warnings(path):
    compiled = forms.compile_xlsform(path, validate=True)
    assert compiled.validated
    assert compiled.warnings == []
    schema = forms.read_xform(compiled.xform)
    assert schema.form_id == path.stem
    assert schema.version
    assert set(schema.languages) == {VI, EN}
    for field in schema.fields:
        if field.control and field.name not in NOT_ASKED and "/meta/" not in field.path:
            assert field.labels.get(VI), field.path
            assert field.labels.get(EN), field.path
            for choice in field.choices:
                assert choice.labels.get(VI), (field.path, choice)
                assert choice.labels.get(EN), (field.path, choice)


def test_home_visit_marks_drug_use_and_risk_special_and_photo_gps_identifying():
    schema = forms.read_xform(
        forms.compile_xlsform(XLSFORMS[0].parent / "f5_tham_nha.xlsx", validate=False).xform
    )
    marked = {f.name: f.sensitive for f in schema.fields if f.sensitive}
    assert marked == {
        "ly_do_kg": "special",
        "sd_tu_bao": "special",
        "nguy_co": "special",
        "anh": "identifying",
        "vi_tri": "identifying",
    }
    for word in ("ma túy", "HIV", "mại dâm"):
        assert word.lower() not in schema.title.lower()


def test_the_wards_file_holds_the_official_two_level_units():
    import csv

    with (XLSFORMS[0].parent / "wards.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    by_code = {r["name"]: r for r in rows}
    assert len([r for r in rows if r["tinh"] == "01"]) == 126  # Hà Nội: 51 phường + 75 xã
    assert len([r for r in rows if r["tinh"] == "66"]) == 102  # Đắk Lắk
    assert by_code["00118"]["label"] == "Phường Bồ Đề"  # official code, not the draft 130
    assert by_code["24133"]["label"] == "Phường Buôn Ma Thuột"
    assert all(len(r["name"]) == 5 and r["name"].isdigit() for r in rows)


@pytest.mark.parametrize("path", XLSFORMS, ids=lambda p: p.name)
def test_every_programme_form_names_its_submissions_without_special_answers(path):
    """Each form gives its submissions a readable title (its instance name, what Collect's
    lists and the server's lists show). The name is forwarded as it is, so it names no
    special-category answer (the register drops those answers)."""
    from lxml import etree

    compiled = forms.compile_xlsform(path, validate=False)
    tree = etree.fromstring(
        compiled.xform.encode() if isinstance(compiled.xform, str) else compiled.xform
    )
    binds = {b.get("nodeset"): b for b in tree.iter("{http://www.w3.org/2002/xforms}bind")}
    calculate = binds[f"/{tree.find('.//{*}instance/*').tag.split('}')[-1]}/meta/instanceName"]
    expression = calculate.get("calculate")
    assert expression
    schema = forms.read_xform(compiled.xform)
    special = {f.path for f in schema.fields if f.sensitive == "special"}
    assert not [p for p in special if p in expression], expression
