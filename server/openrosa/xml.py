"""OpenRosa XML documents built with lxml (formList, manifest, OpenRosaResponse); never by
string concatenation, so names and messages are always escaped."""

from __future__ import annotations

from lxml import etree

from server.services.forms import AttachmentFile, CollectForm

FORM_LIST_NS = "http://openrosa.org/xforms/xformsList"
MANIFEST_NS = "http://openrosa.org/xforms/xformsManifest"
RESPONSE_NS = "http://openrosa.org/http/response"


def _serialize(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def form_list(forms: list[CollectForm], base_url: str, draft: bool = False) -> bytes:
    """<xforms>: formID, name, version, hash, downloadUrl, manifestUrl (in Central's order).
    For a draft the URLs point at the form's /draft paths."""
    root = etree.Element(f"{{{FORM_LIST_NS}}}xforms", nsmap={None: FORM_LIST_NS})
    for form in forms:
        el = etree.SubElement(root, f"{{{FORM_LIST_NS}}}xform")
        quoted = _quote(form.xml_form_id)
        for tag, text in (
            ("formID", form.xml_form_id),
            ("name", form.title or form.xml_form_id),
            ("version", form.version),
            ("hash", f"md5:{form.md5}"),
            ("downloadUrl", f"{base_url}/forms/{quoted}{'/draft' if draft else ''}.xml"),
        ):
            etree.SubElement(el, f"{{{FORM_LIST_NS}}}{tag}").text = text
        if form.has_attachments:
            etree.SubElement(
                el, f"{{{FORM_LIST_NS}}}manifestUrl"
            ).text = f"{base_url}/forms/{quoted}{'/draft' if draft else ''}/manifest"
    return _serialize(root)


def manifest(files: list[AttachmentFile], form_url: str, project_url: str) -> bytes:
    """<manifest>: only attachments the server actually has (Central's rule); entity lists
    are marked type="entityList" with their integrity URL."""
    root = etree.Element(f"{{{MANIFEST_NS}}}manifest", nsmap={None: MANIFEST_NS})
    for f in files:
        if f.md5 is None:
            continue
        el = etree.SubElement(root, f"{{{MANIFEST_NS}}}mediaFile")
        if f.dataset:
            el.set("type", "entityList")
        etree.SubElement(el, f"{{{MANIFEST_NS}}}filename").text = f.name
        etree.SubElement(el, f"{{{MANIFEST_NS}}}hash").text = f"md5:{f.md5}"
        etree.SubElement(
            el, f"{{{MANIFEST_NS}}}downloadUrl"
        ).text = f"{form_url}/attachments/{_quote(f.name)}"
        if f.dataset:
            etree.SubElement(
                el, f"{{{MANIFEST_NS}}}integrityUrl"
            ).text = f"{project_url}/datasets/{_quote(f.dataset)}/integrity"
    return _serialize(root)


def integrity(rows: list[tuple[str, bool]]) -> bytes:
    """<data><entities><entity id=..><deleted>true|false</deleted>: what Collect purges."""
    root = etree.Element("data")
    container = etree.SubElement(root, "entities")
    for uuid, deleted in rows:
        entity = etree.SubElement(container, "entity", id=uuid)
        etree.SubElement(entity, "deleted").text = "true" if deleted else "false"
    return _serialize(root)


def response(message: str, error: bool = False) -> bytes:
    """<OpenRosaResponse> with one message; Collect shows its text to the user."""
    root = etree.Element(f"{{{RESPONSE_NS}}}OpenRosaResponse", nsmap={None: RESPONSE_NS}, items="0")
    el = etree.SubElement(root, f"{{{RESPONSE_NS}}}message", nature="error" if error else "")
    el.text = message
    return _serialize(root)


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")
