"""THE hardened XML parser: no entity resolution, no network, no DTDs.
Nothing else builds a parser."""

from __future__ import annotations

from typing import BinaryIO

from lxml import etree

from forms.errors import XmlError

_PARSER = etree.XMLParser(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_blank_text=False,
)


def parse(source: bytes | BinaryIO) -> etree._Element:
    """Parse XML bytes or a binary file; refuse any DOCTYPE (entities are never expanded).

    Text (``str``) is refused: lxml would read it as a file name."""
    if isinstance(source, str):
        raise TypeError("forms.xml.parse takes bytes or a binary file, not text")
    try:
        if isinstance(source, bytes | bytearray):
            tree = etree.fromstring(bytes(source), _PARSER).getroottree()
        else:
            tree = etree.parse(source, _PARSER)
    except etree.XMLSyntaxError as e:
        raise XmlError(f"The XML is not well formed: {e.msg}") from None
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise XmlError("XML with a DOCTYPE is not accepted.")
    root = tree.getroot()
    if root is None:
        raise XmlError("The XML has no root element.")
    return root


def local(tag: object) -> str:
    """The local name of an element tag, without its namespace."""
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]
