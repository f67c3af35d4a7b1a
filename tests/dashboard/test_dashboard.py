"""The indicators page, its drill-down and the XLSX report, on a month sent through the real
OpenRosa endpoint with the real forms (conftest.py): the page says what indicators.report()
says, in Vietnamese numbers; a viewer sees "< 5" where a supervisor sees the number; a ward
supervisor sees and may ask for its own wards only; the workbook holds the same numbers."""

from __future__ import annotations

import io
from urllib.parse import urlencode

import lxml.html
import openpyxl
import pytest
from sqlalchemy import select

from server.models.audits import Audit
from server.services import indicators
from server.services.indicator_words import number
from server.services.targets import Scope
from tests.dashboard.conftest import BADINH, BODE, FIRST, LAST, MONTH, PASSWORD

pytestmark = pytest.mark.usefixtures("month")
VALUE, TARGET, PERCENT = ".//*[@data-value]", ".//*[@data-target]", ".//*[@data-percent]"


def page_url(month, **extra) -> str:
    return f"/projects/{month.project_id}/indicators?{urlencode({**MONTH, **extra})}"


def report(month, who: str, scope: Scope | None = None) -> dict:
    with month.app.extensions["donghanh"].db.transaction(write=False) as session:
        return indicators.report(
            session, month.principal(who), month.project_id, FIRST, LAST, scope or Scope()
        )


def cards(html: str) -> dict[str, lxml.html.HtmlElement]:
    return {li.get("data-code"): li for li in lxml.html.fromstring(html).xpath("//li[@data-code]")}


def text_of(card, selector: str) -> str | None:
    found = card.xpath(selector)
    return found[0].text_content().strip() if found else None


def breakdown(card, dimension: str) -> dict[str, str]:
    [table] = card.xpath(f".//table[@data-dimension='{dimension}']")
    return {
        row.xpath("th")[0].text_content().strip(): row.xpath("td")[0].text_content().strip()
        for row in table.xpath("tbody/tr")
    }


def test_the_page_shows_the_reports_numbers_for_a_supervisor(month):
    page = month.browser("supervisor").get(page_url(month))
    assert page.status_code == 200
    shown = cards(page.text)
    expected = report(month, "supervisor")
    assert expected["indicators"], "the engine answered no indicator"
    checked = 0
    for item in expected["indicators"]:
        if item["code"] not in shown:  # a service with no referral: named in one line
            assert item["value"] in (None, 0)
            assert ":" in item["code"]
            continue
        card = shown[item["code"]]
        assert text_of(card, VALUE) == number(item["value"], "vi", item["unit"])
        if item["target"] is not None:
            assert text_of(card, TARGET) == number(item["target"], "vi", item["unit"])
        if item["percent"] is not None and item["target"] is not None:  # a rate is its value
            assert text_of(card, PERCENT) == number(item["percent"], "vi", "percent")
        checked += 1
    assert checked > 20
    i1 = shown["I1"]
    assert text_of(i1, VALUE) == "9"  # nine people in two wards
    assert text_of(i1, TARGET) == "8"  # November's plan
    assert text_of(i1, PERCENT) == "112,5 %"
    assert i1.xpath(".//svg[@class='tbar']")
    [chart] = i1.xpath(".//svg[@class='trend']")  # the 12 months ending with November
    assert len(chart.xpath(".//rect[contains(@class, 'col')]")) == 12
    assert breakdown(i1, "sex") == {"Nam": "7", "Nữ": "2"}
    groups = breakdown(i1, "group")
    assert groups["Người sử dụng ma túy"] == "6"  # labels, never codes
    assert "sd_mt" not in groups
    assert "Số liệu tính đến " in page.text


def test_a_viewer_sees_small_cells_as_less_than_five(month):
    viewer = cards(month.browser("viewer").get(page_url(month)).text)["I1"]
    supervisor = cards(month.browser("supervisor").get(page_url(month)).text)["I1"]
    # 9 people, 7 men: showing the 7 beside the total would give the 2 women away, so the
    # other cells of a breakdown with a hidden cell are withheld too
    assert text_of(viewer, VALUE) == "9"
    assert breakdown(viewer, "sex") == {"Nam": "—", "Nữ": "< 5"}
    assert breakdown(supervisor, "sex") == {"Nam": "7", "Nữ": "2"}
    assert not viewer.xpath(".//a[contains(@href, '/records')]")  # no list behind any number
    assert supervisor.xpath(".//a[contains(@href, '/records')]")
    hiv = "I4:xn_hiv"  # four people referred to HIV testing: a count below five
    assert text_of(cards(month.browser("supervisor").get(page_url(month)).text)[hiv],
                   VALUE) == "4"
    shown = cards(month.browser("viewer").get(page_url(month)).text)[hiv]
    assert text_of(shown, VALUE) == "< 5"
    assert not shown.xpath(".//*[@data-value]//a")
    refused = month.browser("viewer").get(
        f"/projects/{month.project_id}/indicators/{hiv}/records?{urlencode(MONTH)}"
    )
    assert refused.status_code == 403  # the list would give the number away


def test_a_ward_supervisor_is_offered_and_shown_its_wards_only(month):
    browser = month.browser("ward_supervisor")
    page = browser.get(page_url(month))
    doc = lxml.html.fromstring(page.text)
    offered = [o.get("value") for o in doc.xpath("//select[@id='ward']//option") if o.get("value")]
    assert offered == [BODE]
    assert text_of(cards(page.text)["I1"], VALUE) == "6"
    refused = browser.get(page_url(month, ward=BADINH))
    assert refused.status_code == 403
    own = cards(browser.get(page_url(month, ward=BODE)).text)["I1"]
    assert text_of(own, VALUE) == "6"


def test_the_drill_down_lists_the_callers_wards_records_with_links(month):
    browser = month.browser("ward_supervisor")
    page = browser.get(
        f"/projects/{month.project_id}/indicators/I1/records?{urlencode(MONTH)}"
    )
    assert page.status_code == 200
    doc = lxml.html.fromstring(page.text)
    rows = doc.xpath("//ul[@id='records']/li")
    assert len(rows) >= 6
    assert all("Phường Ba Đình" not in r.text_content() for r in rows)
    links = [r.xpath(".//a")[0].get("href") for r in rows]
    assert all(link.startswith(f"/projects/{month.project_id}/") for link in links)
    assert browser.get(links[0]).status_code == 200
    whole = month.browser("supervisor").get(
        f"/projects/{month.project_id}/indicators/I1/records?{urlencode(MONTH)}"
    )
    assert len(lxml.html.fromstring(whole.text).xpath("//ul[@id='records']/li")) > len(rows)
    with month.app.extensions["donghanh"].db.transaction(write=False) as session:
        looks = session.scalars(
            select(Audit.details).where(Audit.action == "indicator.records.read")
        ).all()
    assert {"code": "I1", "from": "2026-11-01", "to": "2026-11-30", "count": len(rows)} in looks


def test_each_number_links_to_its_records(month):
    page = month.browser("supervisor").get(page_url(month))
    i1 = cards(page.text)["I1"]
    [link] = i1.xpath(".//*[@data-value]//a")
    href = link.get("href")
    assert "/indicators/I1/records?" in href
    assert "from=2026-11-01" in href
    [female] = [a.get("href") for a in i1.xpath(".//table[@data-dimension]//a")
                if "cell=sex%3A2" in a.get("href")]
    listed = month.browser("supervisor").get(female)
    assert listed.status_code == 200
    assert len(lxml.html.fromstring(listed.text).xpath("//ul[@id='records']/li")) == 2


def test_a_year_target_is_named_as_such(month):
    page = month.browser("supervisor").get(
        f"/projects/{month.project_id}/indicators?period=range&from=2026-01-01&to=2026-11-30"
    )
    i1 = cards(page.text)["I1"]
    assert text_of(i1, TARGET) == "150"
    assert "kế hoạch năm" in i1.text_content()
    [chart] = i1.xpath(".//svg[@class='trend']")
    assert len(chart.xpath(".//rect[contains(@class, 'col')]")) == 12  # Dec 2025 - Nov 2026
    months = dict(zip(
        [th.text_content() for th in i1.xpath(".//table[@class='trend-table']/tbody/tr/th")],
        [td.text_content() for td in i1.xpath(".//table[@class='trend-table']/tbody/tr/td")], strict=True,
    ))
    assert months["11/2026"] == "9"
    assert months["10/2026"] == "0"


def test_the_workbook_holds_the_json_numbers_one_sheet_per_model(month):
    browser = month.browser("supervisor")
    response = browser.get(f"/projects/{month.project_id}/indicators.xlsx?{urlencode(MONTH)}")
    assert response.status_code == 200
    assert "chi-tieu_" in response.headers["Content-Disposition"]
    assert "_2026-11-01_2026-11-30.xlsx" in response.headers["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    assert book.sheetnames[:2] == ["Bìa", "Tổng hợp"]
    assert len(book.sheetnames) == 2 + 7  # cover, total, the seven models of mo_hinh
    assert "CLB B93" in book.sheetnames
    total = rows_by_code(book["Tổng hợp"])
    for item in report(month, "supervisor")["indicators"]:
        row = total[item["code"]]
        wanted = expected_cell(item["value"], item["unit"])
        if isinstance(wanted, float):
            wanted = pytest.approx(wanted)
        assert row["result"] == wanted, item["code"]
        assert row["target"] == expected_cell(item["target"], item["unit"]), item["code"]
        if item["target"] is None:  # a rate is its value: no achievement without a plan
            assert row["percent"] is None, item["code"]
    assert total["I1"]["result"] == 9
    assert total["I1"]["target"] == 8
    assert total["I1"]["percent"] == pytest.approx(1.125)
    police = rows_by_code(book["Mô hình cảnh sát chuyển gửi"])
    assert police["I1"]["result"] == 3
    with month.app.extensions["donghanh"].db.transaction(write=False) as session:
        actions = session.scalars(select(Audit.action)).all()
    assert "indicator.export" in actions


def test_the_viewers_workbook_says_less_than_five(month):
    book = openpyxl.load_workbook(io.BytesIO(month.browser("viewer").get(
        f"/projects/{month.project_id}/indicators.xlsx?{urlencode(MONTH)}&model=tiep_can"
    ).data))
    assert len(book.sheetnames) == 2  # the cover and the one model asked for
    rows = rows_by_code(book[book.sheetnames[1]])
    assert rows["I4:xn_hiv"]["result"] == "< 5"
    assert rows["I1"]["result"] == 6


def rows_by_code(sheet) -> dict[str, dict]:
    header = [c.value for c in sheet[4]]
    assert header[:7] == ["STT", "Mã", "Chỉ tiêu", "Đơn vị", "Kế hoạch", "Thực hiện",
                          "Tỷ lệ % đạt"]
    found = {}
    for row in sheet.iter_rows(min_row=5, values_only=True):
        if row[1]:
            found[row[1]] = {"target": row[4], "result": row[5], "percent": row[6]}
    return found


def expected_cell(value, unit):
    if value is None:
        return None
    if value == "<5":
        return "< 5"
    return value / 100 if unit == "percent" else value


def test_the_api_workbook_answers_for_indicator_read_only(month):
    client = month.app.test_client()
    url = f"/v1/projects/{month.project_id}/indicators.xlsx?from=2026-11-01&to=2026-11-30"
    tokens = {
        who: client.post(
            "/v1/sessions", json={"email": month.emails[who], "password": PASSWORD}
        ).get_json()["token"]
        for who in ("supervisor", "viewer", "collector")
    }
    for who, status in (("supervisor", 200), ("viewer", 200), ("collector", 403)):
        response = client.get(url, headers={"Authorization": f"Bearer {tokens[who]}"})
        assert response.status_code == status, who
        if status == 200:
            book = openpyxl.load_workbook(io.BytesIO(response.data))
            assert rows_by_code(book["Tổng hợp"])["I1"]["result"] == 9
        else:
            assert response.get_json()["code"] == 403.1
    assert client.get(url).status_code == 401
    bad = client.get(url.replace("2026-11-30", "not-a-date"),
                     headers={"Authorization": f"Bearer {tokens['supervisor']}"})
    assert bad.status_code == 400
    assert str(bad.get_json()["code"]).startswith("400.")


def test_the_page_in_english_has_english_labels_and_numbers(month):
    browser = month.browser("supervisor")
    browser.client.set_cookie("dh_lang", "en")
    page = browser.get(page_url(month))
    i1 = cards(page.text)["I1"]
    assert text_of(i1, PERCENT) == "112.5 %"
    assert breakdown(i1, "sex") == {"Male": "7", "Female": "2"}
    assert "Person who uses drugs" in breakdown(i1, "group")
    assert "Data as of " in page.text
    sheet = openpyxl.load_workbook(io.BytesIO(browser.get(
        f"/projects/{month.project_id}/indicators.xlsx?{urlencode(MONTH)}"
    ).data))["Total"]
    assert [c.value for c in sheet[4]][4:7] == ["Target", "Result", "% achieved"]


def test_a_bad_period_is_a_sentence_not_a_crash(month):
    page = month.browser("supervisor").get(
        f"/projects/{month.project_id}/indicators?period=quarter&quarter=2026-Q7"
    )
    assert page.status_code == 400
    assert "YYYY-Qn" in page.text


def test_the_project_page_links_to_the_indicators_for_those_who_read_them(month):
    project = f"/projects/{month.project_id}"
    assert 'id="indicators-link"' in month.browser("viewer").get(project).text
    collector = month.browser("collector")
    assert 'id="indicators-link"' not in collector.get(project).text
    assert collector.get(f"{project}/indicators").status_code == 403
