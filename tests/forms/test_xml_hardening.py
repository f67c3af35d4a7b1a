"""The one XML parser refuses DOCTYPEs, never expands entities, never reads local files or
the network, reports malformed XML in words, and takes bytes or a binary file."""

from __future__ import annotations

import io
import time

import pytest

from forms.errors import XmlError
from forms.xml import local, parse

SECRET = "dong-hanh-secret-4f1c"

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<data id="x"><a>&lol9;</a></data>"""


def test_billion_laughs_is_refused_quickly_without_expanding():
    started = time.monotonic()
    with pytest.raises(XmlError) as info:  # libxml2's amplification guard may speak first
        parse(BILLION_LAUGHS)
    assert time.monotonic() - started < 2
    assert "lollol" not in str(info.value)


def test_external_entity_to_etc_passwd_is_refused_and_never_read():
    xml = (
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<data id="x"><a>&x;</a></data>'
    )
    with pytest.raises(XmlError) as info:
        parse(xml)
    assert "root:" not in str(info.value)


def test_external_entity_to_a_local_file_never_shows_its_content(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    xml = (
        f'<!DOCTYPE d [<!ENTITY x SYSTEM "{secret.as_uri()}">]><data id="x"><a>&x;</a></data>'
    ).encode()
    with pytest.raises(XmlError) as info:
        parse(xml)
    assert SECRET not in str(info.value)


@pytest.mark.parametrize(
    "system_id",
    ["http://127.0.0.1:9/evil.dtd", "local.dtd"],
    ids=["network", "file"],
)
def test_external_dtd_is_refused_and_its_entities_never_used(tmp_path, system_id):
    dtd = tmp_path / "local.dtd"
    dtd.write_text(f'<!ENTITY e "{SECRET}">')
    if system_id == "local.dtd":
        system_id = dtd.as_uri()
    xml = f'<?xml version="1.0"?><!DOCTYPE data SYSTEM "{system_id}"><data id="x">&e;</data>'
    with pytest.raises(XmlError) as info:
        parse(xml.encode())
    assert SECRET not in str(info.value)


@pytest.mark.parametrize(
    "xml",
    [
        b'<!DOCTYPE data><data id="x"/>',
        b'<!DOCTYPE data [<!ENTITY e "small">]><data id="x">&e;</data>',
    ],
    ids=["no entities", "small internal entity"],
)
def test_doctype_is_refused_by_name(xml):
    with pytest.raises(XmlError, match="DOCTYPE"):
        parse(xml)


@pytest.mark.parametrize(
    "xml",
    [
        b"<data><a></data>",
        b"<data id='x'>",
        b"",
        b"just text",
        b'<data id="x"/><second/>',
        b"<a>\xff</a>",
    ],
    ids=["mismatched", "unclosed", "empty", "text", "two roots", "bad encoding"],
)
def test_malformed_xml_raises_xml_error_in_words(xml):
    with pytest.raises(XmlError) as info:
        parse(xml)
    assert str(info.value).startswith("The XML is not well formed: ")
    assert len(str(info.value)) > len("The XML is not well formed: ")


def test_xml_error_is_a_value_error():
    with pytest.raises(ValueError, match="not well formed"):
        parse(b"<a>")


@pytest.mark.parametrize(
    "source",
    [
        '<data id="x"><a>Tên</a></data>'.encode(),
        bytearray('<data id="x"><a>Tên</a></data>'.encode()),
        io.BytesIO('<data id="x"><a>Tên</a></data>'.encode()),
        io.BytesIO('<?xml version="1.0" encoding="UTF-8"?><data id="x"><a>Tên</a></data>'.encode()),
    ],
    ids=["bytes", "bytearray", "BytesIO", "BytesIO with declaration"],
)
def test_bytes_and_binary_files_are_both_accepted(source):
    root = parse(source)
    assert (root.get("id"), root.findtext("a")) == ("x", "Tên")


def test_a_binary_file_on_disk_is_accepted(tmp_path):
    path = tmp_path / "s.xml"
    path.write_bytes(b'<data id="y"/>')
    with path.open("rb") as f:
        assert parse(f).get("id") == "y"


def test_local_name_drops_the_namespace():
    root = parse(b'<d:data xmlns:d="urn:x"><!-- c --><d:a/></d:data>')
    assert [local(el.tag) for el in root.iter()] == ["data", "", "a"]
