"""The one XML parser refuses DOCTYPEs, never expands entities, never reads files or the
network, and reports malformed XML in words."""

from __future__ import annotations

import io

import pytest

from forms.errors import XmlError
from forms.xml import parse

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<data id="x"><a>&lol3;</a></data>"""


@pytest.mark.parametrize(
    "xml",
    [
        BILLION_LAUGHS,
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<data id="x"><a>&x;</a></data>',
        b'<?xml version="1.0"?><!DOCTYPE d SYSTEM "http://127.0.0.1:9/evil.dtd"><data id="x"/>',
    ],
)
def test_doctypes_are_refused_and_entities_never_expanded(xml):
    with pytest.raises(XmlError, match="DOCTYPE") as info:
        parse(xml)
    assert "root:" not in str(info.value)
    assert "lollol" not in str(info.value)


def test_malformed_xml_is_reported_in_words():
    with pytest.raises(XmlError, match="not well formed"):
        parse(b"<data><a></data>")


def test_bytes_and_binary_files_are_both_accepted():
    assert parse(b'<data id="x"/>').get("id") == "x"
    assert parse(io.BytesIO(b'<data id="y"/>')).get("id") == "y"
