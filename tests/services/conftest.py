from tests.web.conftest import login_as  # noqa: F401
