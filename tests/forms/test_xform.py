"""Reading an XForm into a FormSchema: fields, bind types, labels per language, choices,
repeats, binary fields, expected media, entity declarations, save_to, sensitivity, the key."""

from __future__ import annotations

import pytest

import forms
from forms import FormError
from forms.xform import EntityDeclaration, MediaFile

VI, EN = "Tiếng Việt (vi)", "English (en)"

FORM = """
| survey   |                                |        |                        |                     |              |                    |         |
|          | type                           | name   | label::Tiếng Việt (vi) | label::English (en) | media::image | bind::dh:sensitive | save_to |
|          | text                           | ten    | Tên                    | Name                |              | identifying        | ten     |
|          | integer                        | tuoi   | Tuổi                   | Age                 |              |                    | tuoi    |
|          | decimal                        | can    | Cân nặng               | Weight              |              |                    |         |
|          | date                           | ngay   | Ngày                   | Date                |              |                    |         |
|          | geopoint                       | vitri  | Vị trí                 | Location            |              | identifying        |         |
|          | select_multiple dv             | dv     | Dịch vụ                | Services            |              | special            |         |
|          | select_one_from_file wards.csv | xa     | Xã                     | Ward                |              |                    |         |
|          | note                           | logo   | Logo                   | Logo                | logo.png     |                    |         |
|          | begin_group                    | nha    | Nhà                    | Home                |              |                    |         |
|          | text                           | so_nha | Số nhà                 | House number        |              |                    |         |
|          | end_group                      |        |                        |                     |              |                    |         |
|          | begin_repeat                   | lan    | Lần                    | Visit               |              |                    |         |
|          | image                          | anh    | Ảnh                    | Photo               |              | identifying        |         |
|          | text                           | ghi    | Ghi chú                | Note                |              |                    |         |
|          | end_repeat                     |        |                        |                     |              |                    |         |
| choices  |                                |        |                        |                     |              |                    |         |
|          | list_name                      | name   | label::Tiếng Việt (vi) | label::English (en) |              |                    |         |
|          | dv                             | pep    | Dự phòng               | Prevention          |              |                    |         |
|          | dv                             | arv    | Điều trị               | Treatment           |              |                    |         |
| entities |                                |        |                        |                     |              |                    |         |
|          | list_name                      | label  |                        |                     |              |                    |         |
|          | clients                        | ${ten} |                        |                     |              |                    |         |
| settings |                                |        |                        |                     |              |                    |         |
|          | form_id                        | version | namespaces            | public_key          |              |                    |         |
|          | day_du                         | 4      | dh="https://donghanh.vn/xforms" | MIIBCgKCAQEA |          |                    |         |
"""

UPDATE = """
| survey   |           |             |         |                 |
|          | type      | name        | label   | save_to         |
|          | text      | cid         | Mã      |                 |
|          | integer   | so_lan      | Số lần  | so_lan          |
| entities |           |             |         |                 |
|          | list_name | entity_id   |         |                 |
|          | clients   | ${cid}      |         |                 |
"""


def compile_md(text: str) -> bytes:
    return forms.compile_xlsform(text.encode(), filename="x.md", validate=False).xform


@pytest.fixture(scope="module")
def schema() -> forms.FormSchema:
    return forms.read_xform(compile_md(FORM))


def test_schema_has_form_id_version_root_and_languages(schema):
    assert (schema.form_id, schema.version, schema.root_name) == ("day_du", "4", "data")
    assert set(schema.languages) >= {VI, EN}


@pytest.mark.parametrize(
    ("path", "type_"),
    [
        ("/data/ten", "string"),
        ("/data/tuoi", "int"),
        ("/data/can", "decimal"),
        ("/data/ngay", "date"),
        ("/data/vitri", "geopoint"),
        ("/data/dv", "string"),
        ("/data/nha", "group"),
        ("/data/nha/so_nha", "string"),
        ("/data/lan", "repeat"),
        ("/data/lan/anh", "binary"),
    ],
)
def test_field_has_its_path_and_bind_type(schema, path, type_):
    field = schema.field(path)
    assert field is not None
    assert field.type == type_
    assert field.name == path.rsplit("/", 1)[-1]


@pytest.mark.parametrize(
    ("path", "control"),
    [
        ("/data/ten", "input"),
        ("/data/dv", "select"),
        ("/data/xa", "select1"),
        ("/data/lan/anh", "upload"),
    ],
)
def test_field_has_its_body_control(schema, path, control):
    assert schema.field(path).control == control


def test_calculate_has_its_bind_type_and_no_control():
    text = """
| survey |           |       |       |             |
|        | type      | name  | label | calculation |
|        | calculate | tong  |       | 1 + 2       |
"""
    field = forms.read_xform(compile_md(text)).field("/data/tong")
    assert (field.type, field.control, field.labels) == ("string", None, {})


def test_unknown_path_has_no_field(schema):
    assert schema.field("/data/khong_co") is None


@pytest.mark.parametrize(
    ("path", "vi", "en"),
    [
        ("/data/ten", "Tên", "Name"),
        ("/data/nha/so_nha", "Số nhà", "House number"),
        ("/data/lan/anh", "Ảnh", "Photo"),
    ],
)
def test_field_has_a_label_per_language(schema, path, vi, en):
    assert schema.field(path).labels == {VI: vi, EN: en}


def test_select_choices_have_values_and_labels_in_both_languages(schema):
    choices = schema.field("/data/dv").choices
    assert [(c.value, c.labels[VI], c.labels[EN]) for c in choices] == [
        ("pep", "Dự phòng", "Prevention"),
        ("arv", "Điều trị", "Treatment"),
    ]


def test_single_language_field_and_choices_have_labels_under_the_empty_language():
    text = """
| survey  |              |      |       |
|         | type         | name | label |
|         | select_one c | mot  | Một   |
| choices |              |      |       |
|         | list_name    | name | label |
|         | c            | a    | A     |
"""
    field = forms.read_xform(compile_md(text)).field("/data/mot")
    assert field.labels == {"": "Một"}
    assert [(c.value, c.labels) for c in field.choices] == [("a", {"": "A"})]


def test_repeats_list_the_repeat_and_children_name_their_repeat(schema):
    assert schema.repeats == ("/data/lan",)
    assert schema.field("/data/lan/anh").repeat == "/data/lan"
    assert schema.field("/data/lan/ghi").repeat == "/data/lan"
    assert schema.field("/data/nha/so_nha").repeat is None
    assert schema.field("/data/lan").repeat is None


def test_repeat_fields_appear_once_though_pyxform_writes_a_template(schema):
    paths = [f.path for f in schema.fields]
    assert len(paths) == len(set(paths))


def test_binary_paths_are_the_file_answers(schema):
    assert schema.binary_paths == ("/data/lan/anh",)


def test_expected_media_has_the_image_and_the_choices_file(schema):
    assert set(schema.media) == {MediaFile("logo.png", "image"), MediaFile("wards.csv", "file")}


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("media::image", "a.jpg", MediaFile("a.jpg", "image")),
        ("media::audio", "c.mp3", MediaFile("c.mp3", "audio")),
        ("media::video", "d.mp4", MediaFile("d.mp4", "video")),
    ],
)
def test_media_column_gives_a_media_file_of_its_kind(column, value, expected):
    text = f"""
| survey |      |      |       |          |
|        | type | name | label | {column} |
|        | note | n    | N     | {value}  |
"""
    assert forms.read_xform(compile_md(text)).media == (expected,)


def test_select_from_xml_file_expects_that_file():
    text = """
| survey |                                |      |       |
|        | type                           | name | label |
|        | select_one_from_file units.xml | u    | U     |
"""
    assert forms.read_xform(compile_md(text)).media == (MediaFile("units.xml", "file"),)


def test_form_without_media_expects_none():
    text = """
| survey |      |      |       |
|        | type | name | label |
|        | text | a    | A     |
"""
    schema = forms.read_xform(compile_md(text))
    assert schema.media == ()
    assert schema.entities == ()
    assert schema.public_key is None


def test_entities_sheet_with_a_label_declares_a_create(schema):
    assert schema.entities == (EntityDeclaration("clients", create=True, update=False),)


def test_entities_sheet_with_an_entity_id_declares_an_update():
    schema = forms.read_xform(compile_md(UPDATE))
    assert schema.entities == (EntityDeclaration("clients", create=False, update=True),)
    assert schema.field("/data/so_lan").saveto == "so_lan"


def test_save_to_becomes_the_field_saveto(schema):
    assert schema.field("/data/ten").saveto == "ten"
    assert schema.field("/data/tuoi").saveto == "tuoi"
    assert schema.field("/data/can").saveto is None


@pytest.mark.parametrize(
    ("path", "sensitive"),
    [
        ("/data/ten", "identifying"),
        ("/data/vitri", "identifying"),
        ("/data/lan/anh", "identifying"),
        ("/data/dv", "special"),
        ("/data/tuoi", None),
    ],
)
def test_dh_sensitive_column_marks_the_field(schema, path, sensitive):
    assert schema.field(path).sensitive == sensitive


@pytest.mark.parametrize(("value", "sensitive"), [("Special", "special"), ("no", None)])
def test_dh_sensitive_value_is_read_without_case_and_no_means_none(value, sensitive):
    xml = compile_md(FORM.replace("| special            |", f"| {value:<18} |"))
    assert forms.read_xform(xml).field("/data/dv").sensitive == sensitive


def test_unknown_dh_sensitive_value_raises_form_error_naming_the_field():
    xml = compile_md(FORM.replace("| special            |", "| secret             |"))
    with pytest.raises(FormError) as info:
        forms.read_xform(xml)
    assert "/data/dv" in str(info.value)
    assert "secret" in str(info.value)


def test_public_key_comes_from_the_settings(schema):
    assert schema.public_key == "MIIBCgKCAQEA"


def test_title_falls_back_to_the_form_id_when_the_xform_has_none():
    xml = (
        b'<h:html xmlns="http://www.w3.org/2002/xforms" xmlns:h="http://www.w3.org/1999/xhtml">'
        b'<h:head><model><instance><data id="tho"><a/></data></instance>'
        b'<bind nodeset="/data/a" type="int"/></model></h:head><h:body/></h:html>'
    )
    schema = forms.read_xform(xml)
    assert (schema.title, schema.version) == ("tho", "")
    assert schema.field("/data/a").type == "int"


@pytest.mark.parametrize(
    "xml",
    [
        b'<data id="x"><a/></data>',
        b'<h:html xmlns:h="http://www.w3.org/1999/xhtml"><h:head/></h:html>',
        b'<h:html xmlns="http://www.w3.org/2002/xforms" xmlns:h="http://www.w3.org/1999/xhtml">'
        b"<h:head><model><instance><data><a/></data></instance></model></h:head></h:html>",
        b"<h:html><unclosed></h:html>",
    ],
    ids=["instance", "no model", "no form id", "malformed"],
)
def test_xml_that_is_not_an_xform_raises_form_error(xml):
    with pytest.raises(FormError):
        forms.read_xform(xml)


def test_xform_with_a_doctype_raises_form_error():
    xml = b'<!DOCTYPE h:html [<!ENTITY e "v">]>' + compile_md(FORM).split(b"?>", 1)[1]
    with pytest.raises(FormError, match="DOCTYPE"):
        forms.read_xform(xml)


def test_a_search_appearance_expects_its_csv_file():
    md = """
| survey   |               |       |        |                    |
|          | type          | name  | label  | appearance         |
|          | select_one zz | thing | Thing  | search('things')   |
| choices  |               |       |        |                    |
|          | list_name     | name  | label  |                    |
|          | zz            | a     | A      |                    |
"""
    xml = forms.compile_xlsform(md.encode(), filename="x.md", validate=False).xform
    schema = forms.read_xform(xml)
    assert ("things.csv", "file") in {(m.name, m.type) for m in schema.media}
