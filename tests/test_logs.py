"""App-user keys never reach a log line (issue 11): gunicorn's access log, werkzeug's dev-server
log and our own loggers redact /v1/key/<token>/, /v1/test/<token>/ and ?st=<token>."""

from __future__ import annotations

import logging

import requests

from server.logs import REDACTED
from tests.conftest import running_gunicorn


def test_gunicorn_access_log_redacts_app_user_keys(
    settings, app, tmp_path, app_user, visit_form, project
):
    access_log = tmp_path / "access.log"
    token = app_user.token
    # As `make run` serves (gunicorn.conf.py is read from the project root), the access log
    # into a file; it is read once gunicorn has stopped, so every line is written.
    with running_gunicorn(settings, "--access-logfile", str(access_log), workers=1) as url:
        openrosa = {"X-OpenRosa-Version": "1.0"}
        assert requests.get(f"{app_user.server_url(url)}/formList", headers=openrosa).ok
        requests.get(f"{url}/v1/projects/{project.id}/formList?st={token}&x=1", headers=openrosa)
        requests.get(f"{url}/v1/test/{token}/projects/{project.id}/forms/visit/draft.xml")
    lines = access_log.read_text().splitlines()
    assert len(lines) == 3
    assert token not in access_log.read_text()
    assert f"/v1/key/{REDACTED}/projects/{project.id}/formList" in lines[0]
    assert f"st={REDACTED}&x=1" in lines[1]
    assert f"/v1/test/{REDACTED}/projects/" in lines[2]


def test_werkzeug_dev_server_log_redacts_app_user_keys(live_server, app_user, caplog):
    caplog.set_level(logging.INFO, logger="werkzeug")
    url = app_user.server_url(live_server)
    requests.get(f"{url}/formList", headers={"X-OpenRosa-Version": "1.0"})
    requests.get(f"{live_server}/v1/projects/1/formList?st={app_user.token}")
    lines = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    assert any("/formList" in line for line in lines)
    assert not [line for line in lines if app_user.token in line]
    assert any(f"/v1/key/{REDACTED}/" in line for line in lines)
    assert any(f"st={REDACTED}" in line for line in lines)


def test_our_own_log_lines_redact_keys(app, caplog):
    token = "A" * 60 + "!$ab"
    caplog.set_level(logging.INFO, logger="donghanh.test")
    logging.getLogger("donghanh.test").info("path %s", f"/v1/key/{token}/projects/1")
    logging.getLogger("donghanh.test").info(f"/v1/projects/1/formList?st={token}")
    assert token not in caplog.text
    assert caplog.text.count(REDACTED) == 2


def test_a_one_time_password_link_is_redacted_too(live_server, caplog):
    """An administrator's reset link (/reset/<token>) sets a password: it is a credential."""
    caplog.set_level(logging.INFO, logger="werkzeug")
    token = "Zq3" * 14
    requests.get(f"{live_server}/reset/{token}")
    lines = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    assert any(f"/reset/{REDACTED}" in line for line in lines)
    assert token not in caplog.text


def test_a_session_token_in_centrals_logout_path_is_redacted(live_server, caplog):
    """DELETE /v1/sessions/<token> names a live session token (refused ones too)."""
    caplog.set_level(logging.INFO, logger="werkzeug")
    token = "Se5" * 20
    requests.delete(f"{live_server}/v1/sessions/{token}", timeout=30)
    lines = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    assert any(f"/v1/sessions/{REDACTED}" in line for line in lines)
    assert token not in caplog.text
