"""The plan's web page: the table for a year (indicator names, places by name, periods in words,
numbers in the Vietnamese way), the form to add and change a target and the button to remove
one (CSRF checked), the ward picker without JavaScript, sentences for bad input, and viewers
seeing the table without the form."""

from __future__ import annotations

import re

import pytest

from server.auth.permissions import SYSTEM
from server.services import targets
from tests.targets.conftest import OTHER_WARD, WARD, row


@pytest.fixture
def page_url(project) -> str:
    return f"/projects/{project.id}/targets"


def cells(html: str) -> list[list[str]]:
    """The table's rows as the text of their cells."""
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [
        [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", td)).strip()
         for td in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)]
        for tr in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


def test_the_plan_is_shown_in_words_for_the_year(login_as, db, project, page_url):
    with db.transaction() as session:
        targets.set_targets(session, SYSTEM, project.id, [
            row(planned=1500),
            row(kind="model", value="canh_sat", indicator="I19", period="2026-Q1", planned=12),
            row(kind="project", value="", indicator="I14:amount", period="2026-03",
                planned=4099.5),
            row(period="2025", planned=99),  # another year: not on the 2026 page
        ])
    viewer = login_as("viewer")
    page = viewer.get(f"{page_url}?year=2026")
    assert page.status_code == 200
    shown = [c[:4] for c in cells(page.text)]
    assert shown == [
        ["I1 Số người được tư vấn, chuyển gửi", "Phường Bồ Đề (00118)", "Năm 2026", "1.500"],
        ["I14:amount Tổng số tiền vay (triệu đồng)", "Toàn dự án", "Tháng 3/2026", "4.099,5"],
        ["I19 Mô hình cảnh sát: số người được công an giới thiệu",
         "Mô hình cảnh sát chuyển gửi", "Quý 1/2026", "12"],
    ]
    assert 'id="target-form"' not in page.text  # a viewer reads, does not write
    assert "/targets/remove" not in page.text
    viewer.client.set_cookie("dh_lang", "en")
    english = cells(viewer.get(f"{page_url}?year=2026").text)
    assert english[0][:3] == ["I1 People counselled or referred", "Phường Bồ Đề (00118)",
                              "Year 2026"]
    assert english[2][1:4] == ["Police-referral model", "Quarter 1/2026", "12"]


def test_the_project_page_links_the_plan_for_readers(login_as, project, page_url):
    assert page_url in login_as("viewer").get(f"/projects/{project.id}").text
    assert page_url not in login_as("collector").get(f"/projects/{project.id}").text


def test_a_manager_adds_changes_and_removes_a_target_through_the_form(
    login_as, project, page_url, stored, audits
):
    manager = login_as("manager")
    form = {"indicator": "I1", "scope": f"ward:{WARD}", "period": "2026-Q2", "planned": "40"}
    added = manager.post(page_url, form)
    assert added.status_code == 302
    assert "changed=saved" in added.headers["Location"]
    assert "year=2026" in added.headers["Location"]
    assert list(stored().values()) == [40.0]
    page = manager.get(added.headers["Location"])
    assert "Đã lưu chỉ tiêu." in page.text
    assert cells(page.text)[0][:4] == [
        "I1 Số người được tư vấn, chuyển gửi", "Phường Bồ Đề (00118)", "Quý 2/2026", "40"]
    # The change link fills the form with the target; sending a new number changes it.
    change = re.search(r'href="([^"]+)#target-form"', page.text).group(1).replace("&amp;", "&")
    prefilled = manager.get(change).text
    assert re.search(rf'value="ward:{WARD}" checked', prefilled)
    assert '<option value="2026-Q2" selected>' in prefilled
    assert 'name="planned" type="number" min="0" step="any" inputmode="decimal" value="40"' \
        in prefilled
    assert manager.post(page_url, {**form, "planned": "45"}).status_code == 302
    assert list(stored().values()) == [45.0]
    removed = manager.post(f"{page_url}/remove", {k: form[k] for k in ("indicator", "scope",
                                                                     "period")})
    assert "changed=removed" in removed.headers["Location"]
    assert stored() == {}
    assert [a for a, _actor, _d in audits()] == ["target.create", "target.update", "target.delete"]


def test_a_post_without_the_csrf_token_is_refused(login_as, page_url, stored):
    manager = login_as("manager")
    form = {"indicator": "I1", "scope": f"ward:{WARD}", "period": "2026", "planned": "150"}
    sent = manager.client.post(page_url, data=form)
    assert sent.status_code == 400
    assert manager.client.post(page_url, data={**form, "csrf_token": "forged"}).status_code == 400
    assert manager.client.post(f"{page_url}/remove", data=form).status_code == 400
    assert stored() == {}


BAD_INPUT = [
    ({"planned": "-5"}, "Số kế hoạch không được là số âm."),
    ({"planned": "nhiều"}, "Hãy ghi số kế hoạch bằng chữ số, ví dụ 150."),
    ({"planned": ""}, "Hãy ghi số kế hoạch bằng chữ số, ví dụ 150."),
    ({"planned": "2.5"}, "Chỉ số này đếm số người hoặc số lượt: kế hoạch phải là số nguyên."),
    ({"indicator": "I6", "planned": "170"}, "Chỉ số này là tỷ lệ phần trăm: kế hoạch tối đa"),
    ({"scope": "ward:99999"}, "99999 không phải là mã xã/phường trong danh sách."),
    ({"scope": ""}, "Hãy chọn phạm vi áp dụng kế hoạch."),
    ({"period": "2026-Q7"}, "Hãy chọn năm, quý hoặc tháng."),
    ({"indicator": "I1a"}, "không đặt kế hoạch."),
    ({"indicator": "nope"}, "Hãy chọn một chỉ số trong danh sách."),
]


def test_bad_input_is_a_sentence_and_the_form_keeps_what_was_typed(login_as, page_url, stored):
    manager = login_as("manager")  # one log-in for every case (argon2 is slow on purpose)
    for change, sentence in BAD_INPUT:
        form = {"indicator": "I1", "scope": f"ward:{WARD}", "period": "2026",
                "planned": "150", **change}
        answer = manager.post(page_url, form)
        assert answer.status_code == 400, change
        alert = answer.text.split('id="target-errors"', 1)[1].split("</div>", 1)[0]
        assert "Chưa lưu được chỉ tiêu:" in alert
        assert sentence in alert, change
        assert f'value="{form["planned"]}"' in answer.text  # kept in the form
    assert stored() == {}


def test_the_ward_picker_offers_every_scope_without_javascript(login_as, page_url):
    html = login_as("manager").get(page_url).text
    picker = html.split('id="scope-picker"', 1)[1].split("</fieldset>", 1)[0]
    values = re.findall(r'type="radio" name="scope" value="([^"]+)"', picker)
    assert values[0] == "project:"
    assert {"province:01", "province:66", "model:canh_sat", f"ward:{WARD}"} <= set(values)
    assert len([v for v in values if v.startswith("ward:")]) == 228  # every ward of wards.csv
    assert "<summary>Hà Nội (" in picker  # folds (<details>) that open without JavaScript
    assert "Phường Bồ Đề" in picker
    assert "<script" not in html.split("</main>", 1)[0]


def test_a_ward_supervisor_is_offered_only_its_ward_and_writes_only_there(
    login_as, db, project, page_url, stored
):
    with db.transaction() as session:
        targets.set_targets(session, SYSTEM, project.id, [
            row(kind="project", value="", planned=1000), row(value=OTHER_WARD, planned=80)])
    supervisor = login_as("supervisor", wards=(WARD,))
    html = supervisor.get(page_url).text
    picker = html.split('id="scope-picker"', 1)[1].split("</fieldset>", 1)[0]
    assert re.findall(r'name="scope" value="([^"]+)"', picker) == [f"ward:{WARD}"]
    assert "<details open>" in picker  # its one fold is open
    # It sees the project's target (naming no ward), not the other ward's; it cannot remove it.
    assert [c[1] for c in cells(html)] == ["Toàn dự án"]
    assert "/targets/remove" not in html
    form = {"indicator": "I1", "period": "2026", "planned": "150"}
    assert supervisor.post(page_url, {**form, "scope": f"ward:{WARD}"}).status_code == 302
    refused = supervisor.post(page_url, {**form, "scope": f"ward:{OTHER_WARD}"})
    assert refused.status_code == 403
    assert supervisor.post(page_url, {**form, "scope": "project:"}).status_code == 403
    assert len(stored()) == 3
