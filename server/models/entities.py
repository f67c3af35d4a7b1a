"""ODK Entities: datasets (entity lists) with their properties, and entities with their
versions. Entities are the clients and referrals followed across visits (domain.md 6.1)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base
from server.models.types import UTCDateTime, utcnow


class Dataset(Base):
    __tablename__ = "datasets"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    name: Mapped[str] = mapped_column(String(255))
    approval_required: Mapped[bool] = mapped_column(default=False)
    # The property whose value is a ward code; app users receive only their wards' entities.
    scope_property: Mapped[str | None] = mapped_column(String(255))
    # The property whose value is a site (facility) code, e.g. where a referral is sent: a
    # phone serving that site receives the entity too, whatever its ward.
    site_property: Mapped[str | None] = mapped_column(String(255))
    # A reference list with no personal data (facilities, clubs): every device gets all of it.
    shared: Mapped[bool] = mapped_column(default=False, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DatasetProperty(Base):
    __tablename__ = "dataset_properties"
    __table_args__ = (UniqueConstraint("dataset_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"))
    name: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Entity(Base):
    __tablename__ = "entities"
    __table_args__ = (UniqueConstraint("dataset_id", "uuid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"), index=True)
    uuid: Mapped[str] = mapped_column(String(36))
    label: Mapped[str] = mapped_column(Text)
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    version: Mapped[int] = mapped_column(default=1)
    conflict: Mapped[str | None] = mapped_column(String(16))
    creator_id: Mapped[int | None] = mapped_column(ForeignKey("actors.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class EntityVersion(Base):
    """Each version of an entity, and the submission version that made it (if any)."""

    __tablename__ = "entity_versions"
    __table_args__ = (UniqueConstraint("entity_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entity_id: Mapped[int] = mapped_column(ForeignKey("entities.id"))
    version: Mapped[int]
    label: Mapped[str] = mapped_column(Text)
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    base_version: Mapped[int | None]
    submission_version_id: Mapped[int | None] = mapped_column(ForeignKey("submission_versions.id"))
    creator_id: Mapped[int | None] = mapped_column(ForeignKey("actors.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AppUserSite(Base):
    """A site (facility) code an app user serves: its phone also gets the entities sent to
    that site (the referrals addressed to a clinic), whatever their ward."""

    __tablename__ = "app_user_sites"
    __table_args__ = (UniqueConstraint("actor_id", "site"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id"), index=True)
    site: Mapped[str] = mapped_column(String(64))


class AppUserWard(Base):
    """A ward (commune) code an app user works in: its phone gets those wards' entities."""

    __tablename__ = "app_user_wards"
    __table_args__ = (UniqueConstraint("actor_id", "ward"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id"), index=True)
    ward: Mapped[str] = mapped_column(String(16))
