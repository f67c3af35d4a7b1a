"""The programme site of the indicator tests (real forms F1-F7, a phone, web users of each
role over HTTP), for the work lists: one per module."""

from __future__ import annotations

from tests.indicators.conftest import PASSWORD, WARDS, Site, site  # noqa: F401
