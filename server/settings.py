"""Settings from the environment, with embedded defaults.

The only module that reads ``os.environ``; it is called once, by ``create_app``.
Each field maps one to one to an UPPER_SNAKE environment variable (see README).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from server.files import private_folder


class SettingsError(ValueError):
    """An environment variable holds a value the server cannot use."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the server is configured with; see README's table."""

    instance_path: str
    database_url: str
    blob_store: str
    register_target: str
    register_secret: str
    register_targets_file: str
    delivery_max_age_days: int
    delivery_timeout_seconds: int
    delivery_lease_seconds: int
    embedded_worker: str
    secret_key: str
    public_url: str
    max_submission_bytes: int
    max_submission_xml_bytes: int
    digest_realm: str
    s3_endpoint_url: str
    log_level: str
    session_idle_minutes: int
    session_max_hours: int
    login_max_failures: int
    login_lock_minutes: int
    login_address_max_failures: int
    map_tile_url: str
    timezone: str
    trusted_proxies: str
    web_forms_offline_hours: int = 72  # how long a browser keeps a form's data (/f/ pages)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from ``environ`` (default ``os.environ``), filling defaults."""
        env = os.environ if environ is None else environ
        instance = Path(env.get("INSTANCE_PATH") or "instance").resolve()
        values = {
            "instance_path": str(instance),
            "database_url": env.get("DATABASE_URL") or f"sqlite:///{instance}/donghanh.db",
            "blob_store": env.get("BLOB_STORE") or f"file:{instance}/blobs",
            "register_target": env.get("REGISTER_TARGET") or f"dir:{instance}/register",
            "register_secret": env.get("REGISTER_SECRET", ""),
            "register_targets_file": env.get("REGISTER_TARGETS_FILE", ""),
            "delivery_max_age_days": _int(env, "DELIVERY_MAX_AGE_DAYS", 14),
            "delivery_timeout_seconds": _int(env, "DELIVERY_TIMEOUT_SECONDS", 15),
            "delivery_lease_seconds": _int(env, "DELIVERY_LEASE_SECONDS", 120),
            "embedded_worker": (env.get("EMBEDDED_WORKER") or "auto").lower(),
            "secret_key": env.get("SECRET_KEY") or "",
            "public_url": (env.get("PUBLIC_URL") or "http://127.0.0.1:8080").rstrip("/"),
            "max_submission_bytes": _int(env, "MAX_SUBMISSION_BYTES", 100_000_000),
            "max_submission_xml_bytes": _int(env, "MAX_SUBMISSION_XML_BYTES", 5_000_000),
            "digest_realm": env.get("DIGEST_REALM") or "donghanh",
            "s3_endpoint_url": env.get("S3_ENDPOINT_URL", ""),
            "log_level": env.get("LOG_LEVEL") or "INFO",
            "session_idle_minutes": _int(env, "SESSION_IDLE_MINUTES", 120),
            "session_max_hours": _int(env, "SESSION_MAX_HOURS", 12),
            "login_max_failures": _int(env, "LOGIN_MAX_FAILURES", 5),
            "login_lock_minutes": _int(env, "LOGIN_LOCK_MINUTES", 15),
            "login_address_max_failures": _int(env, "LOGIN_ADDRESS_MAX_FAILURES", 100),
            "map_tile_url": env.get("MAP_TILE_URL", ""),
            "timezone": env.get("TIMEZONE") or "Asia/Ho_Chi_Minh",
            "trusted_proxies": env.get("TRUSTED_PROXIES", ""),
            "web_forms_offline_hours": _int(env, "WEB_FORMS_OFFLINE_HOURS", 72),
        }
        return cls(**values).validated()

    def replace(self, **changes: object) -> Settings:
        """Return a copy with ``changes`` applied (used by tests and the CLI)."""
        return dataclasses.replace(self, **changes).validated()

    def validated(self) -> Settings:
        """Check values that would otherwise fail late; raise SettingsError."""
        if not self.blob_store.startswith(("file:", "s3://")):
            raise SettingsError(
                f"BLOB_STORE must start with file: or s3://, not {self.blob_store!r}"
            )
        for target in self.register_targets:
            if not target.startswith(("dir:", "http://", "https://", "s3://")):
                raise SettingsError(
                    f"REGISTER_TARGET entry {target!r} is not dir:, https:// or s3://"
                )
        if not self.public_url.startswith(("http://", "https://")):
            raise SettingsError(f"PUBLIC_URL must be an http(s) URL, not {self.public_url!r}")
        if self.embedded_worker not in ("auto", "yes", "no"):
            raise SettingsError("EMBEDDED_WORKER must be auto, yes or no")
        if self.delivery_max_age_days < 1 or self.delivery_timeout_seconds < 1:
            raise SettingsError("DELIVERY_MAX_AGE_DAYS and DELIVERY_TIMEOUT_SECONDS must be >= 1")
        if self.delivery_lease_seconds < 2 * self.delivery_timeout_seconds:
            raise SettingsError(
                "DELIVERY_LEASE_SECONDS must be at least twice DELIVERY_TIMEOUT_SECONDS "
                "(a send must end well inside its lease)"
            )
        if self.max_submission_bytes < 1024:
            raise SettingsError("MAX_SUBMISSION_BYTES must be at least 1024")
        if self.max_submission_xml_bytes < 1024:
            raise SettingsError("MAX_SUBMISSION_XML_BYTES must be at least 1024")
        if not self.digest_realm.isascii():
            raise SettingsError(
                "DIGEST_REALM must be ASCII (Collect hashes Digest credentials as ASCII)"
            )
        if min(self.session_idle_minutes, self.session_max_hours) < 1:
            raise SettingsError("SESSION_IDLE_MINUTES and SESSION_MAX_HOURS must be >= 1")
        if min(self.login_max_failures, self.login_lock_minutes) < 1:
            raise SettingsError("LOGIN_MAX_FAILURES and LOGIN_LOCK_MINUTES must be >= 1")
        if self.login_address_max_failures < 1:
            raise SettingsError("LOGIN_ADDRESS_MAX_FAILURES must be >= 1")
        if self.map_tile_url and not self.map_tile_url.startswith("https://"):
            raise SettingsError("MAP_TILE_URL must be an https:// tile URL template, or empty")
        try:
            self.trusted_networks  # noqa: B018 (parsed to be checked)
        except ValueError:
            raise SettingsError(
                "TRUSTED_PROXIES must be addresses or CIDRs separated by commas, not "
                f"{self.trusted_proxies!r}"
            ) from None
        return self

    @property
    def trusted_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """TRUSTED_PROXIES parsed: addresses or CIDRs separated by commas (ValueError)."""
        return tuple(
            ipaddress.ip_network(part.strip(), strict=False)
            for part in self.trusted_proxies.split(",")
            if part.strip()
        )

    @property
    def register_targets(self) -> list[str]:
        """REGISTER_TARGET split on commas."""
        return [t.strip() for t in self.register_target.split(",") if t.strip()]

    @property
    def runs_embedded_worker(self) -> bool:
        """auto: a forwarding thread in the web process on SQLite, `python -m sync` otherwise."""
        if self.embedded_worker == "auto":
            return self.is_sqlite
        return self.embedded_worker == "yes"

    @property
    def spool_path(self) -> str:
        """Where request bodies are spooled while they are read (``instance/spool``, 0700)."""
        return str(Path(self.instance_path) / "spool")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def with_secret_key(self) -> Settings:
        """Return settings whose secret key is set, generating ``instance/secret_key`` once."""
        if self.secret_key:
            return self
        path = Path(self.instance_path) / "secret_key"
        if not path.exists():
            private_folder(path.parent)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(48))
        return dataclasses.replace(self, secret_key=path.read_text().strip())


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, not {raw!r}") from None


#: Environment variables and what they mean, rendered into README by a test's check.
DOCUMENTED = {
    "INSTANCE_PATH": "folder for the embedded database, blobs, register and secret key",
    "DATABASE_URL": "SQLAlchemy URL",
    "BLOB_STORE": "where attachments and XLSForms are kept",
    "REGISTER_TARGET": "forwarding targets, comma separated",
    "REGISTER_SECRET": "HMAC secret for the HTTP register target",
    "REGISTER_TARGETS_FILE": "JSON file of per-target options (field privacy, timeouts)",
    "DELIVERY_MAX_AGE_DAYS": "how long a delivery is retried before it is dead",
    "DELIVERY_TIMEOUT_SECONDS": "total deadline of one request to the register",
    "DELIVERY_LEASE_SECONDS": "how long a worker holds the deliveries it claimed (renewed)",
    "EMBEDDED_WORKER": "auto, yes or no: run the forwarding worker inside the web process",
    "SECRET_KEY": "signs sessions and Digest nonces",
    "PUBLIC_URL": "base URL printed in Collect server URLs and QR codes",
    "MAX_SUBMISSION_BYTES": "largest submission POST accepted",
    "MAX_SUBMISSION_XML_BYTES": "largest submission XML (the part or the REST body) accepted",
    "DIGEST_REALM": "realm of the Digest challenge",
    "S3_ENDPOINT_URL": "S3 endpoint (MinIO) for s3:// stores",
    "LOG_LEVEL": "logging level",
    "SESSION_IDLE_MINUTES": "a web session ends after this long without a request",
    "SESSION_MAX_HOURS": "a web session ends this long after login, active or not",
    "LOGIN_MAX_FAILURES": "wrong passwords for one account from one address before waits begin",
    "LOGIN_LOCK_MINUTES": "the longest such wait (each further failure doubles it from 30 s)",
    "LOGIN_ADDRESS_MAX_FAILURES": "failures from one address in a window before they get 429",
    "MAP_TILE_URL": "https tile template for maps; empty: no map tiles, no request leaves",
    "TIMEZONE": "time zone of dates shown in the web UI",
    "TRUSTED_PROXIES": "addresses or CIDRs of reverse proxies whose X-Forwarded-* are believed",
    "WEB_FORMS_OFFLINE_HOURS": "how long a browser keeps what a /f/ form page stored",
}
