"""Forwarding fixtures: a scriptable register on loopback as the target, and a factory that
stores submissions through the product's intake service."""

from __future__ import annotations

import hashlib
import uuid

import pytest

import forms
from server.services import ingest
from tests.support.register import Register
from tests.support.xmls import instance

SECRET = "register-shared-secret"


@pytest.fixture
def register():
    reg = Register(secret=SECRET)
    reg.url = reg.start()
    yield reg
    reg.stop()


@pytest.fixture
def settings(settings, register):
    return settings.replace(
        register_target=register.url, register_secret=SECRET, delivery_timeout_seconds=3
    )


@pytest.fixture
def submit(app, db, app_user_principal, project):
    """Store one submission through ingest_submission, as the OpenRosa view does."""

    def store(xml: bytes | None = None, **answers):
        xml = xml or instance("visit", f"uuid:{uuid.uuid4()}", gap="co", **answers)
        incoming = ingest.Incoming(
            envelope=forms.read_instance(xml),
            xml=xml,
            xml_sha256=hashlib.sha256(xml).hexdigest(),
            parts={},
            device_id="collect:test",
            user_agent="test",
        )
        ext = app.extensions["donghanh"]
        with db.transaction() as session:
            result = ingest.ingest_submission(
                session, ext.blobs, app_user_principal, project.id, incoming, ext.target_names
            )
        assert result.problem is None, result.problem
        return result

    return store


@pytest.fixture
def app_user_principal(db, app_user):
    from server.services import app_users

    with db.transaction(write=False) as session:
        return app_users.principal_for_token(session, app_user.token)
