"""The API tests forward to the same scriptable register as tests/sync."""

from tests.sync.conftest import app_user_principal, register, settings, submit  # noqa: F401
from tests.web.conftest import login_as  # noqa: F401  (web users logged in through the login page)
