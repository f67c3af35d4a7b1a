"""XLSForm -> XForm with pyxform and ODK Validate: results, warnings, and errors that name
the sheet and row."""

from __future__ import annotations

import shutil

import pytest

import forms
from forms import FormError, compile_xlsform

GOOD = """
| survey   |         |        |        |
|          | type    | name   | label  |
|          | text    | ten    | Name   |
|          | image   | anh    | Photo  |
| settings |         |        |        |
|          | form_id | version | form_title |
|          | thu     | 7      | Thử    |
"""

needs_java = pytest.mark.skipif(shutil.which("java") is None, reason="ODK Validate needs java")


def md(text: str) -> bytes:
    return text.encode()


def test_good_form_compiles_with_id_version_title_and_a_warning():
    compiled = compile_xlsform(md(GOOD), filename="x.md", validate=False)
    schema = forms.read_xform(compiled.xform)
    assert (schema.form_id, schema.version, schema.title) == ("thu", "7", "Thử")
    assert any("max-pixels" in w for w in compiled.warnings)
    assert compiled.validated is False


@pytest.mark.java
@needs_java
def test_odk_validate_runs_when_java_is_present():
    assert compile_xlsform(md(GOOD), filename="x.md").validated is True


def test_fallback_form_id_is_used_when_settings_name_none():
    text = """
| survey   |         |      |       |
|          | type    | name | label |
|          | text    | ten  | Name  |
| settings |         |      |       |
|          | version |      |       |
|          | 3       |      |       |
"""
    compiled = compile_xlsform(
        md(text), filename="x.md", fallback_form_id="f2_gap_go", validate=False
    )
    assert forms.read_xform(compiled.xform).form_id == "f2_gap_go"


@pytest.mark.parametrize(
    ("row", "words"),
    [
        ("|          | bogus   | x      | X      |", "bogus"),
        ("|          | text    | x      |        |", "no label"),
        ("|          | text    | ten    | Again  |", "ten"),
        ("|          | text    | y      | ${nope} |", "nope"),
    ],
)
def test_bad_forms_raise_form_error_with_a_useful_message(row, words):
    text = GOOD.replace(
        "|          | image   | anh    | Photo  |",
        "|          | image   | anh    | Photo  |\n" + row,
    )
    with pytest.raises(FormError) as info:
        compile_xlsform(md(text), filename="x.md", validate=False)
    assert words in str(info.value)


def test_duplicate_name_names_the_sheet_and_row():
    text = GOOD.replace(
        "|          | image   | anh    | Photo  |",
        "|          | image   | anh    | Photo  |\n|          | text    | ten    | B |",
    )
    with pytest.raises(FormError) as info:
        compile_xlsform(md(text), filename="x.md", validate=False)
    assert info.value.sheet == "survey"
    assert info.value.row == 4


def test_unsupported_file_type_is_refused():
    with pytest.raises(FormError, match="Unsupported file type"):
        compile_xlsform(b"%PDF-1.4", filename="form.pdf")


def test_bytes_that_are_not_a_spreadsheet_give_form_error():
    with pytest.raises(FormError):
        compile_xlsform(b"this is not a workbook", filename="form.xlsx", validate=False)


@pytest.mark.java
@needs_java
def test_a_form_javarosa_rejects_fails_with_odk_validates_words():
    bad = """
| survey   |           |      |       |             |
|          | type      | name | label | calculation |
|          | calculate | c    |       | foo(1)      |
| settings |           |      |       |             |
|          | form_id   |      |       |             |
|          | thu       |      |       |             |
"""
    with pytest.raises(FormError, match="ODK Validate"):
        compile_xlsform(md(bad), filename="x.md", validate=True)
