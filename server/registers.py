"""Register targets: the configured destinations of forwarding and their privacy options.

A target is named by its URL (without credentials or query). REGISTER_TARGETS_FILE may give
per-target options as JSON, keyed by that URL:

    {"https://register.example/intake": {"identifying": "hash", "special": "drop",
                                         "fields": {"ghi_chu": "drop"}, "timeout": 20,
                                         "batch_url": "https://register.example/intake/batch"}}

`identifying` answers (names, phone, ID, GPS, photos) are replaced by a keyed hash by default;
`special` answers (health, drug use, sex work) are dropped unless a target is allowed them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from server.settings import Settings, SettingsError

RULES = ("full", "hash", "drop")


@dataclass(frozen=True, slots=True)
class TargetConfig:
    name: str
    url: str
    identifying: str = "hash"
    special: str = "drop"
    fields: dict[str, str] = field(default_factory=dict)
    timeout_seconds: int = 15  # the total deadline of one request
    batch_url: str = ""  # where the register takes several records in one request, if it does
    batch_size: int = 100
    secret: str = ""
    hash_key: bytes = b""

    @property
    def scheme(self) -> str:
        return self.url.split(":", 1)[0]

    def rule_for(self, name: str, sensitive: str | None) -> str:
        """full, hash or drop for one answer: an explicit field rule wins over its class."""
        if name in self.fields:
            return self.fields[name]
        if sensitive == "special":
            return self.special
        if sensitive == "identifying":
            return self.identifying
        return "full"

    def pseudonym(self, value: str) -> str:
        """A keyed hash: the same answer gives the same pseudonym for this target only."""
        return "hmac-sha256:" + hmac.new(self.hash_key, value.encode(), hashlib.sha256).hexdigest()


def target_name(url: str) -> str:
    """The stable name of a target: its URL without user, password or query."""
    if url.startswith("dir:"):
        return url
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def load_targets(settings: Settings) -> list[TargetConfig]:
    """Targets from REGISTER_TARGET, with options from REGISTER_TARGETS_FILE when set."""
    options: dict = {}
    if settings.register_targets_file:
        try:
            options = json.loads(Path(settings.register_targets_file).read_text())
        except (OSError, ValueError) as e:
            raise SettingsError(f"REGISTER_TARGETS_FILE could not be read: {e}") from None
    targets = []
    for url in settings.register_targets:
        name = target_name(url)
        opts = options.get(url) or options.get(name) or {}
        config = TargetConfig(
            name=name,
            url=url,
            identifying=opts.get("identifying", "hash"),
            special=opts.get("special", "drop"),
            fields=dict(opts.get("fields", {})),
            timeout_seconds=int(opts.get("timeout", settings.delivery_timeout_seconds)),
            batch_url=str(opts.get("batch_url", "")),
            batch_size=int(opts.get("batch_size", 100)),
            secret=opts.get("secret", settings.register_secret),
            hash_key=hmac.new(
                settings.secret_key.encode(), f"pseudonym:{name}".encode(), hashlib.sha256
            ).digest(),
        )
        bad = [
            r
            for r in (config.identifying, config.special, *config.fields.values())
            if r not in RULES
        ]
        if bad:
            raise SettingsError(f"{name}: field rules must be one of {', '.join(RULES)}: {bad}")
        if config.batch_url and not config.batch_url.startswith(("http://", "https://")):
            raise SettingsError(f"{name}: batch_url must be an http(s) URL")
        if not 1 <= config.batch_size <= 1000:
            raise SettingsError(f"{name}: batch_size must be between 1 and 1000")
        if 2 * config.timeout_seconds > settings.delivery_lease_seconds:
            raise SettingsError(
                f"{name}: timeout must be at most half of DELIVERY_LEASE_SECONDS "
                f"({settings.delivery_lease_seconds})"
            )
        targets.append(config)
    return targets
