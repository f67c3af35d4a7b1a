"""Plan targets ("kế hoạch", domain decision 6): the planned number for an indicator, in a
scope of a project (the whole project, a province, a ward or a programme model) and a period
(a year, a quarter or a month), entered by managers and supervisors."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base
from server.models.types import UTCDateTime, utcnow

#: What a target's scope names: the whole project ("" as value), a province code (2 digits),
#: a ward code (5 digits) or a programme model (a ``mo_hinh`` choice).
SCOPE_KINDS = ("project", "province", "ward", "model")
PERIOD_KINDS = ("year", "quarter", "month")


class PlanTarget(Base):
    __tablename__ = "plan_targets"
    __table_args__ = (
        UniqueConstraint(
            "project_id", "scope_kind", "scope_value", "indicator", "period_kind", "period_start"
        ),
        Index("ix_plan_targets_project_period", "project_id", "period_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    scope_kind: Mapped[str] = mapped_column(String(16))
    scope_value: Mapped[str] = mapped_column(String(32), default="")
    #: An indicator code of docs/indicators.md: "I1", "I4:xn_hiv", "I14:amount", ...
    indicator: Mapped[str] = mapped_column(String(32))
    period_kind: Mapped[str] = mapped_column(String(8))
    #: The first day of the period: 1 January, the quarter's first day, the month's first day.
    period_start: Mapped[date] = mapped_column(Date)
    planned: Mapped[float] = mapped_column(Float)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("actors.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


#: The programme's forms whose submissions keep indicator facts (domain.md section 5).
PROGRAMME_FORMS = (
    "f1_dang_ky",
    "f2_gap_go",
    "f3_chuyen_gui",
    "f4_ket_qua_cg",
    "f5_tham_nha",
    "f6_sinh_hoat",
    "f7_cap_nhat",
)


class IndicatorFact(Base):
    """The typed answers the indicators count, one row per submission of a programme form
    (F1-F7): written from the current version in the same transaction as the submission,
    replaced by an edit, not ``live`` while the submission is deleted or rejected. Columns
    carry the forms' own field names; docs/indicators.md says which indicator reads which.
    The dashboard reads these rows, never the submissions' XML."""

    __tablename__ = "indicator_facts"
    __table_args__ = (
        Index("ix_indicator_facts_project_form_day", "project_id", "form", "day"),
        Index("ix_indicator_facts_project_referral", "project_id", "referral"),
        Index("ix_indicator_facts_project_client", "project_id", "client"),
        Index("ix_indicator_facts_project_merge", "project_id", "gop_vao"),
        Index("ix_indicator_facts_project_changed", "project_id", "changed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"), unique=True)
    #: The xmlFormId (one of PROGRAMME_FORMS).
    form: Mapped[str] = mapped_column(String(32))
    instance_id: Mapped[str] = mapped_column(String(255))
    #: False while the submission is deleted or its review state is "rejected".
    live: Mapped[bool] = mapped_column(default=True)
    #: The client entity (F1: the one it creates; F2, F3, F5, F7: ``kh``; F4: none, its
    #: referral's F3 names the client).
    client: Mapped[str | None] = mapped_column(String(36))
    #: The referral entity (F3: the one it creates; F4: ``phieu``).
    referral: Mapped[str | None] = mapped_column(String(36))
    #: The event date of the header (``ngay``), a date in Asia/Ho_Chi_Minh as the form has it.
    day: Mapped[date | None] = mapped_column(Date)
    ma_xa: Mapped[str | None] = mapped_column(String(32))
    ma_tinh: Mapped[str | None] = mapped_column(String(8))
    mo_hinh: Mapped[str | None] = mapped_column(String(32))
    submitter_id: Mapped[int | None] = mapped_column(ForeignKey("actors.id"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: When the row last changed (written, replaced, counted or not): with the row count and
    #: the clients list's changed_at it says whether a computed report is still current.
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # F1
    dong_y: Mapped[str | None] = mapped_column(String(16))
    xu_ly_trung: Mapped[str | None] = mapped_column(String(16))
    nguon_gioi_thieu: Mapped[str | None] = mapped_column(String(32))
    # F2
    co_ma: Mapped[str | None] = mapped_column(String(16))
    chu_de: Mapped[bool] = mapped_column(default=False)  # any topic chosen
    de_xuat_dv: Mapped[bool] = mapped_column(default=False)  # any service recommended
    # F3 (and F4's lookup of its referral's service)
    dv: Mapped[str | None] = mapped_column(String(32))
    han: Mapped[date | None] = mapped_column(Date)  # F3 han_xac_nhan
    # F4
    kq: Mapped[str | None] = mapped_column(String(32))
    nguon: Mapped[str | None] = mapped_column(String(32))  # saved as the referral's xac_nhan
    ngay_xn: Mapped[date | None] = mapped_column(Date)
    ngay_dv: Mapped[date | None] = mapped_column(Date)
    kq_hiv: Mapped[str | None] = mapped_column(String(32))
    bat_dau: Mapped[str | None] = mapped_column(String(16))
    ngay_bd: Mapped[date | None] = mapped_column(Date)
    tt_hoc: Mapped[str | None] = mapped_column(String(32))
    # F4 and F5
    tien_vay: Mapped[float | None] = mapped_column(Float)
    ngay_giai_ngan: Mapped[date | None] = mapped_column(Date)
    # F5
    gap: Mapped[str | None] = mapped_column(String(16))
    sd_tu_bao: Mapped[str | None] = mapped_column(String(32))
    viec_lam: Mapped[str | None] = mapped_column(String(32))
    ho_tro_nhan: Mapped[str | None] = mapped_column(String(255))  # space-separated
    clb: Mapped[str | None] = mapped_column(String(16))
    ngay_bd_hoc_nghe: Mapped[date | None] = mapped_column(Date)
    # F6
    n_tham_gia: Mapped[int | None] = mapped_column()  # n_nam + n_nu + n_khac
    ds: Mapped[str | None] = mapped_column(Text)  # the registered attendees, space-separated
    # F7
    ly_do: Mapped[str | None] = mapped_column(String(32))
    gop_vao: Mapped[str | None] = mapped_column(String(36))
