"""Central's exports of a form's submissions over HTTP: the ZIP of CSVs (main table, one per
repeat, media), the main CSV, the XLSX as Excel reads it, the GeoJSON; the caller's wards,
special-category answers for the roles that may read them, and the audit row of each."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, datetime
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import select

from server.models.audits import Audit
from tests.web.conftest import PNG, review_instance

FORM = "/v1/projects/{p}/forms/review"
WEB = "/projects/{p}/forms/review/submissions"


def send(collect, instance_id: str, files: dict | None = None, **answers) -> int:
    return collect.submit(review_instance(instance_id, **answers), files)[-1].status


def table(data: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def exports_of(db) -> list[Audit]:
    with db.transaction(write=False) as session:
        return list(
            session.scalars(
                select(Audit).where(Audit.action == "submission.export").order_by(Audit.id)
            )
        )


def test_the_csv_zip_has_centrals_tables_columns_keys_and_media(
    db, api_as, review_form, collect, project
):
    two = [{"ngay": "2026-11-20", "ghi_chu": "Tại nhà"}, {"ngay": "2026-11-21", "ghi_chu": "=1+1"}]
    assert send(collect, "uuid:z1", {"proof.png": PNG}, lan_gap=two) == 201
    assert send(collect, "uuid:z2", anh="", lan_gap=[]) == 201
    browser = api_as("manager")
    response = browser.get(f"{FORM.format(p=project.id)}/submissions.csv.zip")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/zip"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="review.zip"')
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert archive.namelist() == ["review.csv", "review-lan_gap.csv", "media/proof.png"]
    assert archive.read("media/proof.png") == PNG
    main = table(archive.read("review.csv"))
    header = list(main[0])
    assert header[0] == "SubmissionDate"
    assert header[-10:] == [
        "KEY", "SubmitterID", "SubmitterName", "AttachmentsPresent", "AttachmentsExpected",
        "Status", "ReviewState", "DeviceID", "Edits", "FormVersion",
    ]  # fmt: skip
    assert "vi_tri-Latitude" in header
    assert "vi_tri-Accuracy" in header
    assert "meta-instanceID" in header
    first = main[0]
    assert first["KEY"] == "uuid:z1"
    assert first["nhu_cau"] == "xn_hiv mmt"  # Central's joined answer
    assert first["vi_tri-Latitude"] == "21.0285"
    assert first["vi_tri-Longitude"] == "105.8542"
    assert first["SubmitterName"] == "TNV Lan"
    assert (first["AttachmentsPresent"], first["AttachmentsExpected"]) == ("1", "1")
    assert first["Edits"] == "0"
    assert first["FormVersion"] == "1"
    assert first["SubmissionDate"].endswith("Z")
    repeats = table(archive.read("review-lan_gap.csv"))
    assert list(repeats[0]) == ["ngay", "ghi_chu", "PARENT_KEY", "KEY"]
    assert [(r["PARENT_KEY"], r["KEY"]) for r in repeats] == [
        ("uuid:z1", "uuid:z1/lan_gap[1]"),
        ("uuid:z1", "uuid:z1/lan_gap[2]"),
    ]
    assert repeats[1]["ghi_chu"] == "'=1+1"  # no formula runs in a spreadsheet
    without = browser.get(f"{FORM.format(p=project.id)}/submissions.csv.zip?attachments=false")
    assert zipfile.ZipFile(io.BytesIO(without.data)).namelist() == [
        "review.csv",
        "review-lan_gap.csv",
    ]
    split = browser.get(
        f"{FORM.format(p=project.id)}/submissions.csv.zip?splitSelectMultiples=true"
    )
    row = table(zipfile.ZipFile(io.BytesIO(split.data)).read("review.csv"))[0]
    assert (row["nhu_cau/xn_hiv"], row["nhu_cau/mmt"]) == ("1", "1")
    audits = exports_of(db)
    assert [a.details["format"] for a in audits] == ["csv.zip"] * 3
    assert audits[0].details["specialCategory"] == "included"


def test_filters_by_date_and_review_state_as_central_takes_them(
    db, api_as, review_form, collect, project
):
    send(collect, "uuid:f1")
    send(collect, "uuid:f2")
    browser = api_as("manager")
    reviewed = browser.patch(
        f"{FORM.format(p=project.id)}/submissions/uuid:f2",
        json={"reviewState": "approved"},
    )
    assert reviewed.status_code == 200, reviewed.text
    base = f"{FORM.format(p=project.id)}/submissions.csv"
    approved = table(browser.get(f"{base}?$filter=__system/reviewState eq 'approved'").data)
    assert [r["KEY"] for r in approved] == ["uuid:f2"]
    later = table(browser.get(f"{base}?$filter=__system/submissionDate gt 2999-01-01").data)
    assert later == []
    earlier = table(browser.get(f"{base}?$filter=__system/submissionDate lt 2999-01-01").data)
    assert sorted(r["KEY"] for r in earlier) == ["uuid:f1", "uuid:f2"]
    bad = browser.get(f"{base}?$filter=__system/nothing eq 1")
    assert bad.status_code == 400
    assert str(bad.json["code"]) == "400.91"


def test_a_viewer_gets_no_special_category_answer_and_the_audit_says_so(
    db, api_as, review_form, collect, project
):
    send(collect, "uuid:s1")
    viewer = api_as("viewer")
    data = viewer.get(f"{FORM.format(p=project.id)}/submissions.csv").data
    rows = table(data)
    assert "nhu_cau" not in rows[0]
    assert "xn_hiv" not in data.decode("utf-8-sig")
    assert rows[0]["ho_ten"] == "Nguyễn Văn Bình"  # identifying, not special: kept
    supervisor = api_as("supervisor")
    assert (
        table(supervisor.get(f"{FORM.format(p=project.id)}/submissions.csv").data)[0]["nhu_cau"]
        == "xn_hiv mmt"
    )
    audits = exports_of(db)
    assert [a.details["specialCategory"] for a in audits] == ["omitted", "included"]
    assert audits[0].details["omittedFields"] == 1


def test_every_export_holds_only_the_callers_wards(db, api_as, review_form, collect, project):
    send(collect, "uuid:w1", ma_xa="00004")
    send(collect, "uuid:w2", ma_xa="00008")
    ward = api_as("supervisor", wards=("00004",))
    base = FORM.format(p=project.id)
    assert [r["KEY"] for r in table(ward.get(f"{base}/submissions.csv").data)] == ["uuid:w1"]
    archive = zipfile.ZipFile(io.BytesIO(ward.get(f"{base}/submissions.csv.zip").data))
    assert {r["PARENT_KEY"] for r in table(archive.read("review-lan_gap.csv"))} == {"uuid:w1"}
    book = load_workbook(io.BytesIO(ward.get(f"{base}/submissions.xlsx").data), read_only=True)
    keys = [row[-10] for row in book.worksheets[0].iter_rows(min_row=2, values_only=True)]
    assert keys == ["uuid:w1"]
    features = ward.get(f"{base}/submissions.geojson").json["features"]
    assert [f["id"] for f in features] == ["uuid:w1"]


def test_the_xlsx_reads_in_excel_with_labels_split_choices_and_real_dates(
    api_as, review_form, collect, project
):
    send(collect, "uuid:x1", nhu_cau="mmt")
    browser = api_as("manager")
    response = browser.get(f"{FORM.format(p=project.id)}/submissions.xlsx")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    book = load_workbook(io.BytesIO(response.data))  # as Excel opens it
    assert book.sheetnames == ["review", "review-lan_gap"]
    main = book["review"]
    header = [c.value for c in main[1]]
    row = dict(zip(header, [c.value for c in main[2]], strict=True))
    assert row["Gặp được?"] == "Có"  # a label, not the code
    assert row["Nhu cầu"] == "Điều trị methadone"
    assert row["Nhu cầu: Xét nghiệm HIV"] == 0
    assert row["Nhu cầu: Điều trị methadone"] == 1
    assert row["Vị trí (vĩ độ)"] == 21.0285
    assert isinstance(row["Ngày gửi"], datetime)
    assert main.cell(2, header.index("Ngày gửi") + 1).number_format == "dd/mm/yyyy hh:mm"
    contacts = book["review-lan_gap"]
    sub_header = [c.value for c in contacts[1]]
    cell = contacts.cell(2, sub_header.index("Ngày") + 1)
    assert cell.value.date() == date(2026, 11, 20)
    assert cell.number_format == "dd/mm/yyyy"
    codes = load_workbook(
        io.BytesIO(browser.get(f"{FORM.format(p=project.id)}/submissions.xlsx?labels=codes").data)
    )
    code_header = [c.value for c in codes["review"][1]]
    assert "nhu_cau/mmt" in code_header
    assert "gap" in code_header
    code_row = dict(zip(code_header, [c.value for c in codes["review"][2]], strict=True))
    assert code_row["gap"] == "co"
    assert code_row["nhu_cau/mmt"] == 1


def test_the_geojson_is_centrals_feature_collection(api_as, review_form, collect, project):
    send(collect, "uuid:g1")
    send(collect, "uuid:g2", vi_tri="not a point")
    response = api_as("manager").get(f"{FORM.format(p=project.id)}/submissions.geojson")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/geo+json"
    assert response.json == {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": "uuid:g1",
                "geometry": {"type": "Point", "coordinates": [105.8542, 21.0285, 12.0]},
                "properties": {"fieldpath": "/vi_tri"},
            }
        ],
    }


def test_a_head_request_leaves_no_export_behind_and_a_bad_limit_is_refused(
    api_as, review_form, collect, project, settings
):
    """HEAD reads no body: the XLSX written for it must not stay in the spool folder (the
    answers of every submission, in clear); a limit that is not a plain number is a 400."""
    send(collect, "uuid:h1")
    manager = api_as("manager")
    spool = Path(settings.spool_path)
    before = set(spool.rglob("*")) if spool.exists() else set()
    head = manager.client.head(
        f"{FORM.format(p=project.id)}/submissions.xlsx",
        headers={"Authorization": f"Bearer {manager.token}"},
    )
    assert head.status_code == 200
    head.close()
    after = set(spool.rglob("*")) if spool.exists() else set()
    assert {f for f in after - before if f.is_file()} == set()
    refused = manager.get(f"{FORM.format(p=project.id)}/submissions.geojson?limit=²")
    assert refused.status_code == 400
