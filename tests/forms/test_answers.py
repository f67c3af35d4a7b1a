"""Typed answers keyed by XLSForm name: numbers are numbers, dates ISO text, select_multiple
lists, geopoints GeoJSON, groups nest, repeats are lists, meta is left out, transforms apply."""

from __future__ import annotations

import pytest

import forms
from forms.answers import DROP, answers, typed
from forms.xform import Field
from forms.xml import parse

FORM = """
| survey   |                    |        |         |
|          | type               | name   | label   |
|          | integer            | tuoi   | Tuổi    |
|          | decimal            | can    | Cân     |
|          | date               | ngay   | Ngày    |
|          | select_one gt      | gioi   | Giới    |
|          | select_multiple dv | dv     | Dịch vụ |
|          | geopoint           | vitri  | Vị trí  |
|          | text               | ghi    | Ghi chú |
|          | begin_group        | nha    | Nhà     |
|          | text               | so_nha | Số nhà  |
|          | end_group          |        |         |
|          | begin_repeat       | lan    | Lần     |
|          | integer            | so     | Số      |
|          | image              | anh    | Ảnh     |
|          | end_repeat         |        |         |
| choices  |                    |        |         |
|          | list_name          | name   | label   |
|          | gt                 | nam    | Nam     |
|          | gt                 | nu     | Nữ      |
|          | dv                 | pep    | PEP     |
|          | dv                 | arv    | ARV     |
"""

INSTANCE = """<data id="x" xmlns:orx="http://openrosa.org/xforms">
<tuoi>34</tuoi><can>61.50</can><ngay>2026-11-22</ngay><gioi>nu</gioi><dv>pep arv</dv>
<vitri>21.0285 105.8542 12.5 4.0</vitri><ghi></ghi><nha><so_nha>12A</so_nha></nha>
<lan><so>1</so><anh>a.jpg</anh></lan><lan><so>2</so><anh/></lan>
<orx:meta><orx:instanceID>uuid:1</orx:instanceID></orx:meta></data>"""


@pytest.fixture(scope="module")
def schema() -> forms.FormSchema:
    xml = forms.compile_xlsform(FORM.encode(), filename="x.md", validate=False).xform
    return forms.read_xform(xml)


@pytest.fixture
def root():
    return parse(INSTANCE.encode())


def test_answers_are_typed_nested_and_leave_out_meta(schema, root):
    assert answers(schema, root) == {
        "tuoi": 34,
        "can": 61.5,
        "ngay": "2026-11-22",
        "gioi": "nu",
        "dv": ["pep", "arv"],
        "vitri": {
            "type": "Point",
            "coordinates": [105.8542, 21.0285, 12.5],
            "properties": {"accuracy": 4.0},
        },
        "ghi": None,
        "nha": {"so_nha": "12A"},
        "lan": [{"so": 1, "anh": "a.jpg"}, {"so": 2, "anh": None}],
    }


def test_answers_of_a_single_repeat_instance_are_still_a_list(schema):
    root = parse(b'<data id="x"><lan><so>1</so></lan></data>')
    assert answers(schema, root) == {"lan": [{"so": 1}]}


def test_answers_leave_out_elements_the_form_does_not_have(schema):
    root = parse(b'<data id="x"><tuoi>3</tuoi><la>?</la></data>')
    assert answers(schema, root) == {"tuoi": 3}


def test_transform_returning_drop_removes_the_answer_and_another_value_replaces_it(schema, root):
    def transform(field: Field, value: object) -> object:
        if field.name == "vitri":
            return DROP
        if field.name == "so_nha":
            return "***"
        return value

    result = answers(schema, root, transform)
    assert "vitri" not in result
    assert result["nha"] == {"so_nha": "***"}
    assert result["tuoi"] == 34


def test_transform_sees_each_answer_once_with_its_field_and_typed_value(schema, root):
    seen: list[tuple[str, object]] = []

    def record(field: Field, value: object) -> object:
        seen.append((field.path, value))
        return value

    answers(schema, root, record)
    assert ("/data/tuoi", 34) in seen
    assert ("/data/lan/so", 1) in seen
    assert ("/data/lan/so", 2) in seen
    assert not any(path.startswith("/data/meta") for path, _ in seen)


def field(type_: str, control: str | None = "input") -> Field:
    return Field("/data/x", "x", type_, control)


@pytest.mark.parametrize(
    ("type_", "control", "text", "value"),
    [
        ("int", "input", "42", 42),
        ("int", "input", " -7 ", -7),
        ("int", "input", "bốn", "bốn"),
        ("decimal", "input", "2.50", 2.5),
        ("decimal", "input", "3.0", 3),
        ("decimal", "input", "-0.125", -0.125),
        ("decimal", "input", "abc", "abc"),
        ("date", "input", "2026-11-22", "2026-11-22"),
        ("dateTime", "input", "2026-11-22T10:15:00.000+07:00", "2026-11-22T10:15:00.000+07:00"),
        ("string", "select", "a  b c", ["a", "b", "c"]),
        ("string", "select1", "a", "a"),
        ("geopoint", "input", "21.0 105.8", {"type": "Point", "coordinates": [105.8, 21.0]}),
        ("geopoint", "input", "21.0 105.8 7", {"type": "Point", "coordinates": [105.8, 21.0, 7.0]}),
        ("geopoint", "input", "not a point", "not a point"),
        ("string", "input", "", None),
        ("string", "input", "   ", None),
        ("int", "input", None, None),
    ],
)
def test_typed_answer_has_the_json_value_of_its_type(type_, control, text, value):
    result = typed(field(type_, control), text)
    assert result == value
    assert type(result) is type(value)


def test_typed_decimal_that_is_whole_is_an_int():
    assert isinstance(typed(field("decimal"), "3.0"), int)


@pytest.mark.parametrize("text", ["Infinity", "-Infinity", "NaN"])
def test_typed_non_finite_decimals_are_kept_as_text_so_payloads_stay_json(text):
    assert typed(field("decimal"), text) == text
