"""One programme site for the client tests (the indicator tests' site: `flask init` with the
real forms F1-F7, served over HTTP, a phone in the test wards, web users of each role), and
one set of people sent through it once per module."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.indicators import programme as p
from tests.indicators.conftest import site  # noqa: F401  (the module's programme site)

A, B, C = p.new_id(), p.new_id(), p.new_id()
R1 = p.new_id()


@dataclass
class People:
    a: str  # a client of Phường Bồ Đề (00118) with a full history
    b: str  # a duplicate of A registered in 00004, merged into A
    c: str  # a client of 00118 with only a registration
    referral: str  # A's referral to HIV testing, with two outcomes


@pytest.fixture(scope="module")
def people(site) -> People:  # noqa: F811
    """Sent out of time order on purpose: the history sorts by the event date."""
    for xml in (
        p.f1("uuid:a-f1", A, "2026-03-01", post_rehab=True, rehab_end="2026-01-31"),
        p.f5("uuid:a-f5", A, "2026-04-01", met="co"),
        p.f2("uuid:a-f2", A, "2026-03-05"),
        p.f3("uuid:a-f3", R1, A, "xn_hiv", "2026-03-05", due="2026-03-19"),
        p.f4("uuid:a-f4a", R1, "xn_hiv", "2026-03-10", outcome="da_den"),
        p.f4("uuid:a-f4b", R1, "xn_hiv", "2026-03-15", outcome="da_nhan", hiv="am_tinh"),
        p.f6("uuid:a-f6", "2026-04-10", attendees=[A, C], men=2),
        p.f1("uuid:b-f1", B, "2026-02-01", ward="00004", sex="2", uic="MAHO2000085"),
        p.f2("uuid:b-f2", B, "2026-02-10", ward="00118"),  # met in another ward
        p.f7("uuid:b-f7", B, "2026-05-02", "trung_ma", merge_into=A, ward="00004"),
        p.f7("uuid:a-f7", A, "2026-05-01", "tam_giu"),
        p.f1("uuid:c-f1", C, "2026-03-02"),
    ):
        site.submit(xml)
    return People(A, B, C, R1)
