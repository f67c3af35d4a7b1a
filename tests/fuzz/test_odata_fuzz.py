"""Fuzzing the OData query options (the $filter reader is written here): whatever a caller
sends, the answer is rows or a clean JSON 4xx, never a 5xx, and nothing is written but the
audit row of a read."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.support import assert_clean_json_refusal, fuzz_settings

WORDS = [
    "__system/submissionDate",
    "__system/reviewState",
    "__system/submitterId",
    "__system/updatedAt",
    "__system/deviceId",
    "$root/Submissions/__system/reviewState",
    "ma_kh",
    "eq",
    "ne",
    "gt",
    "le",
    "and",
    "or",
    "not",
    "(",
    ")",
    "null",
    "true",
    "'approved'",
    "'it''s'",
    "2026-11-01",
    "2026-11-01T10:00:00Z",
    "2026-13-45T99:99:99+25:00",
    "5",
    "-1.5",
    "'",
    "''",
    "%",
    ";",
]
filters = st.one_of(
    st.lists(st.sampled_from(WORDS), max_size=12).map(" ".join),
    st.text(max_size=200),
)
numbers = st.one_of(st.none(), st.integers(-5, 20_000).map(str), st.text(max_size=8))


def test_odata_queries_answer_rows_or_a_clean_refusal(admin, field, project):
    base = f"/projects/{project.id}/forms/visit.svc"
    field.still_serves()  # rows to read: two visits
    field.still_serves()

    @fuzz_settings(80)
    @given(
        table=st.sampled_from(["Submissions", "Submissions.ho_tro", "Nope", "$metadata"]),
        filter_=filters,
        top=numbers,
        skip=numbers,
        select=st.one_of(st.none(), st.sampled_from(["ma_kh", "ma_kh,gap", "__id", "x", ""])),
        count=st.sampled_from([None, "true", "True", "yes"]),
    )
    def check(table, filter_, top, skip, select, count):
        params = {
            key: value
            for key, value in (
                ("$filter", filter_),
                ("$top", top),
                ("$skip", skip),
                ("$select", select),
                ("$count", count),
            )
            if value is not None
        }
        response = admin("GET", f"{base}/{table}", params=params)
        if response.status_code == 200:
            if table != "$metadata":
                body = response.json()  # a whole JSON document, even when streamed
                assert len(body["value"]) <= 2
        else:
            assert_clean_json_refusal(response)

    check()
    assert admin("GET", f"{base}/Submissions").status_code == 200  # still serving
