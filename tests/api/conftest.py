"""The API tests forward to the same scriptable register as tests/sync."""

from tests.sync.conftest import app_user_principal, register, settings, submit  # noqa: F401
