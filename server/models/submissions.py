"""Submission (the logical record), SubmissionVersion (one per instanceID) and attachments."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base
from server.models.types import UTCDateTime, utcnow

REVIEW_STATES = ("hasIssues", "edited", "approved", "rejected")
#: The unique index that lets one edit, not several, supersede a version.
SUPERSEDED_ONCE = "uq_submission_versions_form_id_deprecated_id"


class Submission(Base):
    __tablename__ = "submissions"
    __table_args__ = (
        UniqueConstraint("form_id", "instance_id"),
        # The review list: count and page a form's live submissions from the index alone, and
        # offer its wards and submitters as filters without reading the table.
        Index("ix_submissions_form_live", "form_id", "draft", "deleted_at", "id"),
        Index("ix_submissions_form_ward", "form_id", "ward"),
        Index("ix_submissions_form_submitter", "form_id", "submitter_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("forms.id"))
    instance_id: Mapped[str] = mapped_column(String(255))
    submitter_id: Mapped[int | None] = mapped_column(ForeignKey("actors.id"))
    device_id: Mapped[str | None] = mapped_column(String(255))
    user_agent: Mapped[str | None] = mapped_column(String(255))
    review_state: Mapped[str | None] = mapped_column(String(16))
    draft: Mapped[bool] = mapped_column(default=False, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The commune/ward code answered in the current version (a field named ``ma_xa``).
    ward: Mapped[str | None] = mapped_column(String(32))
    #: The current version's answers, lower case without diacritics, for the UI's search.
    search_text: Mapped[str | None] = mapped_column(Text)


class SubmissionComment(Base):
    """A reviewer's note on a submission (Central's comments)."""

    __tablename__ = "submission_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("actors.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SubmissionVersion(Base):
    """One instanceID of a submission; ``xml`` is exactly what the device sent.

    The unique (form_id, instance_id) index is the final judge of duplicates, and the unique
    (form_id, deprecated_id) index of edits: a version is superseded once, so of several
    edits naming it at the same moment one wins and the others are out of date (409.9).
    """

    __tablename__ = "submission_versions"
    __table_args__ = (
        UniqueConstraint("form_id", "instance_id"),
        Index(SUPERSEDED_ONCE, "form_id", "deprecated_id", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), index=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("forms.id"))
    form_version_id: Mapped[int] = mapped_column(ForeignKey("form_versions.id"))
    instance_id: Mapped[str] = mapped_column(String(255))
    deprecated_id: Mapped[str | None] = mapped_column(String(255))
    instance_name: Mapped[str | None] = mapped_column(Text)
    xml: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    current: Mapped[bool] = mapped_column(default=True)
    submitter_id: Mapped[int | None] = mapped_column(ForeignKey("actors.id"))
    device_id: Mapped[str | None] = mapped_column(String(255))
    user_agent: Mapped[str | None] = mapped_column(String(255))
    encrypted_key: Mapped[str | None] = mapped_column(Text)
    encrypted_data_name: Mapped[str | None] = mapped_column(String(255))
    encrypted_signature: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SubmissionAttachment(Base):
    """A file a submission version names; ``blob_id`` is NULL until it arrives."""

    __tablename__ = "submission_attachments"
    __table_args__ = (UniqueConstraint("submission_version_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_version_id: Mapped[int] = mapped_column(ForeignKey("submission_versions.id"))
    name: Mapped[str] = mapped_column(String(255))
    index: Mapped[int] = mapped_column(default=0)
    blob_id: Mapped[int | None] = mapped_column(ForeignKey("blobs.id"))
    is_client_audit: Mapped[bool] = mapped_column(default=False)
