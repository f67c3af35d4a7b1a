"""forms/odata.py alone: table names and parent keys for repeats inside groups and repeats,
typed rows, the EDMX document, and the $filter reader."""

from __future__ import annotations

import pytest
from lxml import etree

import forms
from forms import odata

FORM = """
| survey |              |          |          |
|        | type         | name     | label    |
|        | begin_group  | ho-gd    | Hộ       |
|        | integer      | so.nguoi | Số người |
|        | begin_repeat | thanh_vien | Thành viên |
|        | text         | ten      | Tên      |
|        | begin_repeat | lan_kham | Lần khám |
|        | decimal      | can_nang | Cân nặng |
|        | end_repeat   |          |          |
|        | end_repeat   |          |          |
|        | end_group    |          |          |
| settings |            |          |          |
|        | form_id      | version  |          |
|        | ho_gia_dinh  | 3        |          |
"""
INSTANCE = b"""<data id="ho_gia_dinh" version="3"><ho-gd><so.nguoi>2</so.nguoi>
<thanh_vien><ten>Lan</ten><lan_kham><can_nang>48.5</can_nang></lan_kham>
<lan_kham><can_nang>x</can_nang></lan_kham></thanh_vien>
<thanh_vien><ten>Minh</ten></thanh_vien></ho-gd>
<meta><instanceID>uuid:h1</instanceID></meta></data>"""


FIELDS = ("submissionDate", "updatedAt", "submitterId", "reviewState", "deviceId")


@pytest.fixture(scope="module")
def schema() -> forms.FormSchema:
    xml = forms.compile_xlsform(FORM.encode(), filename="x.md", validate=False).xform
    return forms.read_xform(xml)


def test_tables_are_named_by_the_repeat_path_with_their_parents(schema):
    assert [(t.name, t.parent) for t in odata.tables(schema)] == [
        ("Submissions", None),
        ("Submissions.ho_gd.thanh_vien", "Submissions"),
        ("Submissions.ho_gd.thanh_vien.lan_kham", "Submissions.ho_gd.thanh_vien"),
    ]


def test_one_submission_gives_rows_in_every_table(schema):
    tables = odata.explode(schema, etree.fromstring(INSTANCE), "uuid:h1")
    [row] = tables["Submissions"]
    assert row["ho_gd"]["so_nguoi"] == 2  # names made valid, numbers typed
    assert row["ho_gd"]["thanh_vien@odata.navigationLink"] == "Submissions('uuid%3Ah1')/thanh_vien"
    members = tables["Submissions.ho_gd.thanh_vien"]
    assert [(m["ten"], m["__Submissions-id"]) for m in members] == [
        ("Lan", "uuid:h1"),
        ("Minh", "uuid:h1"),
    ]
    visits = tables["Submissions.ho_gd.thanh_vien.lan_kham"]
    assert [v["can_nang"] for v in visits] == [48.5, "x"]  # text that is not a number stays text
    assert {v["__Submissions.ho_gd.thanh_vien-id"] for v in visits} == {members[0]["__id"]}


def test_metadata_names_each_set_and_types_the_properties(schema):
    edm = "{http://docs.oasis-open.org/odata/ns/edm}"
    root = etree.fromstring(odata.metadata(schema))
    assert [s.get("Name") for s in root.iter(f"{edm}EntitySet")] == [
        t.name for t in odata.tables(schema)
    ]
    group = next(c for c in root.iter(f"{edm}ComplexType") if c.get("Name") == "Submissions_ho_gd")
    assert {p.get("Name"): p.get("Type") for p in group.iter(f"{edm}Property")} == {
        "so_nguoi": "Edm.Int64"
    }


def test_filters_are_read_into_a_tree_with_the_field_on_the_left():
    tree = odata.parse_filter(
        "2026-01-01 le __system/submissionDate and (__system/reviewState eq 'hasIssues' "
        "or not $root/Submissions/__system/submitterId eq 5)",
        FIELDS,
    )
    assert tree[0] == "and"
    assert tree[1] == ("cmp", "ge", "submissionDate", odata.Literal("date", "2026-01-01"))
    assert tree[2][0] == "or"
    assert tree[2][2] == (
        "not",
        ("cmp", "eq", "submitterId", odata.Literal("number", "5")),
    )


@pytest.mark.parametrize(
    "text",
    [
        "ho_gd/so_nguoi eq 2",
        "__system/reviewState eq",
        "__system/reviewState like 'x'",
        "'a' eq 'b'",
        "(__system/reviewState eq 'approved'",
        "__system/reviewState eq 'approved' extra",
        "__system/reviewState eq 'approved' ;drop",
    ],
)
def test_filters_it_cannot_read_are_refused(text):
    with pytest.raises(odata.FilterError):
        odata.parse_filter(text, FIELDS)


@pytest.mark.parametrize(
    "text",
    [
        "(" * 500 + "__system/reviewState eq 'x'" + ")" * 500,
        "not " * 500 + "__system/reviewState eq 'x'",
        " or ".join(["__system/reviewState eq 'x'"] * 3000),
    ],
    ids=["parentheses", "nots", "comparisons"],
)
def test_hostile_filter_shapes_are_refused_before_they_exhaust_the_stack(text):
    with pytest.raises(odata.FilterError, match="more than"):
        odata.parse_filter(text, FIELDS)


def test_filters_up_to_the_bounds_are_read():
    deep = (
        "(" * odata.MAX_FILTER_DEPTH
        + "__system/reviewState eq 'x'"
        + ")" * (odata.MAX_FILTER_DEPTH)
    )
    assert odata.parse_filter(deep, FIELDS)[0] == "cmp"
    wide = " or ".join(["__system/reviewState eq 'x'"] * odata.MAX_FILTER_COMPARISONS)
    assert odata.parse_filter(wide, FIELDS)[0] == "or"
