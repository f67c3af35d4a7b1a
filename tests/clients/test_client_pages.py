"""The client and referral pages and the history API over real HTTP, on the real forms:
labels and links on the pages, the same scope and audit as the service, links from the
submission list and page to the client and the referral, built titles, and the review flow
(answers first, review history, previous and next in the filtered list, back to the list)."""

from __future__ import annotations

import re

import requests
from sqlalchemy import select

from server.models.audits import Audit

SUBMISSIONS = "/projects/{p}/forms/{f}/submissions"


def api(site, who: str, path: str) -> requests.Response:
    return requests.get(
        f"{site.url}/v1/projects/{site.project_id}{path}",
        headers={"Authorization": f"Bearer {site.tokens[who]}", "Accept-Language": "vi"},
        timeout=30,
    )


def test_the_history_api_is_the_page_in_json_scoped_and_audited(site, people):
    reply = api(site, "manager", f"/clients/{people.a}/history")
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["uuid"] == people.a
    assert [r["day"] for r in body["history"]] == sorted(r["day"] for r in body["history"])
    assert body["history"][2]["summary"] == "Xét nghiệm HIV"
    assert body["history"][2]["referral"] == people.referral
    assert {p["name"]: p["value"] for p in body["properties"]}["gioi"] == "Nam"
    assert [m["uuid"] for m in body["mergedFrom"]] == [people.b]
    refused = api(site, "ward_supervisor", f"/clients/{people.a}/history")
    assert refused.status_code == 404
    assert refused.json()["code"] == 404.1
    assert api(site, "collector", f"/clients/{people.a}/history").status_code == 403
    # B (00004) was merged into A (00118): B's ward supervisor is told so, never which record
    merged = api(site, "ward_supervisor", f"/clients/{people.b}/history")
    assert merged.status_code == 200, merged.text
    assert merged.json()["mergedInto"] == {"uuid": None, "label": None}
    assert people.a not in merged.text
    with site.db.transaction(write=False) as session:
        rows = session.scalars(select(Audit).where(Audit.action == "client.read")).all()
    assert any(r.details["uuid"] == people.a for r in rows)


def test_the_client_page_shows_labels_and_links_each_row_to_its_submission(site, people):
    browser = site.web("supervisor")
    page = browser.get(f"{site.url}/projects/{site.project_id}/clients/{people.a}", timeout=30)
    assert page.status_code == 200
    html = page.text
    assert "Phường Bồ Đề" in html
    assert "Giới tính khi sinh" in html
    assert "Tạm dừng" in html
    for form, instance in (("f1_dang_ky", "uuid:a-f1"), ("f5_tham_nha", "uuid:a-f5")):
        assert f'{SUBMISSIONS.format(p=site.project_id, f=form)}/{instance}"' in html
    assert f"/projects/{site.project_id}/referrals/{people.referral}" in html
    # the service of a referral is special: folded as on the submission page
    assert re.search(r'<details class="reveal"><summary>[^<]+</summary>Xét nghiệm HIV', html)
    assert "19/03/2026" in html  # the outcome's due date, as Vietnamese write it
    assert ">xn_hiv<" not in html
    assert ">tam_dung<" not in html
    english = site.web("supervisor")
    english.cookies.set("dh_lang", "en")
    text = english.get(f"{site.url}/projects/{site.project_id}/clients/{people.a}").text
    assert "Home visit" in text
    assert "Sex at birth" in text


def test_another_wards_client_and_referral_pages_are_not_found(site, people):
    browser = site.web("ward_supervisor")
    base = f"{site.url}/projects/{site.project_id}"
    assert browser.get(f"{base}/clients/{people.a}", timeout=30).status_code == 404
    assert browser.get(f"{base}/referrals/{people.referral}", timeout=30).status_code == 404
    assert browser.get(f"{base}/clients/{people.b}", timeout=30).status_code == 200


def test_a_merged_clients_page_says_where_it_went(site, people):
    html = (
        site.web("manager")
        .get(f"{site.url}/projects/{site.project_id}/clients/{people.b}", timeout=30)
        .text
    )
    merged = re.search(r'<p class="alert warn" id="merged-into">(.*?)</p>', html, re.S).group(1)
    assert f"/clients/{people.a}" in merged


def test_the_referral_page_shows_service_dates_outcomes_and_its_client(site, people):
    browser = site.web("supervisor")
    html = browser.get(f"{site.url}/projects/{site.project_id}/referrals/uuid:a-f3").text
    assert "19/03/2026" in html
    assert "05/03/2026" in html
    assert "Đã đến nhưng chưa nhận" in html
    assert "Đã nhận dịch vụ" in html
    assert f"/clients/{people.a}" in html
    assert f"{SUBMISSIONS.format(p=site.project_id, f='f4_ket_qua_cg')}/uuid:a-f4b" in html


def test_submission_list_rows_and_pages_link_to_the_client_and_the_referral(site, people):
    browser = site.web("supervisor")
    base = f"{site.url}{SUBMISSIONS.format(p=site.project_id, f='f3_chuyen_gui')}"
    listing = browser.get(base, timeout=30).text
    assert f"/clients/{people.a}" in listing
    assert f"/referrals/{people.referral}" in listing
    assert "uuid:a-f3</span>" not in listing  # a built title, not the bare instanceID
    assert "· 05/03/2026</span>" in listing
    assert "Xét nghiệm HIV" not in listing  # special: never in a title, which is not folded
    contact = f"{site.url}{SUBMISSIONS.format(p=site.project_id, f='f2_gap_go')}/uuid:a-f2"
    html = browser.get(contact, timeout=30).text
    link = re.search(r'id="client-link" href="([^"]+)"', html).group(1)
    assert link == f"/projects/{site.project_id}/clients/{people.a}"
    assert "05/03/2026</h1>" in html


def test_the_review_comes_after_the_answers_and_returns_to_the_filtered_list(site, people):
    browser = site.web("supervisor")
    base = f"{site.url}{SUBMISSIONS.format(p=site.project_id, f='f4_ket_qua_cg')}"
    listing = browser.get(f"{base}?review=received", timeout=30).text
    assert 'uuid:a-f4b?review=received"' in listing
    html = browser.get(f"{base}/uuid:a-f4a?review=received", timeout=30).text
    assert html.index('id="answers"') < html.index('id="review"')
    # newest first: f4b (sent after f4a) comes before it in the list
    assert re.search(r'rel="prev" href="[^"]*/uuid:a-f4b\?review=received"', html)
    assert 'id="no-reviews"' in html
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    back = re.search(r'name="back" value="([^"]*)"', html).group(1)
    reply = browser.post(
        f"{base}/uuid:a-f4a/review",
        data={"csrf_token": csrf, "review_state": "hasIssues", "back": back},
        allow_redirects=False,
        timeout=30,
    )
    assert reply.status_code == 303
    assert reply.headers["Location"].endswith("?review=received&done=reviewed")
    after = browser.get(f"{site.url}{reply.headers['Location']}", timeout=30).text
    assert "uuid:a-f4a?" not in after  # no longer waiting for review: out of the list
    page = browser.get(f"{base}/uuid:a-f4a", timeout=30).text
    history = re.search(r'<ol class="plain" id="review-history">(.*?)</ol>', page, re.S).group(1)
    assert "supervisor@example.org" in history
    assert "Đã nhận, chưa duyệt → Cần sửa" in history
