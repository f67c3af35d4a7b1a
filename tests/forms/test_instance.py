"""Reading a submission instance: form id, version, instanceID (meta, orx:meta, top level),
deprecatedID, instanceName, attachment names, and the encrypted envelope."""

from __future__ import annotations

import io

import pytest

from forms import InstanceError, XmlError, read_instance

ORX = 'xmlns:orx="http://openrosa.org/xforms"'


def test_instance_gives_form_id_and_version():
    envelope = read_instance(
        b'<data id="tham_nha" version="2026112204"><a>1</a>'
        b"<meta><instanceID>uuid:1</instanceID></meta></data>"
    )
    assert (envelope.form_id, envelope.version) == ("tham_nha", "2026112204")
    assert envelope.encrypted is False


def test_instance_version_is_empty_when_absent():
    envelope = read_instance(b'<data id="f"><meta><instanceID>uuid:1</instanceID></meta></data>')
    assert envelope.version == ""


@pytest.mark.parametrize(
    "xml",
    [
        b'<data id="f"><meta><instanceID>uuid:abc</instanceID></meta></data>',
        b'<data id="f" ' + ORX.encode() + b"><orx:meta><orx:instanceID>uuid:abc"
        b"</orx:instanceID></orx:meta></data>",
        b'<data id="f"><meta><instanceID>\n  uuid:abc  \n</instanceID></meta></data>',
        b'<data id="f"><instanceID>uuid:abc</instanceID></data>',
        b'<d:data xmlns:d="urn:x" id="f"><d:meta><d:instanceID>uuid:abc</d:instanceID>'
        b"</d:meta></d:data>",
    ],
    ids=["meta", "orx:meta", "whitespace", "top level", "any namespace"],
)
def test_instance_id_is_read_from_meta_or_the_top_level(xml):
    assert read_instance(xml).instance_id == "uuid:abc"


def test_meta_instance_id_wins_over_a_top_level_one():
    envelope = read_instance(
        b'<data id="f"><instanceID>uuid:top</instanceID>'
        b"<meta><instanceID>uuid:meta</instanceID></meta></data>"
    )
    assert envelope.instance_id == "uuid:meta"


def test_instance_id_is_none_when_absent_or_empty():
    assert read_instance(b'<data id="f"><a/></data>').instance_id is None
    assert read_instance(b'<data id="f"><meta><instanceID/></meta></data>').instance_id is None


def test_edit_gives_deprecated_id_and_instance_name():
    envelope = read_instance(
        b'<data id="f" version="3" ' + ORX.encode() + b"><a>1</a><orx:meta>"
        b"<orx:instanceID>uuid:new</orx:instanceID>"
        b"<orx:deprecatedID>uuid:old</orx:deprecatedID>"
        + "<orx:instanceName>Thăm LAHU 01</orx:instanceName></orx:meta></data>".encode()
    )
    assert (envelope.instance_id, envelope.deprecated_id, envelope.instance_name) == (
        "uuid:new",
        "uuid:old",
        "Thăm LAHU 01",
    )


def test_first_submission_has_no_deprecated_id_or_instance_name():
    envelope = read_instance(b'<data id="f"><meta><instanceID>uuid:1</instanceID></meta></data>')
    assert (envelope.deprecated_id, envelope.instance_name) == (None, None)


@pytest.mark.parametrize(
    "xml",
    [
        b"<data><meta><instanceID>uuid:x</instanceID></meta></data>",
        b'<data id=""><meta><instanceID>uuid:x</instanceID></meta></data>',
    ],
    ids=["missing", "empty"],
)
def test_instance_without_form_id_raises_instance_error(xml):
    with pytest.raises(InstanceError, match="form ID"):
        read_instance(xml)


def test_malformed_instance_raises_xml_error():
    with pytest.raises(XmlError):
        read_instance(b'<data id="f"><a></data>')


def test_instance_is_read_from_a_binary_file():
    envelope = read_instance(io.BytesIO(b'<data id="f"><instanceID>uuid:1</instanceID></data>'))
    assert (envelope.form_id, envelope.instance_id) == ("f", "uuid:1")


PHOTOS = (
    b'<data id="f"><anh>a.jpg</anh><ten>b.jpg</ten>'
    b"<lan><chup>c.jpg</chup></lan><lan><chup>d.jpg</chup></lan><lan><chup/></lan>"
    b"<lan><chup>a.jpg</chup></lan>"
    b"<meta><instanceID>uuid:1</instanceID></meta></data>"
)


@pytest.mark.parametrize(
    ("binary_paths", "names"),
    [
        ((), []),
        (("/data/anh",), ["a.jpg"]),
        (("/data/lan/chup",), ["c.jpg", "d.jpg", "a.jpg"]),
        (("/data/anh", "/data/lan/chup"), ["a.jpg", "c.jpg", "d.jpg"]),
        (("/other_root/anh",), ["a.jpg"]),
    ],
    ids=["no binary", "top level", "two repeat instances", "de-duplicated", "any root name"],
)
def test_attachment_names_are_the_answers_of_binary_fields(binary_paths, names):
    assert read_instance(PHOTOS).attachment_names(binary_paths) == names


def test_attachment_names_leave_out_a_text_answer_that_looks_like_a_file():
    assert "b.jpg" not in read_instance(PHOTOS).attachment_names(("/data/anh", "/data/lan/chup"))


ENCRYPTED = (
    b'<data id="f" version="working3" encrypted="yes" '
    b'xmlns="http://www.opendatakit.org/xforms/encrypted">'
    b"<base64EncryptedKey>pFT0+tIo==</base64EncryptedKey>"
    b'<orx:meta xmlns:orx="http://openrosa.org/xforms">'
    b"<orx:instanceID>uuid:dcf4a151-5088-453f-99e6-369d67828f7a</orx:instanceID></orx:meta>"
    b"<media><file>1561432508817.jpg.enc</file><file>ghi.amr.enc</file></media>"
    b"<encryptedXmlFile>submission.xml.enc</encryptedXmlFile>"
    b"<base64EncryptedElementSignature>UHIobs8l==</base64EncryptedElementSignature>"
    b"</data>"
)


def test_encrypted_envelope_gives_its_key_data_file_signature_and_media():
    envelope = read_instance(ENCRYPTED)
    assert envelope.encrypted is True
    assert (envelope.form_id, envelope.version) == ("f", "working3")
    assert envelope.instance_id == "uuid:dcf4a151-5088-453f-99e6-369d67828f7a"
    assert envelope.encrypted_key == "pFT0+tIo=="
    assert envelope.encrypted_data_name == "submission.xml.enc"
    assert envelope.encrypted_signature == "UHIobs8l=="
    assert envelope.encrypted_media == ("1561432508817.jpg.enc", "ghi.amr.enc")


def test_encrypted_attachment_names_are_the_media_files_then_the_encrypted_xml():
    names = read_instance(ENCRYPTED).attachment_names(("/data/anh",))
    assert names == ["1561432508817.jpg.enc", "ghi.amr.enc", "submission.xml.enc"]


def test_encrypted_envelope_without_media_expects_only_the_encrypted_xml():
    xml = ENCRYPTED.replace(
        b"<media><file>1561432508817.jpg.enc</file><file>ghi.amr.enc</file></media>", b""
    )
    assert read_instance(xml).attachment_names() == ["submission.xml.enc"]


def test_encrypted_attribute_is_read_without_case():
    assert read_instance(ENCRYPTED.replace(b'"yes"', b'"YES"')).encrypted is True


def test_encrypted_envelope_without_instance_id_raises_instance_error():
    xml = ENCRYPTED.replace(b"<orx:instanceID>uuid:dcf4a151-5088-453f-99e6-369d67828f7a", b"")
    xml = xml.replace(b"</orx:instanceID>", b"")
    with pytest.raises(InstanceError, match="instanceID"):
        read_instance(xml)
