"""Read a submission instance: form id, version, instanceID, deprecatedID, instanceName,
attachment names and the encrypted envelope fields. Parsed once, through forms/xml.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import BinaryIO

from lxml import etree

from forms.errors import InstanceError
from forms.xml import local, parse


@dataclass(frozen=True, slots=True)
class InstanceEnvelope:
    form_id: str
    version: str
    instance_id: str | None
    deprecated_id: str | None
    instance_name: str | None
    encrypted: bool
    encrypted_key: str | None = None
    encrypted_data_name: str | None = None
    encrypted_signature: str | None = None
    encrypted_media: tuple[str, ...] = ()
    root: etree._Element | None = field(default=None, compare=False, repr=False)

    def attachment_names(self, binary_paths: tuple[str, ...] = ()) -> list[str]:
        """File names this instance expects, in order, without duplicates.

        For an encrypted envelope: each media file, then the encrypted XML file (Central's
        rule). Otherwise: the answers of the form's binary fields (paths like /data/photo,
        matched whatever the root element is called, repeats included).
        """
        if self.encrypted:
            names = list(self.encrypted_media)
            if self.encrypted_data_name:
                names.append(self.encrypted_data_name)
            return list(dict.fromkeys(names))
        if self.root is None:
            return []
        wanted = {tuple(p.strip("/").split("/")[1:]) for p in binary_paths}
        names: list[str] = []
        for el in self.root.iter():
            if not isinstance(el.tag, str) or not el.text or not el.text.strip():
                continue
            if _relative_path(el, self.root) in wanted:
                names.append(el.text.strip())
        return list(dict.fromkeys(names))


def read_instance(source: bytes | BinaryIO) -> InstanceEnvelope:
    """Read the envelope of a submission instance; raise XmlError or InstanceError."""
    root = parse(source)
    form_id = root.get("id")
    if not form_id:
        raise InstanceError("Required parameter form ID xml attribute missing.")
    meta = _child(root, "meta")
    instance_id = _text(meta, "instanceID") or _text(root, "instanceID")
    encrypted = (root.get("encrypted") or "").lower() == "yes"
    envelope = InstanceEnvelope(
        form_id=form_id,
        version=root.get("version") or "",
        instance_id=instance_id,
        deprecated_id=_text(meta, "deprecatedID"),
        instance_name=_text(meta, "instanceName"),
        encrypted=encrypted,
        root=root,
    )
    if not encrypted:
        return envelope
    if not instance_id:
        raise InstanceError("An encrypted submission must carry meta/instanceID.")
    media = _child(root, "media")
    files = tuple(
        (c.text or "").strip()
        for c in (media if media is not None else [])
        if local(c.tag) == "file" and (c.text or "").strip()
    )
    return InstanceEnvelope(
        **{
            **_fields(envelope),
            "encrypted_key": _text(root, "base64EncryptedKey"),
            "encrypted_data_name": _text(root, "encryptedXmlFile"),
            "encrypted_signature": _text(root, "base64EncryptedElementSignature"),
            "encrypted_media": files,
        }
    )


def _fields(envelope: InstanceEnvelope) -> dict:
    return {name: getattr(envelope, name) for name in InstanceEnvelope.__dataclass_fields__}


def _child(parent, name):
    if parent is None:
        return None
    return next((c for c in parent if local(c.tag) == name), None)


def _text(parent, name) -> str | None:
    el = _child(parent, name)
    if el is None or el.text is None:
        return None
    return el.text.strip() or None


def _relative_path(el, root) -> tuple[str, ...]:
    parts = []
    while el is not None and el is not root:
        parts.append(local(el.tag))
        el = el.getparent()
    return tuple(reversed(parts))
