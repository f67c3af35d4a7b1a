"""Targets: one transport each (HTTP, S3, a directory). A target sends one payload and reports
an Outcome; it never retries, sleeps or touches the database."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import BinaryIO, Protocol
from urllib.parse import quote

from server.registers import TargetConfig
from sync.payload import Payload
from sync.policy import Outcome

OpenBlob = Callable[[str], BinaryIO]


class Target(Protocol):
    name: str

    def send(self, payload: Payload, open_blob: OpenBlob) -> Outcome: ...


def from_config(config: TargetConfig, s3_endpoint_url: str = "") -> Target:
    """The transport for a configured target, chosen by URL scheme."""
    if config.scheme == "dir":
        from sync.targets.directory import DirectoryTarget

        return DirectoryTarget(config)
    if config.scheme in ("http", "https"):
        from sync.targets.http import HttpTarget

        return HttpTarget(config)
    from sync.targets.s3 import S3Target

    return S3Target(config, s3_endpoint_url)


def object_name(payload: Payload, suffix: str = ".json") -> str:
    """Where a version goes, one object per (project, form, submission, version):
    ``<project>/<formId>/<instanceId>/<versionInstanceId><suffix>``, each part through
    ``segment`` so that no two ids share a name (docs/forwarding.md)."""
    return "/".join(
        (
            str(payload.project_id),
            segment(payload.xml_form_id),
            segment(payload.submission_instance_id),
            segment(payload.instance_id) + suffix,
        )
    )


def segment(text: str) -> str:
    """One path segment that names ``text`` and nothing else: every byte of its UTF-8 outside
    [A-Za-z0-9._-] percent-encoded ('%' too, so it decodes one way only), and a leading '.'
    as well (no '.', '..' or hidden name). A segment that would pass 200 bytes (file names
    stop at 255) is ``~`` and the SHA-256 of ``text``: '~' is itself always encoded, so the
    two forms never meet."""
    encoded = quote(text, safe="-_.").replace("~", "%7E")
    if encoded.startswith("."):
        encoded = "%2E" + encoded[1:]
    if len(encoded) <= 200 and encoded:
        return encoded
    return "~" + hashlib.sha256(text.encode("utf-8")).hexdigest()
