"""A work-list row whose client was merged into another ward's record names that record to
no one outside its ward: the row stays (the referral is the ward's), the client is "in
another commune/ward", with neither uuid nor label."""

from __future__ import annotations

from tests.indicators import programme as p
from tests.worklists.test_worklists import OTHER, WARD, ago, refer, register, rows


def test_a_client_merged_into_another_wards_record_is_not_named_to_a_ward_supervisor(site):
    here = register(site)
    there = register(site, OTHER)
    referral = refer(site, here, 6)
    site.submit(p.f7(p.new_id(), here, ago(1), "trung_ma", merge_into=there, ward=WARD))

    seen = {r["referral"]: r for r in rows(site, "overdue_referrals", "ward_supervisor")}
    row = seen[referral]  # still the ward's referral, still overdue
    assert row["client"] is None
    assert row["clientLabel"] is None
    assert row["clientElsewhere"] is True
    assert there not in str(seen)

    managed = {r["referral"]: r for r in rows(site, "overdue_referrals", "manager")}
    assert managed[referral]["client"] == there  # every ward: the survivor, named
    assert managed[referral]["clientElsewhere"] is False

    web = site.web("ward_supervisor")
    page = web.get(f"{site.url}/projects/{site.project_id}/worklists/overdue_referrals", timeout=10)
    assert page.status_code == 200
    assert "Khách hàng nay thuộc xã/phường khác" in page.text
    assert there not in page.text
