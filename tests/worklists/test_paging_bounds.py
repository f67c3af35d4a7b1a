"""A page number or id too large for the database is refused as a bad value (400 with
Central's 400.8 in the API), or shows the first page in the web UI, never a 500: the bound
lives in one place (services/paging.py), so every list that pages agrees."""

from __future__ import annotations

from server.services import paging

HUGE = str(10**12)  # beyond a 32-bit column, and beyond PostgreSQL's bigint with 10**19
HUGER = str(10**19)


def test_the_work_list_api_refuses_an_offset_it_cannot_page_to(site):
    for offset in (HUGE, HUGER, "-1"):
        reply = site.get("/worklists/overdue_referrals", offset=offset)
        assert reply.status_code == 400, (offset, reply.text)
        assert reply.json()["code"] in (400.8, "400.8")
        assert "offset" in reply.json()["message"]
    edge = site.get("/worklists/overdue_referrals", offset=str(paging.MAX_NUMBER))
    assert edge.status_code == 200, edge.text
    assert edge.json()["rows"] == []
    assert site.get("/worklists/overdue_referrals", limit="0").status_code == 400


def test_odata_refuses_a_skip_it_cannot_page_to(site):
    for where in ("/datasets/clients.svc/Entities", "/forms/f1_dang_ky.svc/Submissions"):
        reply = site.get(where, **{"$skip": HUGER})
        assert reply.status_code == 400, (where, reply.text)
        assert "$skip" in reply.json()["message"]


def test_the_web_lists_show_their_first_page_for_an_offset_out_of_range(site):
    web = site.web("manager")
    base = f"{site.url}/projects/{site.project_id}"
    for path in ("/worklists/overdue_referrals", "/lists/clients"):
        reply = web.get(f"{base}{path}", params={"offset": HUGER}, timeout=30)
        assert reply.status_code == 200, (path, reply.status_code)
