"""Form (one xmlFormId in a project), FormVersion (exact XForm bytes) and FormAttachment."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base
from server.models.types import UTCDateTime, utcnow

FORM_STATES = ("open", "closing", "closed")
FORWARD_POLICIES = ("on_receipt", "on_approval")


class Form(Base):
    __tablename__ = "forms"
    __table_args__ = (UniqueConstraint("project_id", "xml_form_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    xml_form_id: Mapped[str] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(16), default="open")
    forward_policy: Mapped[str] = mapped_column(
        String(16), default="on_receipt", server_default="on_receipt"
    )
    current_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("form_versions.id", use_alter=True)
    )
    draft_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("form_versions.id", use_alter=True)
    )
    # Shown again whenever the draft is opened (its QR code), so kept as it is; it reaches
    # only this form's draft, whose test submissions are kept apart and purged on publish.
    draft_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FormVersion(Base):
    """One definition of a form. ``xml`` is the exact bytes served to Collect."""

    __tablename__ = "form_versions"
    __table_args__ = (
        Index(
            "uq_form_versions_published",
            "form_id",
            "version",
            unique=True,
            sqlite_where=text("published_at IS NOT NULL"),
            postgresql_where=text("published_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("forms.id"), index=True)
    version: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(1024))
    xml: Mapped[bytes] = mapped_column(LargeBinary)
    md5: Mapped[str] = mapped_column(String(32))
    sha256: Mapped[str] = mapped_column(String(64))
    key_public: Mapped[str | None] = mapped_column(Text)
    xls_blob_id: Mapped[int | None] = mapped_column(ForeignKey("blobs.id"))
    xls_filename: Mapped[str | None] = mapped_column(String(255))
    warnings: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FormAttachment(Base):
    """A media or data file a form version expects; ``blob_id`` is NULL until uploaded."""

    __tablename__ = "form_attachments"
    __table_args__ = (UniqueConstraint("form_version_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    form_version_id: Mapped[int] = mapped_column(ForeignKey("form_versions.id"))
    name: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(16))  # image | audio | video | file
    blob_id: Mapped[int | None] = mapped_column(ForeignKey("blobs.id"))
    # A `<dataset>.csv` the form expects is served from that entity list (Central's link).
    dataset_id: Mapped[int | None] = mapped_column(ForeignKey("datasets.id"))
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
