"""Targets: one transport each (HTTP, S3, a directory). A target sends one payload and reports
an Outcome; it never retries, sleeps or touches the database."""

from __future__ import annotations

from collections.abc import Callable
from typing import BinaryIO, Protocol

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


def safe_name(text: str) -> str:
    """A path segment made only of safe characters (instanceIDs contain ':')."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text).lstrip(".") or "_"
