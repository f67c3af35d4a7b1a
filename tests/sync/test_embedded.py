"""The embedded default: under gunicorn on SQLite, one worker process forwards in a thread, so
`make run` delivers without a separate worker."""

from __future__ import annotations

import pytest

from tests.support.collect import Collect
from tests.support.xmls import instance
from tests.sync.test_workers import wait_for


def test_gunicorn_on_sqlite_forwards_what_collect_sends(
    settings, gunicorn_server, app_user, visit_form, register
):
    if not settings.is_sqlite:
        pytest.skip("the embedded worker is the SQLite default; PostgreSQL runs python -m sync")
    collect = Collect(app_user.server_url(gunicorn_server))
    for n in range(5):
        [reply] = collect.submit(instance("visit", f"uuid:emb-{n}", gap="co"))
        assert reply.status == 201
    wait_for(lambda: len(register.stored) == 5, "the embedded worker to deliver 5 submissions")
    assert len(register.posts) == 5
    versions = sorted(d["submission"]["versionInstanceId"] for d in register.stored.values())
    assert versions == [f"uuid:emb-{n}" for n in range(5)]
