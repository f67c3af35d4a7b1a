"""The REST API's submission XML (pyodk's create and edit) is capped like Collect's XML part
(MAX_SUBMISSION_XML_BYTES): a bigger one is a 413 JSON problem, nothing stored."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from server.models.submissions import SubmissionVersion
from tests.support.central_client import central_client
from tests.support.xmls import instance

A1 = "uuid:6b7c8d9e-0f1a-4b2c-8d3e-4f5a6b7c8d9e"
A2 = "uuid:6b7c8d9e-0f1a-4b2c-8d3e-4f5a6b7c8d9f"


@pytest.fixture
def manager(gunicorn_server, make_user, project, tmp_path: Path, visit_form):
    """pyodk against gunicorn, as in production (a refusal must reach a client still sending)."""
    make_user("quanly@example.org", role="manager", project_id=project.id)
    with central_client(gunicorn_server, "quanly@example.org", tmp_path, project.id) as client:
        yield client


def test_a_rest_create_or_edit_with_xml_over_the_cap_is_a_413_problem(manager, project, db):
    base = f"projects/{project.id}/forms/visit/submissions"
    xml = {"Content-Type": "application/xml"}
    assert manager.post(base, data=instance("visit", A1, gap="co"), headers=xml).ok
    huge = "x" * 6_000_000
    created = manager.post(base, data=instance("visit", A2, ma_kh=huge), headers=xml)
    edited = manager.put(
        f"{base}/{A1}", data=instance("visit", A2, deprecated_id=A1, ma_kh=huge), headers=xml
    )
    for response in (created, edited):
        assert response.status_code == 413
        problem = response.json()
        assert problem["code"] == 413.2
        assert "5000000 bytes" in problem["message"]
    with db.transaction(write=False) as session:
        assert session.scalars(select(SubmissionVersion.instance_id)).all() == [A1]
