"""GET|PUT /v1/projects/{id}/targets through the app with Bearer sessions opened by POST
/v1/sessions, as a script would: the plan's JSON shape, upsert and delete, all rows or none,
JSON problems naming the row (400.8), 403 for a caller without rights or outside its wards,
404 for an unknown project."""

from __future__ import annotations

import json

import pytest

from tests.targets.conftest import OTHER_WARD, WARD

PASSWORD = "correct horse battery"


@pytest.fixture
def as_role(app, make_user, project):
    """as_role(role, wards=()) -> (client, headers) of a new user of the project."""
    counter = iter(range(100))

    def make(role: str, wards: tuple = (), project_id: int | None = -1):
        email = f"{role}{next(counter)}@example.org"
        make_user(email, role=role, project_id=project.id if project_id == -1 else project_id,
                  wards=wards)
        client = app.test_client()
        token = client.post("/v1/sessions", json={"email": email, "password": PASSWORD}).json
        return client, {"Authorization": f"Bearer {token['token']}"}

    return make


def target(value=WARD, planned=150, indicator="I1", period="2026", kind="ward") -> dict:
    return {"scope": {"kind": kind, "value": value}, "indicator": indicator, "period": period,
            "planned": planned}


def test_a_manager_puts_a_plan_and_reads_it_back(as_role, project):
    client, headers = as_role("manager")
    url = f"/v1/projects/{project.id}/targets"
    plan = [target(), target(period="2026-Q1", planned=40),
            target(kind="project", value="", indicator="I14:amount", planned=4099.5),
            target(kind="model", value="canh_sat", indicator="I19", period="2026-03", planned=12)]
    put = client.put(url, json=plan, headers=headers)
    assert put.status_code == 200, put.json
    got = client.get(url, headers=headers)
    assert got.status_code == 200
    assert got.json == put.json
    first = got.json[0]
    assert set(first) == {"scope", "indicator", "period", "planned", "updatedAt", "updatedBy"}
    assert first["scope"] == {"kind": "ward", "value": WARD}
    assert (first["indicator"], first["period"], first["planned"]) == ("I1", "2026", 150)
    assert first["updatedBy"]["displayName"].startswith("manager")
    assert [(t["indicator"], t["period"], t["planned"]) for t in got.json] == [
        ("I1", "2026", 150), ("I1", "2026-Q1", 40), ("I14:amount", "2026", 4099.5),
        ("I19", "2026-03", 12),
    ]
    only = client.get(f"{url}?period=2026-Q1&indicator=I1", headers=headers).json
    assert [(t["indicator"], t["period"]) for t in only] == [("I1", "2026"), ("I1", "2026-Q1")]
    assert client.get(f"{url}?period=2025", headers=headers).json == []


def test_a_put_changes_and_removes_and_answers_the_plan(as_role, project):
    client, headers = as_role("supervisor")
    url = f"/v1/projects/{project.id}/targets"
    client.put(url, json=[target(), target(value=OTHER_WARD, planned=80)], headers=headers)
    answer = client.put(url, json=[target(planned=170), target(value=OTHER_WARD, planned=None)],
                        headers=headers)
    assert answer.status_code == 200
    assert [(t["scope"]["value"], t["planned"]) for t in answer.json] == [(WARD, 170)]


def test_bad_rows_are_a_problem_naming_each_row_and_nothing_is_written(as_role, project):
    client, headers = as_role("manager")
    url = f"/v1/projects/{project.id}/targets"
    bad = [target(), target(value="99999"), target(indicator="I6", planned=150),
           target(planned="nhiều")]
    answer = client.put(url, json=bad, headers=headers)
    assert answer.status_code == 400
    assert answer.json["code"] == 400.8
    assert "row 2: '99999' is not a commune/ward code" in answer.json["message"]
    assert "row 3: I6 is a percentage: its target is at most 100" in answer.json["message"]
    assert [(r["row"], r["field"], r["reason"]) for r in answer.json["details"]["rows"]] == [
        (2, "scope", "unknown_ward"), (3, "planned", "above_100"), (4, "planned", "not_a_number")
    ]
    assert client.get(url, headers=headers).json == []


@pytest.mark.parametrize(
    "body",
    [{"scope": {"kind": "project"}}, "I1", [["ward", WARD, "I1", "2026", 150]],
     [{"scope": "ward", "indicator": "I1", "period": "2026", "planned": 1}],
     [{"scope": {"kind": "project"}, "indicator": "I1", "period": "2026"}]],
)
def test_a_body_of_another_shape_is_a_problem(body, as_role, project):
    client, headers = as_role("manager")
    answer = client.put(f"/v1/projects/{project.id}/targets", json=body, headers=headers)
    assert answer.status_code == 400
    assert answer.json["code"] == 400.8
    assert answer.json["details"]["rows"][0]["reason"] in ("not_a_list", "bad_row")


def test_a_body_that_is_not_json_is_a_problem(as_role, project):
    client, headers = as_role("manager")
    answer = client.put(f"/v1/projects/{project.id}/targets", data=b"{not json",
                        headers={**headers, "Content-Type": "application/json"})
    assert answer.status_code == 400
    assert answer.json["details"]["rows"][0]["reason"] == "not_a_list"


def test_who_is_refused(as_role, project, other_project):
    url = f"/v1/projects/{project.id}/targets"
    viewer, viewer_headers = as_role("viewer")
    assert viewer.get(url, headers=viewer_headers).status_code == 200
    assert viewer.put(url, json=[target()], headers=viewer_headers).status_code == 403
    other, other_headers = as_role("manager", project_id=other_project.id)
    assert other.get(url, headers=other_headers).status_code == 403
    assert other.put(url, json=[target()], headers=other_headers).status_code == 403
    ward, ward_headers = as_role("supervisor", wards=(WARD,))
    assert ward.put(url, json=[target()], headers=ward_headers).status_code == 200
    refused = ward.put(url, json=[target(value=OTHER_WARD)], headers=ward_headers)
    assert refused.status_code == 403
    assert refused.json["code"] == 403.1
    assert f"row 1 (ward {OTHER_WARD})" in refused.json["message"]
    project_wide = ward.put(url, json=[target(kind="project", value="")], headers=ward_headers)
    assert project_wide.status_code == 403
    assert ward.get(url, headers=ward_headers).json[0]["scope"]["value"] == WARD
    assert viewer.put(url, json=[target()]).status_code == 401  # no credentials


def test_an_unknown_project_is_404(app, make_user):
    make_user("admin@example.org", role="admin")
    client = app.test_client()
    token = client.post("/v1/sessions", json={"email": "admin@example.org",
                                              "password": PASSWORD}).json["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/v1/projects/999/targets", headers=headers).status_code == 404
    answer = client.put("/v1/projects/999/targets", json=[target()], headers=headers)
    assert answer.status_code == 404
    assert answer.json["code"] == 404.1


def test_a_bad_period_filter_is_a_problem(as_role, project):
    client, headers = as_role("viewer")
    answer = client.get(f"/v1/projects/{project.id}/targets?period=soon", headers=headers)
    assert answer.status_code == 400
    assert answer.json["details"] == {"field": "period", "value": "soon"}


def test_a_nan_is_not_a_number_and_the_problem_is_strict_json(as_role, project):
    client, headers = as_role("manager")
    body = (b'[{"scope": {"kind": "project", "value": ""}, "indicator": "I1", "period": "2026",'
            b' "planned": NaN}]')
    answer = client.put(f"/v1/projects/{project.id}/targets", data=body,
                        headers={**headers, "Content-Type": "application/json"})
    assert answer.status_code == 400

    def refuse(constant):
        raise AssertionError(f"{constant} is not JSON")

    problem = json.loads(answer.data, parse_constant=refuse)
    assert problem["details"]["rows"][0] == {
        "row": 1, "field": "planned", "reason": "not_a_number", "value": "nan",
        "message": "the planned number nan is not a number"}
