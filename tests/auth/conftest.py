from tests.web.conftest import login_as, register, review_form, settings  # noqa: F401
