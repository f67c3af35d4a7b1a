"""Edits racing for one version over both edges at once, to gunicorn worker processes: eight
phones (OpenRosa, deprecatedID) and eight REST clients (pyodk's edit, PUT) replace the same
version at the same moment. One edit wins; every other is out of date (409.9), as Central
answers an edit of a version that is no longer current."""

from __future__ import annotations

import threading

import requests
from sqlalchemy import select

from server.models.deliveries import Delivery
from server.models.submissions import SubmissionVersion
from tests.support.collect import Collect
from tests.support.xmls import instance

PER_EDGE = 8
ORIGINAL = "uuid:7e2f3a4b-5c6d-4e7f-8a9b-0c1d2e3f4a5b"
PASSWORD = "correct horse battery"


def _edit(n: int) -> bytes:
    return instance("visit", f"uuid:7e2f3a4b-5c6d-4e7f-8a9b-{n:012d}", deprecated_id=ORIGINAL)


def test_edits_by_phones_and_by_the_rest_api_at_once_make_one_edit(
    db, gunicorn_server, app_user, visit_form, make_user, project
):
    phone = Collect(app_user.server_url(gunicorn_server))
    assert [r.status for r in phone.submit(instance("visit", ORIGINAL, gap="co"))] == [201]
    make_user("quanly@example.org", PASSWORD, role="manager", project_id=project.id)
    token = requests.post(
        f"{gunicorn_server}/v1/sessions",
        json={"email": "quanly@example.org", "password": PASSWORD},
        timeout=60,
    ).json()["token"]
    url = f"{gunicorn_server}/v1/projects/{project.id}/forms/visit/submissions/{ORIGINAL}"
    barrier = threading.Barrier(2 * PER_EDGE)
    outcomes: list[tuple[str, int, str]] = []
    lock = threading.Lock()

    def by_phone(n: int) -> None:
        collect = Collect(app_user.server_url(gunicorn_server), device_id=f"collect:race{n:08d}")
        collect.head_submission()
        barrier.wait()
        [reply] = collect.submit(_edit(n))
        with lock:
            outcomes.append(("openrosa", reply.status, reply.message or ""))

    def by_rest(n: int) -> None:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/xml"}
        barrier.wait()
        response = requests.put(url, data=_edit(n), headers=headers, timeout=60)
        code = response.json().get("code", "") if response.status_code != 200 else ""
        with lock:
            outcomes.append(("rest", response.status_code, code))

    threads = [threading.Thread(target=by_phone, args=(n,)) for n in range(PER_EDGE)]
    threads += [threading.Thread(target=by_rest, args=(PER_EDGE + n,)) for n in range(PER_EDGE)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    won = [o for o in outcomes if o[1] in (200, 201)]
    lost = [o for o in outcomes if o not in won]
    assert len(won) == 1, outcomes
    assert len(lost) == 2 * PER_EDGE - 1
    assert all(status == 409 for _, status, _ in lost), outcomes
    assert all(str(code).endswith("409.9)") or code == 409.9 for _, _, code in lost), outcomes
    with db.transaction(write=False) as session:
        versions = session.scalars(select(SubmissionVersion).order_by(SubmissionVersion.id)).all()
        delivered = session.scalars(select(Delivery.submission_version_id)).all()
    assert [v.current for v in versions] == [False, True]
    assert versions[1].deprecated_id == ORIGINAL
    assert sorted(delivered) == [versions[0].id, versions[1].id]
