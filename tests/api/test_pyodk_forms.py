"""Form management through ODK Central's own client (pyodk 1.3.0): create a form from an
XLSForm with its media, publish new versions from a definition and from new media only, and
see each change as ODK Collect does."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.central_client import central_client
from tests.support.collect import Collect
from tests.support.xlsforms import visit_xlsx
from tests.web.conftest import PNG as PNG_1PX

WITH_LOGO = [["note", "chao", "Chào bạn", "Welcome", None, "logo.png"]]


@pytest.fixture
def manager(live_server, make_user, project, tmp_path: Path):
    make_user("quan.ly@example.org", role="manager", project_id=project.id)
    with central_client(live_server, "quan.ly@example.org", tmp_path, project.id) as client:
        yield client


def test_pyodk_creates_and_updates_a_form_that_collect_then_sees(
    manager, tmp_path, live_server, app_user
):
    definition = tmp_path / "tham.xlsx"
    definition.write_bytes(visit_xlsx("1", "tham", WITH_LOGO))
    logo = tmp_path / "logo.png"
    logo.write_bytes(PNG_1PX)
    created = manager.forms.create(definition=definition, attachments=[logo], form_id="tham")
    assert created.xmlFormId == "tham"
    [listed] = manager.forms.list()
    assert (listed.xmlFormId, listed.version, listed.state) == ("tham", "1", "open")
    assert 'id="tham"' in manager.forms.get_xml("tham")

    phone = Collect(app_user.server_url(live_server))
    [form] = phone.form_list()
    assert (form["formID"], form["version"]) == ("tham", "1")
    [media] = phone.manifest(form["manifestUrl"])
    assert media["filename"] == "logo.png"
    assert phone.get(media["downloadUrl"]).content == PNG_1PX

    definition.write_bytes(visit_xlsx("2", "tham", WITH_LOGO))
    manager.forms.update("tham", definition=definition)
    assert manager.forms.get("tham").version == "2"
    [form] = phone.form_list()
    assert form["version"] == "2"
    [media] = phone.manifest(form["manifestUrl"])
    assert phone.get(media["downloadUrl"]).content == PNG_1PX  # the logo carried forward

    logo.write_bytes(PNG_1PX + b"\x00")  # a new logo only: pyodk names the new version
    manager.forms.update("tham", attachments=[logo], version_updater=lambda v: f"{v}-logo")
    assert manager.forms.get("tham").version == "2-logo"
    [form] = phone.form_list()
    [media] = phone.manifest(form["manifestUrl"])
    assert phone.get(media["downloadUrl"]).content == PNG_1PX + b"\x00"
