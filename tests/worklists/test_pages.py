"""The work-list pages and the readable entity lists, over HTTP as a browser asks for them
(logged in through the login page): labels not codes, dd/mm/yyyy, rows linking to the
client, both languages, another ward refused, filters, sort and columns."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from forms import answers
from server.services import places, worklists
from tests.indicators import programme as p

WARD, OTHER = "00004", "00008"
TODAY = worklists.local_today()


def ago(days: int) -> str:
    return (TODAY - timedelta(days=days)).isoformat()


@pytest.fixture(scope="module")
def seeded(site):
    mine, far = p.new_id(), p.new_id()
    site.submit(p.f1(p.new_id(), mine, ago(100), ward=WARD, uic="NGVA1000090", model="diem_tv"))
    site.submit(p.f1(p.new_id(), far, ago(100), ward=OTHER, uic="TRAN2000085"))
    referral = p.new_id()
    site.submit(p.f3(p.new_id(), referral, mine, "mmt", ago(20), WARD, ago(6)))
    return mine, far, referral


def test_the_work_lists_page_counts_and_the_list_links_to_the_client(site, seeded):
    mine, far, referral = seeded
    web = site.web("ward_supervisor")
    page = web.get(f"{site.url}/projects/{site.project_id}/worklists", timeout=10)
    assert page.status_code == 200
    assert "Chuyển gửi quá hạn xác nhận" in page.text
    assert re.search(r'id="wl-overdue_referrals".*?data-count="1"', page.text, re.S)
    listing = web.get(
        f"{site.url}/projects/{site.project_id}/worklists/overdue_referrals", timeout=10
    )
    assert listing.status_code == 200
    assert f'href="/projects/{site.project_id}/clients/{mine}"' in listing.text
    assert f"/projects/{site.project_id}/referrals/{referral}" in listing.text
    assert "Điều trị thay thế" in listing.text  # mmt's label, never the code
    # the service is special (F3's dh:sensitive): folded, a tap away, as on the client page
    assert re.search(
        r'<details class="reveal"><summary>[^<]+</summary><a href="[^"]+">Điều trị thay thế',
        listing.text,
    ), listing.text
    assert (TODAY - timedelta(days=6)).strftime("%d/%m/%Y") in listing.text
    assert far not in listing.text
    refused = web.get(
        f"{site.url}/projects/{site.project_id}/worklists/overdue_referrals?ward={OTHER}",
        timeout=10,
    )
    assert refused.status_code == 403
    unknown = web.get(f"{site.url}/projects/{site.project_id}/worklists?ward=99999", timeout=10)
    assert unknown.status_code == 400
    assert "99999" in unknown.text


def test_the_pages_in_english(site, seeded):
    web = site.web("ward_supervisor", "en")
    page = web.get(f"{site.url}/projects/{site.project_id}/worklists/overdue_referrals", timeout=10)
    assert "Referrals past their due date" in page.text
    assert "Opioid agonist therapy" in page.text or "opioid" in page.text.lower()
    assert "Days late" in page.text


def test_the_clients_list_reads_as_labels_with_filters_and_sort(site, seeded):
    mine, _far, _ = seeded
    web = site.web("ward_supervisor")
    url = f"{site.url}/projects/{site.project_id}/lists/clients"
    page = web.get(url, timeout=10)
    assert page.status_code == 200
    assert "NGVA1000090" in page.text
    assert "TRAN2000085" not in page.text
    assert "Giới tính khi sinh" in page.text  # the field's label, not "gioi"
    assert ">Nam<" in page.text  # sex 1 as its label
    assert "Điểm tư vấn" in page.text  # the model diem_tv as its label
    assert f'href="/projects/{site.project_id}/clients/{mine}"' in page.text
    assert ">gioi<" not in page.text
    assert ">mo_hinh<" not in page.text
    # filters by property value and by the ward's name (without diacritics)
    ward_name = next(x.name for x in places.wards() if x.code == WARD)
    assert "NGVA1000090" in web.get(url, params={"f_mo_hinh": "diem_tv"}, timeout=10).text
    assert "NGVA1000090" not in web.get(url, params={"f_mo_hinh": "tnv"}, timeout=10).text
    folded = answers.fold(ward_name)  # "phuong ..." as a phone keyboard types it
    assert folded != ward_name.lower()
    assert "NGVA1000090" in web.get(url, params={"q": ward_name}, timeout=10).text
    assert "NGVA1000090" in web.get(url, params={"q": folded}, timeout=10).text
    # a date range on the registration date, and chosen columns with a sort
    first = web.get(
        url, params={"date_field": "ngay_dk", "from": ago(101), "to": ago(99)}, timeout=10
    )
    assert "NGVA1000090" in first.text
    none = web.get(url, params={"date_field": "ngay_dk", "from": ago(5)}, timeout=10)
    assert "NGVA1000090" not in none.text
    chosen = web.get(
        url, params={"cols": ["uic", "trang_thai"], "sort": "uic", "desc": "1"}, timeout=10
    )
    assert "Tình trạng" in chosen.text
    assert "Đang theo dõi" in chosen.text
    assert "Giới tính khi sinh" not in chosen.text.split("<tbody>")[0].split("<thead>")[1]


def test_the_manager_sees_every_ward_and_the_project_page_counts(site, seeded):
    web = site.web("manager")
    page = web.get(f"{site.url}/projects/{site.project_id}/lists/clients", timeout=10)
    assert "TRAN2000085" in page.text
    assert "NGVA1000090" in page.text
    project = web.get(f"{site.url}/projects/{site.project_id}", timeout=10)
    assert 'id="worklists-link"' in project.text
    ward_page = site.web("ward_supervisor").get(
        f"{site.url}/projects/{site.project_id}", timeout=10
    )
    mine = re.search(r'lists/clients">clients</a></h3>\s*<p>(\d+)', ward_page.text)
    every = re.search(r'lists/clients">clients</a></h3>\s*<p>(\d+)', project.text)
    assert int(mine.group(1)) < int(every.group(1))


def test_the_referrals_list_folds_the_service(site, seeded):
    """The referrals list shows the service by default (a special answer): folded, so a
    phone shown around a ward office does not show who was referred to methadone."""
    _mine, _far, referral = seeded
    web = site.web("ward_supervisor")
    page = web.get(f"{site.url}/projects/{site.project_id}/lists/referrals", timeout=10)
    assert page.status_code == 200
    row = re.search(rf'<tr data-uuid="{referral}">(.*?)</tr>', page.text, re.S)
    assert row, page.text
    cell = re.search(r'<td data-label="[^"]*" class="[^"]*sensitive-special">(.*?)</td>', row[1])
    assert cell, row[1]
    assert cell[1].startswith('<details class="reveal">')
    assert "Điều trị thay thế" in cell[1]
    reply = site.get("/worklists/overdue_referrals", "ward_supervisor")
    assert {r["whatSensitive"] for r in reply.json()["rows"]} == {"special"}
