"""Sixteen devices posting the same new submission at the same moment, to gunicorn worker
processes: one submission, sixteen successes (the unique index decides, the rules re-run)."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from server.models.blobs import Blob
from server.models.deliveries import Delivery
from server.models.submissions import Submission, SubmissionAttachment, SubmissionVersion
from tests.support.collect import Collect
from tests.support.xmls import instance

DEVICES = 16
PHOTO = b"\xff\xd8\xff\xe0 race photo " * 3000


def test_sixteen_devices_posting_the_same_submission_make_one(
    db, gunicorn_server, app_user, visit_form
):
    xml = instance("visit", "uuid:0b5e4a3c-9d2f-4e1a-8b7c-6d5e4f3a2b1c", gap="co", anh="anh.jpg")
    barrier = threading.Barrier(DEVICES)
    statuses: list[int] = []
    lock = threading.Lock()

    def device(n: int) -> None:
        collect = Collect(app_user.server_url(gunicorn_server), device_id=f"collect:device{n:08d}")
        collect.head_submission()
        barrier.wait()
        [reply] = collect.submit(xml, {"anh.jpg": PHOTO})
        with lock:
            statuses.append(reply.status)

    threads = [threading.Thread(target=device, args=(n,)) for n in range(DEVICES)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert statuses == [201] * DEVICES
    with db.transaction(write=False) as session:
        assert session.scalar(select(func.count()).select_from(Submission)) == 1
        assert session.scalar(select(func.count()).select_from(SubmissionVersion)) == 1
        assert session.scalar(select(func.count()).select_from(Blob)) == 1
        [slot] = session.scalars(select(SubmissionAttachment)).all()
        assert slot.blob_id is not None


ORIGINAL = "uuid:5c1d2e3f-4a5b-4c6d-8e7f-0a1b2c3d4e5f"


def _edit_id(n: int) -> str:
    return f"uuid:5c1d2e3f-4a5b-4c6d-8e7f-{n:012d}"


def test_sixteen_devices_editing_the_same_version_at_once_make_one_edit(
    db, gunicorn_server, app_user, visit_form
):
    first = Collect(app_user.server_url(gunicorn_server))
    assert [r.status for r in first.submit(instance("visit", ORIGINAL, gap="co"))] == [201]
    barrier = threading.Barrier(DEVICES)
    replies: list = []
    lock = threading.Lock()

    def device(n: int) -> None:
        collect = Collect(app_user.server_url(gunicorn_server), device_id=f"collect:edit{n:08d}")
        collect.head_submission()
        edit = instance("visit", _edit_id(n), deprecated_id=ORIGINAL, gap="khong")
        barrier.wait()
        [reply] = collect.submit(edit)
        with lock:
            replies.append(reply)

    threads = [threading.Thread(target=device, args=(n,)) for n in range(DEVICES)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    statuses = sorted(r.status for r in replies)
    assert statuses == [201] + [409] * (DEVICES - 1)
    refused = [r for r in replies if r.status == 409]
    assert all(r.message.endswith("(409.9)") for r in refused), [r.message for r in refused]
    with db.transaction(write=False) as session:
        versions = session.scalars(select(SubmissionVersion).order_by(SubmissionVersion.id)).all()
        deliveries = session.scalars(select(Delivery)).all()
    assert len(versions) == 2
    original, edit = versions
    assert (original.instance_id, original.current) == (ORIGINAL, False)
    assert (edit.deprecated_id, edit.current) == (ORIGINAL, True)
    assert sorted(d.submission_version_id for d in deliveries) == [original.id, edit.id]
