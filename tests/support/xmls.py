"""Submission instances built from their parts, so each test shows what varies."""

from __future__ import annotations

from xml.sax.saxutils import escape


def instance(
    form_id: str,
    instance_id: str,
    version: str | None = "1",
    deprecated_id: str | None = None,
    instance_name: str | None = None,
    **answers: str | list[dict[str, str]],
) -> bytes:
    """An instance like Collect writes: answers, then meta with instanceID (and deprecatedID).

    A list value becomes repeated groups: ho_tro=[{"anh_ht": "a.jpg"}, ...].
    """
    body = []
    for name, value in answers.items():
        if isinstance(value, list):
            for group in value:
                inner = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in group.items())
                body.append(f"<{name}>{inner}</{name}>")
        else:
            body.append(f"<{name}>{escape(value)}</{name}>")
    meta = f"<orx:instanceID>{instance_id}</orx:instanceID>"
    if deprecated_id:
        meta += f"<orx:deprecatedID>{deprecated_id}</orx:deprecatedID>"
    if instance_name:
        meta += f"<orx:instanceName>{escape(instance_name)}</orx:instanceName>"
    version_attr = f' version="{version}"' if version is not None else ""
    return (
        f"<?xml version='1.0' ?><data id=\"{form_id}\"{version_attr} "
        'xmlns:jr="http://openrosa.org/javarosa" xmlns:orx="http://openrosa.org/xforms">'
        f"{''.join(body)}<orx:meta>{meta}</orx:meta></data>"
    ).encode()


def encrypted_envelope(form_id: str, instance_id: str, version: str, media: list[str]) -> bytes:
    """The envelope Collect sends for an encrypted form (odk-protocol.md section 5)."""
    files = "".join(f"<file>{m}</file>" for m in media)
    return (
        f'<data id="{form_id}" version="{version}" encrypted="yes" '
        'xmlns="http://www.opendatakit.org/xforms/encrypted">'
        "<base64EncryptedKey>cFQwK3RJbw==</base64EncryptedKey>"
        '<orx:meta xmlns:orx="http://openrosa.org/xforms">'
        f"<orx:instanceID>{instance_id}</orx:instanceID></orx:meta>"
        f"<media>{files}</media><encryptedXmlFile>submission.xml.enc</encryptedXmlFile>"
        "<base64EncryptedElementSignature>UHIobs8l</base64EncryptedElementSignature>"
        "</data>"
    ).encode()
