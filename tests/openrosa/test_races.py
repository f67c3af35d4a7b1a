"""Sixteen devices posting the same new submission at the same moment, to gunicorn worker
processes: one submission, sixteen successes (the unique index decides, the rules re-run)."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from server.models.blobs import Blob
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
