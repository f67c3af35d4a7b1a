"""XLSForm -> XForm with pyxform and ODK Validate: the settings that reach the XForm, warnings,
the fallback form id, and errors a form author can act on (sheet and row when pyxform knows)."""

from __future__ import annotations

import shutil

import pytest

import forms
from forms import FormError

needs_java = pytest.mark.skipif(shutil.which("java") is None, reason="ODK Validate needs java")

GOOD = """
| survey   |         |         |            |
|          | type    | name    | label      |
|          | text    | ten     | Tên        |
|          | integer | tuoi    | Tuổi       |
| settings |         |         |            |
|          | form_id | version | form_title |
|          | thu     | 7       | Thử nghiệm |
"""

NO_FORM_ID = """
| survey   |         |      |       |
|          | type    | name | label |
|          | text    | ten  | Tên   |
| settings |         |      |       |
|          | version |      |       |
|          | 3       |      |       |
"""


def compile_md(text: str, **kwargs) -> forms.CompiledForm:
    kwargs.setdefault("validate", False)
    return forms.compile_xlsform(text.encode(), filename=kwargs.pop("filename", "x.md"), **kwargs)


def with_rows(*rows: str) -> str:
    """GOOD with survey rows added after its last question."""
    anchor = "|          | integer | tuoi    | Tuổi       |"
    return GOOD.replace(anchor, "\n".join((anchor, *rows)))


def test_good_form_compiles_with_the_settings_form_id_version_and_title():
    compiled = compile_md(GOOD)
    schema = forms.read_xform(compiled.xform)
    assert (schema.form_id, schema.version, schema.title) == ("thu", "7", "Thử nghiệm")
    assert compiled.xform.startswith(b"<?xml")


def test_compiled_form_is_not_validated_when_validate_is_false():
    compiled = compile_md(GOOD)
    assert compiled.validated is False
    assert compiled.warnings == []


@pytest.mark.java
@needs_java
def test_compiled_form_is_validated_when_odk_validate_runs():
    assert compile_md(GOOD, validate=True).validated is True


def test_image_without_max_pixels_gives_one_warning():
    compiled = compile_md(with_rows("|          | image   | anh     | Ảnh        |"))
    assert len(compiled.warnings) == 1
    assert "max-pixels" in compiled.warnings[0]


def test_image_with_max_pixels_gives_no_warning():
    text = """
| survey |       |      |       |                 |
|        | type  | name | label | parameters      |
|        | image | anh  | Ảnh   | max-pixels=1024 |
"""
    assert compile_md(text).warnings == []


def test_fallback_form_id_is_used_when_settings_has_no_form_id():
    compiled = compile_md(NO_FORM_ID, fallback_form_id="f2_gap_go")
    assert forms.read_xform(compiled.xform).form_id == "f2_gap_go"


@pytest.mark.parametrize("fallback", ["a/b", "100%", "it's", "uuid:7f0c"])
def test_fallback_form_id_may_hold_any_character_central_allows(fallback):
    compiled = compile_md(NO_FORM_ID, fallback_form_id=fallback)
    assert forms.read_xform(compiled.xform).form_id == fallback


def test_settings_form_id_wins_over_the_fallback_form_id():
    compiled = compile_md(GOOD, fallback_form_id="f2_gap_go")
    assert forms.read_xform(compiled.xform).form_id == "thu"


@pytest.mark.parametrize(
    ("filename", "form_id"),
    [("tham_nha.md", "tham_nha"), ("Biểu mẫu 1.md", "Biểu mẫu 1"), ("✅.md", "✅"), (" .md", "data")],
)
def test_file_stem_is_the_form_id_when_there_is_no_fallback(filename, form_id):
    """Central's rule: any character goes; only a file with no stem gives pyxform's 'data'."""
    compiled = compile_md(NO_FORM_ID, filename=filename)
    assert forms.read_xform(compiled.xform).form_id == form_id


@pytest.mark.parametrize(
    ("row", "words"),
    [
        ("|          | bogus   | x       | X          |", "Unknown question type 'bogus'"),
        ("|          | text    | x       |            |", "no label"),
    ],
    ids=["unknown type", "no label"],
)
def test_bad_question_raises_form_error_naming_the_problem(row, words):
    with pytest.raises(FormError) as info:
        compile_md(with_rows(row))
    assert words in str(info.value)


def test_duplicate_name_raises_form_error_with_survey_sheet_and_row():
    text = with_rows(
        "|          | note    | ghi     | Ghi chú    |",
        "|          | text    | ten     | Tên lại    |",
    )
    with pytest.raises(FormError) as info:
        compile_md(text)
    assert info.value.sheet == "survey"
    assert info.value.row == 5
    assert "'ten'" in str(info.value)


def test_reference_to_an_unknown_name_raises_form_error_with_survey_sheet_and_row():
    with pytest.raises(FormError) as info:
        compile_md(with_rows("|          | note    | ghi     | ${khong_co} |"))
    assert info.value.sheet == "survey"
    assert info.value.row == 4
    assert "khong_co" in str(info.value)


@pytest.mark.parametrize("filename", ["form.pdf", "form"])
def test_unsupported_file_type_is_refused_with_the_supported_list(filename):
    with pytest.raises(FormError) as info:
        forms.compile_xlsform(b"%PDF-1.4", filename=filename, validate=False)
    assert "Unsupported file type" in str(info.value)
    assert ".xlsx" in str(info.value)


@pytest.mark.parametrize("filename", ["x.xlsx", "x.xls"])
def test_bytes_that_are_not_a_spreadsheet_give_form_error(filename):
    with pytest.raises(FormError) as info:
        forms.compile_xlsform(b"this is not a workbook", filename=filename, validate=False)
    assert str(info.value)


def test_form_error_names_sheet_and_row_in_its_text_only_once():
    with pytest.raises(FormError) as info:
        compile_md(with_rows("|          | text    | ten     | Again      |"))
    assert str(info.value).count("row") == 1


@pytest.mark.java
@needs_java
def test_form_odk_validate_rejects_raises_form_error_naming_odk_validate():
    text = """
| survey |           |      |       |             |
|        | type      | name | label | calculation |
|        | calculate | c    |       | foo(1)      |
"""
    compile_md(text)  # pyxform alone accepts it
    with pytest.raises(FormError) as info:
        compile_md(text, validate=True)
    assert "ODK Validate" in str(info.value)
    assert "foo" in str(info.value)
