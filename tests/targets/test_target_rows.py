"""Checking the rows of a plan: each bad input is refused with a message naming the row and
what is wrong, and nothing of the request is written (all rows or none)."""

from __future__ import annotations

from datetime import date

import pytest

from server.auth.permissions import SYSTEM
from server.services import targets
from server.services.targets import InvalidTargets, parse_period, period_name
from tests.targets.conftest import row

BAD = [
    # (the row, the field, the reason, words of the message)
    (row(kind="district"), "scope", "bad_scope_kind", "'district' is not project, province"),
    (row(kind="project", value="00118"), "scope", "project_value", "takes no value"),
    (row(kind="province", value="79"), "scope", "unknown_province", "'79' is not a province"),
    (row(value="99999"), "scope", "unknown_ward", "'99999' is not a commune/ward code"),
    (row(value="118"), "scope", "unknown_ward", "did you mean 00118?"),
    (row(kind="model", value="police"), "scope", "unknown_model", "'police' is not a programme"),
    (row(indicator="I99"), "indicator", "unknown_indicator", "'I99' is not an indicator code"),
    (row(indicator="i1"), "indicator", "unknown_indicator", "'i1' is not an indicator code"),
    (row(indicator=None), "indicator", "unknown_indicator", "None is not an indicator code"),
    (row(indicator="I1a"), "indicator", "not_targetable", "I1a is computed"),
    (row(indicator="DQ1"), "indicator", "not_targetable", "DQ1 is computed"),
    (row(period="26"), "period", "bad_period", "'26' is not a period"),
    (row(period="2026-Q5"), "period", "bad_period", "'2026-Q5' is not a period"),
    (row(period="2026-13"), "period", "bad_period", "'2026-13' is not a period"),
    (row(period="1999"), "period", "bad_period", "'1999' is not a period"),
    (row(period=2026), "period", "bad_period", "2026 is not a period"),
    (row(planned=-1), "planned", "negative", "cannot be negative"),
    (row(planned="-5"), "planned", "negative", "cannot be negative"),
    (row(planned="many"), "planned", "not_a_number", "'many' is not a number"),
    (row(planned=""), "planned", "not_a_number", "'' is not a number"),
    (row(planned=True), "planned", "not_a_number", "True is not a number"),
    (row(planned=float("nan")), "planned", "not_a_number", "nan is not a number"),
    (row(planned=2e9), "planned", "too_large", "above 1,000,000,000"),
    (row(planned=150.5), "planned", "not_whole", "I1 counts people: its target is a whole"),
    (row(indicator="I18", planned=2.5), "planned", "not_whole", "I18 counts sessions"),
    (row(indicator="I6", planned=150), "planned", "above_100", "I6 is a percentage"),
]


@pytest.mark.parametrize(("bad", "field", "reason", "words"), BAD)
def test_a_bad_row_is_refused_with_its_message(bad, field, reason, words):
    with pytest.raises(InvalidTargets) as refused:
        targets.check_rows([row(value="00004"), bad])
    [problem] = refused.value.problems
    assert (problem.row, problem.field, problem.reason) == (2, field, reason)
    assert words in problem.message
    assert f"row 2: {problem.message}" in refused.value.message
    assert refused.value.code == "400.8"
    assert refused.value.details["rows"][0]["row"] == 2


def test_nothing_of_a_request_with_a_bad_row_is_written(db, project, stored, audits):
    with pytest.raises(InvalidTargets), db.transaction() as session:
        targets.set_targets(session, SYSTEM, project.id, [row(value="00004"), row(value="1")])
    assert stored() == {}
    assert audits() == []


def test_every_problem_of_every_row_is_named_at_once(db, project, stored):
    rows = [row(value="99999", planned=-3), row(), row(period="2026-Q9")]
    with pytest.raises(InvalidTargets) as refused, db.transaction() as session:
        targets.set_targets(session, SYSTEM, project.id, rows)
    assert [(p.row, p.reason) for p in refused.value.problems] == [
        (1, "unknown_ward"),
        (1, "negative"),
        (3, "bad_period"),
    ]
    assert stored() == {}


def test_two_rows_for_one_target_are_refused(db, project, stored):
    rows = [row(planned=100), row(planned=150)]
    with pytest.raises(InvalidTargets) as refused, db.transaction() as session:
        targets.set_targets(session, SYSTEM, project.id, rows)
    [problem] = refused.value.problems
    assert (problem.row, problem.reason) == (2, "duplicate")
    assert "the same target as row 1" in problem.message
    assert stored() == {}


ACCEPTED = [
    # Units decide what a target may be: a percentage (I6's 70 %), money in decimals, a count.
    (row(indicator="I6", planned=70), 70.0),
    (row(indicator="I6", planned=100), 100.0),
    (row(indicator="I14:amount", planned=4099.5), 4099.5),
    (row(indicator="I14:amount", planned="4099,5"), 4099.5),
    (row(indicator="I4:xn_hiv", planned="118"), 118.0),
    (row(planned=0), 0.0),
    (row(planned=150.0), 150.0),
    (row(kind="project", value=None), 150.0),
    (row(kind="project", value=""), 150.0),
    (row(kind="province", value="01"), 150.0),
    (row(kind="model", value="canh_sat"), 150.0),
    (row(value=" 00118 "), 150.0),
]


@pytest.mark.parametrize(("good", "planned"), ACCEPTED)
def test_a_good_row_is_accepted(good, planned):
    [(n, _key, number)] = targets.check_rows([good])
    assert (n, number) == (1, planned)


DISTINCT = [ACCEPTED[i] for i in (0, 2, 4, 7, 9, 10)]  # six targets, six keys


def test_good_rows_are_written(db, project, stored):
    with db.transaction() as session:
        targets.set_targets(session, SYSTEM, project.id, [g for g, _ in DISTINCT])
    assert sorted(stored().values()) == sorted(planned for _, planned in DISTINCT)


@pytest.mark.parametrize(
    ("text", "kind", "start"),
    [
        ("2026", "year", date(2026, 1, 1)),
        ("2026-Q1", "quarter", date(2026, 1, 1)),
        ("2026-q3", "quarter", date(2026, 7, 1)),
        ("2026-Q4", "quarter", date(2026, 10, 1)),
        ("2026-03", "month", date(2026, 3, 1)),
        ("2026-12", "month", date(2026, 12, 1)),
    ],
)
def test_periods_are_read_and_written_back(text, kind, start):
    assert parse_period(text) == (kind, start)
    assert period_name(kind, start) == text.upper()


@pytest.mark.parametrize("text", ["2026-3", "2026-Q0", "2026-00", "Q1-2026", "2026-01-01", ""])
def test_what_is_not_a_period(text):
    assert parse_period(text) is None


def test_the_models_are_the_mo_hinh_choices_of_the_forms():
    import openpyxl

    from tests.targets.conftest import ROOT

    compared = 0
    for form in sorted((ROOT / "xlsforms").glob("f*.xlsx")):
        book = openpyxl.load_workbook(form, read_only=True)
        rows = list(book["choices"].iter_rows(values_only=True))
        book.close()
        header = rows[0]
        vi, en = header.index("label::Tiếng Việt (vi)"), header.index("label::English (en)")
        choices = {r[1]: (r[vi], r[en]) for r in rows[1:] if r[0] == "mo_hinh"}
        if choices:
            assert choices == targets.models(), form.name
            compared += 1
    assert compared >= 5  # F1-F5 ask for the model
