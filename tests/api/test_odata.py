"""The OData feed as ODK Central serves it, read with pyodk's ``get_table`` and as Excel or
Power BI read it ($metadata first): the Submissions table and a repeat's table, $top, $skip,
$count, $filter on __system fields, $select, $wkt; only the caller's wards; each read audited."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import select

from server.auth.permissions import SYSTEM
from server.models.audits import Audit
from server.services import review
from tests.support.central_client import central_client
from tests.web.conftest import PNG, review_form, review_instance  # noqa: F401  (fixture)

A1 = "uuid:0dd1e0a1-1c1f-4f5a-9c3e-0a0b0c0d0e01"
A2 = "uuid:0dd1e0a1-1c1f-4f5a-9c3e-0a0b0c0d0e02"
A3 = "uuid:0dd1e0a1-1c1f-4f5a-9c3e-0a0b0c0d0e03"
EDM = "{http://docs.oasis-open.org/odata/ns/edm}"


@pytest.fixture
def sent(collect, review_form, db, project):  # noqa: F811
    """Three visits: two in ward 00004 (one with two contacts), one in 00008 (approved)."""
    contacts = [{"ngay": "2026-11-20", "ghi_chu": "Tại nhà"}, {"ngay": "2026-11-21", "ghi_chu": ""}]
    assert (
        collect.submit(review_instance(A1, lan_gap=contacts), {"proof.png": PNG})[-1].status == 201
    )
    assert collect.submit(review_instance(A2, ma_xa="00008", gap="khong"))[-1].status == 201
    assert collect.submit(review_instance(A3, nhu_cau="mmt"))[-1].status == 201
    with db.transaction() as session:
        review.set_review_state(session, SYSTEM, project.id, "review", A2, "approved", [])


@pytest.fixture
def analyst(live_server, make_user, project, tmp_path: Path):
    make_user("phan.tich@example.org", role="viewer", project_id=project.id)
    with central_client(live_server, "phan.tich@example.org", tmp_path, project.id) as client:
        yield client


def test_get_table_reads_typed_rows_with_centrals_system_fields(analyst, sent, app_user):
    table = analyst.submissions.get_table(form_id="review", count=True)
    assert table["@odata.count"] == 3
    rows = {r["__id"]: r for r in table["value"]}
    assert list(rows) == [A3, A2, A1]  # newest first
    first = rows[A1]
    assert (first["ma_xa"], first["gap"], first["nhu_cau"]) == ("00004", "co", "xn_hiv mmt")
    assert first["vi_tri"] == {
        "type": "Point",
        "coordinates": [105.8542, 21.0285, 12.0],
        "properties": {"accuracy": 5.0},
    }
    assert first["anh"] == "proof.png"
    assert first["meta"] == {"instanceID": A1}
    assert (
        first["lan_gap@odata.navigationLink"] == f"Submissions('{A1.replace(':', '%3A')}')/lan_gap"
    )
    system = first["__system"]
    assert system["submitterId"] == str(app_user.actor_id)
    assert (system["attachmentsPresent"], system["attachmentsExpected"]) == (1, 1)
    assert (system["edits"], system["formVersion"], system["status"]) == (0, "1", None)
    assert system["submissionDate"].endswith("Z")
    assert rows[A2]["__system"]["reviewState"] == "approved"
    assert rows[A2]["__system"]["attachmentsExpected"] == 1  # named, never sent
    assert rows[A2]["__system"]["attachmentsPresent"] == 0


def test_a_repeat_is_its_own_table_linked_to_its_submission(analyst, sent):
    table = analyst.submissions.get_table(form_id="review", table_name="Submissions.lan_gap")
    rows = table["value"]
    mine = [r for r in rows if r["__Submissions-id"] == A1]
    assert [(r["ngay"], r["ghi_chu"]) for r in mine] == [
        ("2026-11-20", "Tại nhà"),
        ("2026-11-21", None),
    ]
    assert len({r["__id"] for r in rows}) == len(rows)  # each row its own stable id
    again = analyst.submissions.get_table(form_id="review", table_name="Submissions.lan_gap")
    assert [r["__id"] for r in again["value"]] == [r["__id"] for r in rows]


def test_top_skip_filter_select_and_wkt(analyst, sent):
    page = analyst.submissions.get_table(form_id="review", top=2, count=True)
    assert [r["__id"] for r in page["value"]] == [A3, A2]
    assert "%24skip=2" in page["@odata.nextLink"]
    rest = analyst.submissions.get_table(form_id="review", top=2, skip=2)
    assert [r["__id"] for r in rest["value"]] == [A1]
    assert "@odata.nextLink" not in rest
    approved = analyst.submissions.get_table(
        form_id="review", filter="__system/reviewState eq 'approved'"
    )
    assert [r["__id"] for r in approved["value"]] == [A2]
    recent = analyst.submissions.get_table(
        form_id="review",
        filter="__system/submissionDate gt 2020-01-01T00:00:00Z and not (__system/reviewState eq 'approved')",
    )
    assert [r["__id"] for r in recent["value"]] == [A3, A1]
    unreviewed = analyst.submissions.get_table(
        form_id="review", filter="__system/reviewState eq null"
    )
    assert len(unreviewed["value"]) == 2
    narrow = analyst.submissions.get_table(form_id="review", select="ma_xa,gap", top=1)
    assert narrow["value"] == [{"__id": A3, "ma_xa": "00004", "gap": "co"}]
    wkt = analyst.submissions.get_table(form_id="review", wkt=True, top=1)
    assert wkt["value"][0]["vi_tri"] == "POINT (105.8542 21.0285 12.0)"


def test_select_reaches_into_groups_and_system_fields_as_in_central(analyst, sent):
    picked = analyst.submissions.get_table(
        form_id="review", select="meta/instanceID,__system/reviewState,gap", top=1
    )
    assert picked["value"] == [
        {"__id": A3, "meta": {"instanceID": A3}, "__system": {"reviewState": None}, "gap": "co"}
    ]


def test_filter_on_id_and_with_centrals_date_functions(analyst, sent):
    def ids(text: str) -> list[str]:
        return [r["__id"] for r in analyst.submissions.get_table(form_id="review", filter=text)["value"]]

    assert ids(f"__id eq '{A2}'") == [A2]
    assert ids(f"$root/Submissions/__id ne '{A2}'") == [A3, A1]
    year = datetime.now(UTC).year  # the rows were sent during this test
    assert ids(f"year(__system/submissionDate) eq {year}") == [A3, A2, A1]
    assert ids(f"year(__system/submissionDate) lt {year}") == []
    assert ids("month(__system/submissionDate) ge 1 and day(__system/submissionDate) le 31") == [
        A3,
        A2,
        A1,
    ]
    assert ids("__system/submissionDate le now()") == [A3, A2, A1]
    assert ids("__system/submissionDate gt now()") == []
    for text in ("hour(__system/submissionDate) ge 0", "minute(__system/submissionDate) lt 60"):
        assert len(ids(text)) == 3, text


def test_expand_puts_each_repeat_inline_as_pyodks_repeats_recipe_reads_it(analyst, sent):
    table = analyst.submissions.get_table(form_id="review", expand="*", filter=f"__id eq '{A1}'")
    [row] = table["value"]
    assert [c["ngay"] for c in row["lan_gap"]] == ["2026-11-20", "2026-11-21"]
    assert row["lan_gap@odata.navigationLink"].endswith("/lan_gap")
    assert all("__Submissions-id" not in c and c["__id"] for c in row["lan_gap"])
    plain = analyst.submissions.get_table(form_id="review", filter=f"__id eq '{A1}'")
    assert "lan_gap" not in plain["value"][0]


def test_orderby_as_central_takes_it(analyst, sent, project):
    base = f"projects/{project.id}/forms/review.svc/Submissions"
    got = analyst.get(base, params={"$orderby": "__id desc", "$top": "2"}).json()
    assert [r["__id"] for r in got["value"]] == [A3, A2]
    assert "orderby" in got["@odata.nextLink"]
    ascending = analyst.get(
        base, params={"$orderby": "$root/Submissions/__system/reviewState asc,__id"}
    ).json()
    assert [r["__id"] for r in ascending["value"]] == [A1, A3, A2]  # nulls first, then by id


def test_queries_it_cannot_read_are_clean_400s(analyst, sent, project):
    base = f"projects/{project.id}/forms/review.svc/Submissions"
    for params in (
        {"$filter": "ma_xa eq '00004'"},  # answers are not filterable here
        {"$filter": "__system/reviewState eq"},
        {"$filter": "(__system/reviewState eq 'approved'"},
        {"$filter": "__system/submissionDate gt 'yesterday'"},
        {"$top": "-1"},
        {"$top": "many"},
        {"$select": "no_such_field"},
        {"$filter": "year(__system/reviewState) eq 2026"},
        {"$filter": "__system/reviewState eq now()"},
        {"$filter": "year() eq 2026"},
        {"$orderby": "ma_xa"},
        {"$orderby": "__id sideways"},
        {"$select": "meta/no_such_field"},
        {"$select": "__system/no_such_field"},
        {"$expand": "lan_gap"},  # only '*', as in Central
    ):
        response = analyst.get(base, params=params)
        assert response.status_code == 400, params
        assert response.json()["code"] == 400.91, params
    assert analyst.get(f"projects/{project.id}/forms/review.svc/Nope").status_code == 404


DEEP_FILTER = "(" * 500 + "__system/updatedAt eq null" + ")" * 500


def test_a_filter_nested_500_deep_is_a_clean_400_on_the_submissions_feed(analyst, sent, project):
    response = analyst.get(
        f"projects/{project.id}/forms/review.svc/Submissions", params={"$filter": DEEP_FILTER}
    )
    assert response.status_code == 400
    problem = response.json()
    assert problem["code"] == 400.91
    assert "32 deep" in problem["message"]


def test_metadata_and_service_document_describe_the_tables(analyst, sent, project):
    service = analyst.get(f"projects/{project.id}/forms/review.svc").json()
    assert [s["name"] for s in service["value"]] == ["Submissions", "Submissions.lan_gap"]
    response = analyst.get(f"projects/{project.id}/forms/review.svc/$metadata")
    assert response.headers["Content-Type"].startswith("application/xml")
    edmx = etree.fromstring(response.content)
    sets = [e.get("Name") for e in edmx.iter(f"{EDM}EntitySet")]
    assert sets == ["Submissions", "Submissions.lan_gap"]
    submissions = next(e for e in edmx.iter(f"{EDM}EntityType") if e.get("Name") == "Submissions")
    types = {p.get("Name"): p.get("Type") for p in submissions.iter(f"{EDM}Property")}
    assert types["vi_tri"] == "Edm.GeographyPoint"
    assert types["__system"] == "org.opendatakit.submission.metadata"
    navigation = [n.get("Name") for n in submissions.iter(f"{EDM}NavigationProperty")]
    assert navigation == ["lan_gap"]


def test_a_ward_supervisor_reads_only_its_ward_and_every_read_is_audited(
    live_server, make_user, project, sent, tmp_path, db
):
    make_user("phuong7@example.org", role="supervisor", project_id=project.id, wards=("00008",))
    with central_client(live_server, "phuong7@example.org", tmp_path, project.id) as ward:
        table = ward.submissions.get_table(form_id="review", count=True)
        assert [r["__id"] for r in table["value"]] == [A2]
        assert table["@odata.count"] == 1
        repeat = ward.submissions.get_table(form_id="review", table_name="Submissions.lan_gap")
        assert {r["__Submissions-id"] for r in repeat["value"]} <= {A2}
    with db.transaction(write=False) as session:
        reads = session.scalars(
            select(Audit.details).where(Audit.action == "submission.export")
        ).all()
    assert [(d["odata"], d["submissions"]) for d in reads] == [
        ("Submissions", 1),  # the submissions whose answers the read reached
        ("Submissions.lan_gap", 1),
    ]


# --- entity lists ---------------------------------------------------------------------------


@pytest.fixture
def manager(live_server, make_user, project, tmp_path: Path):
    make_user("quan.ly@example.org", role="manager", project_id=project.id)
    with central_client(live_server, "quan.ly@example.org", tmp_path, project.id) as client:
        yield client


FACILITIES = [
    {"label": "Phòng khám VCT Long Biên", "loai": "VCT", "ma_xa": "00145"},
    {"label": "Cơ sở methadone Bồ Đề", "loai": "MMT", "ma_xa": "00118"},
]


def test_pyodk_merges_a_facility_list_through_the_entity_table(manager, db):
    manager.entity_lists.create(entity_list_name="facilities")
    first = manager.entities.merge(FACILITIES, entity_list_name="facilities")
    assert len(first.to_insert) == 2
    moved = [
        {**FACILITIES[0], "ma_xa": "00150"},
        FACILITIES[1],
        {"label": "PrEP Gia Lâm", "loai": "PrEP", "ma_xa": "00160"},
    ]
    second = manager.entities.merge(moved, entity_list_name="facilities", delete_not_matched=True)
    assert (len(second.to_insert), len(second.to_delete)) == (1, 0)
    table = manager.entities.get_table(entity_list_name="facilities", count=True)
    rows = {r["label"]: r for r in table["value"]}
    assert table["@odata.count"] == 3
    assert rows["Phòng khám VCT Long Biên"]["ma_xa"] == "00150"
    assert rows["Phòng khám VCT Long Biên"]["__system"]["version"] == 2
    assert rows["PrEP Gia Lâm"]["__system"]["version"] == 1
    changed = manager.entities.get_table(
        entity_list_name="facilities", filter="__system/version gt 1", select="label"
    )
    assert [r["label"] for r in changed["value"]] == ["Phòng khám VCT Long Biên"]
    assert set(changed["value"][0]) == {"__id", "label"}
    page = manager.entities.get_table(entity_list_name="facilities", top=2)
    assert len(page["value"]) == 2
    assert "%24skip=2" in page["@odata.nextLink"]
    with db.transaction(write=False) as session:
        exports = session.scalars(
            select(Audit.details).where(Audit.action == "entity.export")
        ).all()
    assert len(exports) >= 5  # every read of the table, merges included


def test_the_entity_feed_keeps_to_the_callers_wards(
    live_server, make_user, project, manager, tmp_path
):
    manager.entity_lists.create(entity_list_name="clients")
    manager.post(f"projects/{project.id}/datasets/clients/properties", json={"name": "ma_xa"})
    manager.entities.create_many(
        [{"label": "LAHU1150390", "ma_xa": "00118"}, {"label": "NGTH2040188", "ma_xa": "00004"}],
        entity_list_name="clients",
    )
    make_user("phuong4@example.org", role="supervisor", project_id=project.id, wards=("00004",))
    with central_client(live_server, "phuong4@example.org", tmp_path, project.id) as ward:
        table = ward.entities.get_table(entity_list_name="clients", count=True)
        base = f"projects/{project.id}/datasets/clients.svc"
        metadata = ward.get(f"{base}/$metadata")
        refused = ward.get(f"{base}/Entities", params={"$filter": "label eq 'x'"})
    assert [r["label"] for r in table["value"]] == ["NGTH2040188"]
    assert table["@odata.count"] == 1
    names = [p.get("Name") for p in etree.fromstring(metadata.content).iter(f"{EDM}Property")]
    assert {"__id", "label", "ma_xa", "__system"} <= set(names)
    assert refused.status_code == 400


def test_a_filter_nested_500_deep_is_a_clean_400_on_the_entity_feed(manager, project):
    manager.entity_lists.create(entity_list_name="facilities")
    response = manager.get(
        f"projects/{project.id}/datasets/facilities.svc/Entities",
        params={"$filter": DEEP_FILTER},
    )
    assert response.status_code == 400
    problem = response.json()
    assert problem["code"] == 400.91
    assert "32 deep" in problem["message"]


def test_pyodk_reads_and_changes_entities_one_by_one(manager):
    manager.entity_lists.create(entity_list_name="facilities")
    manager.entity_lists.add_property(name="loai", entity_list_name="facilities")
    [listed] = manager.entity_lists.list()
    assert (listed.name, listed.approvalRequired) == ("facilities", False)
    got = manager.entity_lists.get(entity_list_name="facilities")
    assert [p.name for p in got.properties] == ["loai"]
    made = manager.entities.create(
        label="VCT Long Biên", data={"loai": "VCT"}, entity_list_name="facilities"
    )
    assert made.currentVersion.version == 1
    [entity] = manager.entities.list(entity_list_name="facilities")
    assert entity.uuid == made.uuid
    changed = manager.entities.update(
        uuid=made.uuid,
        label="VCT Long Biên (mới)",
        data={"loai": "VCT"},
        entity_list_name="facilities",
        base_version=1,
    )
    assert (changed.currentVersion.version, changed.currentVersion.label) == (
        2,
        "VCT Long Biên (mới)",
    )
    assert manager.entities.delete(uuid=made.uuid, entity_list_name="facilities") is True
    assert manager.entities.list(entity_list_name="facilities") == []
