"""Reading XForms (fields, labels, choices, repeats, media, entities, sensitivity, key) and
submission instances (ids, edits, attachments, encrypted envelopes), and typed answers."""

from __future__ import annotations

import pytest

import forms
from forms import FormError, InstanceError, compile_xlsform, read_instance, read_xform
from forms.answers import DROP, answers

FULL = """
| survey   |                                 |       |                        |                     |              |                    |         |
|          | type                            | name  | label::Tiếng Việt (vi) | label::English (en) | media::image | bind::dh:sensitive | save_to |
|          | text                            | ten   | Tên                    | Name                |              | identifying        | ten     |
|          | select_multiple yn              | chon  | Chọn                   | Pick                |              | special            |         |
|          | select_one_from_file wards.csv  | ma_xa | Xã                     | Ward                |              |                    |         |
|          | note                            | logo  | Logo                   | Logo                | logo.png     |                    |         |
|          | begin_repeat                    | lan   | Lần                    | Visit               |              |                    |         |
|          | image                           | anh   | Ảnh                    | Photo               |              |                    |         |
|          | end_repeat                      |       |                        |                     |              |                    |         |
| choices  |                                 |       |                        |                     |              |                    |         |
|          | list_name                       | name  | label::Tiếng Việt (vi) | label::English (en) |              |                    |         |
|          | yn                              | co    | Có                     | Yes                 |              |                    |         |
|          | yn                              | khong | Không                  | No                  |              |                    |         |
| entities |                                 |       |                        |                     |              |                    |         |
|          | list_name                       | label |                        |                     |              |                    |         |
|          | clients                         | ${ten} |                       |                     |              |                    |         |
| settings |                                 |       |                        |                     |              |                    |         |
|          | form_id                         | version | namespaces           | public_key          |              |                    |         |
|          | day_du                          | 4     | dh="https://donghanh.vn/xforms" | MIIBCgKCAQEA |   |                    |         |
"""


@pytest.fixture(scope="module")
def schema():
    return read_xform(compile_xlsform(FULL.encode(), filename="x.md", validate=False).xform)


def test_fields_have_paths_types_and_labels_in_both_languages(schema):
    ten = schema.field("/data/ten")
    assert ten.type == "string"
    assert ten.labels == {"Tiếng Việt (vi)": "Tên", "English (en)": "Name"}
    assert ten.saveto == "ten"
    assert ten.sensitive == "identifying"
    chon = schema.field("/data/chon")
    assert chon.control == "select"
    assert chon.sensitive == "special"
    assert [(c.value, c.labels["English (en)"]) for c in chon.choices] == [
        ("co", "Yes"),
        ("khong", "No"),
    ]


def test_repeats_binary_fields_media_entities_and_key(schema):
    assert schema.repeats == ("/data/lan",)
    assert schema.field("/data/lan/anh").repeat == "/data/lan"
    assert schema.binary_paths == ("/data/lan/anh",)
    assert {(m.name, m.type) for m in schema.media} == {
        ("wards.csv", "file"),
        ("logo.png", "image"),
    }
    [entity] = schema.entities
    assert (entity.dataset, entity.create, entity.update) == ("clients", True, False)
    assert schema.public_key == "MIIBCgKCAQEA"
    assert schema.version == "4"


def test_an_unknown_sensitivity_is_a_form_error():
    text = FULL.replace("| special            |", "| secret             |")
    xml = compile_xlsform(text.encode(), filename="x.md", validate=False).xform
    with pytest.raises(FormError, match="sensitive"):
        read_xform(xml)


@pytest.mark.parametrize(
    "xml", [b"<html/>", b"<a><b></a>", b'<!DOCTYPE x [<!ENTITY e "v">]><h:html/>']
)
def test_what_is_not_an_xform_is_a_form_error(xml):
    with pytest.raises(FormError):
        read_xform(xml)


def test_instance_envelope_reads_ids_name_and_version():
    envelope = read_instance(
        b'<data id="f" version="3" xmlns:orx="http://openrosa.org/xforms"><a>1</a>'
        b"<orx:meta><orx:instanceID>uuid:new</orx:instanceID>"
        b"<orx:deprecatedID>uuid:old</orx:deprecatedID><orx:instanceName>LAHU 01</orx:instanceName>"
        b"</orx:meta></data>"
    )
    assert (
        envelope.form_id,
        envelope.version,
        envelope.instance_id,
        envelope.deprecated_id,
        envelope.instance_name,
    ) == ("f", "3", "uuid:new", "uuid:old", "LAHU 01")
    assert envelope.encrypted is False


def test_instance_without_version_or_meta_uses_fallbacks():
    envelope = read_instance(b'<data id="f"><instanceID>uuid:top</instanceID></data>')
    assert (envelope.version, envelope.instance_id) == ("", "uuid:top")


def test_instance_without_form_id_is_refused():
    with pytest.raises(InstanceError, match="form ID"):
        read_instance(b"<data><meta><instanceID>uuid:x</instanceID></meta></data>")


def test_attachment_names_follow_binary_fields_in_repeats_without_duplicates(schema):
    envelope = read_instance(
        b'<data id="day_du"><ten>x</ten><lan><anh>a.jpg</anh></lan><lan><anh>b.jpg</anh></lan>'
        b"<lan><anh>a.jpg</anh></lan><meta><instanceID>uuid:1</instanceID></meta></data>"
    )
    assert envelope.attachment_names(schema.binary_paths) == ["a.jpg", "b.jpg"]


def test_encrypted_envelope_lists_media_then_the_encrypted_xml():
    envelope = read_instance(
        b'<data id="f" version="1" encrypted="yes" '
        b'xmlns="http://www.opendatakit.org/xforms/encrypted">'
        b"<base64EncryptedKey>a2V5</base64EncryptedKey>"
        b'<orx:meta xmlns:orx="http://openrosa.org/xforms"><orx:instanceID>uuid:e</orx:instanceID>'
        b"</orx:meta><media><file>p.jpg.enc</file></media>"
        b"<encryptedXmlFile>submission.xml.enc</encryptedXmlFile>"
        b"<base64EncryptedElementSignature>c2ln</base64EncryptedElementSignature></data>"
    )
    assert envelope.encrypted is True
    assert envelope.encrypted_key == "a2V5"
    assert envelope.encrypted_signature == "c2ln"
    assert envelope.attachment_names() == ["p.jpg.enc", "submission.xml.enc"]


def test_encrypted_envelope_without_instance_id_is_refused():
    with pytest.raises(InstanceError):
        read_instance(
            b'<data id="f" encrypted="yes"><base64EncryptedKey>k</base64EncryptedKey></data>'
        )


def test_answers_are_typed_nested_and_can_be_transformed(schema):
    envelope = read_instance(
        b'<data id="day_du"><ten>Lan</ten><chon>co khong</chon><ma_xa></ma_xa>'
        b"<lan><anh>a.jpg</anh></lan><meta><instanceID>uuid:1</instanceID></meta></data>"
    )
    assert answers(schema, envelope.root) == {
        "ten": "Lan",
        "chon": ["co", "khong"],
        "ma_xa": None,
        "lan": [{"anh": "a.jpg"}],
    }

    def hide(field: forms.Field, value: object) -> object:
        return DROP if field.sensitive == "special" else value

    assert "chon" not in answers(schema, envelope.root, hide)
