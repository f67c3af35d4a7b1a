"""Fixtures for the plan: callers made through the product's user service (a project-wide
manager, a supervisor of one ward, a viewer, another project's manager), and the plan read
back from the database as rows and audit entries."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from server.models.audits import Audit
from server.models.indicators import PlanTarget
from server.services import projects, users
from server.services.targets import TargetInput
from tests.web.conftest import login_as  # noqa: F401  (web users logged in through the login page)

WARD, OTHER_WARD = "00118", "00004"  # Phường Bồ Đề, Phường Ba Đình (xlsforms/wards.csv)


def row(kind="ward", value=WARD, indicator="I1", period="2026", planned=150) -> TargetInput:
    return TargetInput(kind, value, indicator, period, planned)


@pytest.fixture
def other_project(db):
    with db.transaction() as session:
        return projects.create_project(session, None, "Dự án khác")


@pytest.fixture
def principal_of(db, make_user, project, other_project):
    """principal_of(name) -> the Principal of a new user: "admin", "manager",
    "ward_supervisor" (ward 00118 only), "supervisor", "viewer", "other_manager"."""
    kinds = {
        "admin": ("admin", None, ()),
        "manager": ("manager", project.id, ()),
        "supervisor": ("supervisor", project.id, ()),
        "ward_supervisor": ("supervisor", project.id, (WARD,)),
        "viewer": ("viewer", project.id, ()),
        "other_manager": ("manager", other_project.id, ()),
    }

    def make(name: str):
        role, project_id, wards = kinds[name]
        email = f"{name}@example.org"
        make_user(email, role=role, project_id=project_id, wards=wards)
        with db.transaction(write=False) as session:
            return users.principal_for_user(session, users.find_user(session, email))

    return make


@pytest.fixture
def stored(db):
    """stored() -> {(kind, value, indicator, period kind, start): planned} of every row."""

    def read() -> dict:
        with db.transaction(write=False) as session:
            return {
                (t.scope_kind, t.scope_value, t.indicator, t.period_kind, t.period_start):
                t.planned
                for t in session.scalars(select(PlanTarget))
            }

    return read


@pytest.fixture
def audits(db):
    """audits(prefix="target.") -> [(action, actor id, details)] in the order written."""

    def read(prefix: str = "target.") -> list[tuple[str, int | None, dict]]:
        with db.transaction(write=False) as session:
            return [
                (a.action, a.actor_id, a.details)
                for a in session.scalars(
                    select(Audit).where(Audit.action.startswith(prefix)).order_by(Audit.id)
                )
            ]

    return read


ROOT = Path(__file__).resolve().parents[2]
