"""The objects create_app hangs on the Flask app, and the getters blueprints use to reach them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import current_app

from server.blobs import FileBlobStore, S3BlobStore
from server.db import Database
from server.registers import TargetConfig
from server.services.sessions import LoginLimits
from server.services.throttle import ThrottleLimits
from server.settings import Settings


@dataclass(slots=True)
class Extension:
    settings: Settings
    db: Database
    blobs: FileBlobStore | S3BlobStore
    targets: list[TargetConfig]

    @property
    def target_names(self) -> list[str]:
        return [t.name for t in self.targets]


def get_settings() -> Settings:
    return current_app.extensions["donghanh"].settings


def get_blobs() -> FileBlobStore | S3BlobStore:
    return current_app.extensions["donghanh"].blobs


def get_target_names() -> list[str]:
    return current_app.extensions["donghanh"].target_names


def login_limits(settings: Settings) -> LoginLimits:
    """Login throttling and session lifetimes from the settings."""
    return LoginLimits(
        throttling=ThrottleLimits(
            free_failures=settings.login_max_failures,
            longest_wait=timedelta(minutes=settings.login_lock_minutes),
            address_failures=settings.login_address_max_failures,
            address_window=timedelta(minutes=settings.login_lock_minutes),
        ),
        cookie_lifetime=timedelta(hours=settings.session_max_hours),
        idle=timedelta(minutes=settings.session_idle_minutes),
    )
