"""A hostile submission XML: the XML part is capped on its own (MAX_SUBMISSION_XML_BYTES,
5 MB by default), far below the 100 MB body, and refused with 413 while it streams, before
it is parsed (parsing costs about 0.6 s of CPU and 30 MB per MB); nothing is stored."""

from __future__ import annotations

from sqlalchemy import func, select

from server.models.blobs import Blob
from server.models.submissions import Submission
from tests.openrosa.test_streaming import worker_peak_kib
from tests.support.collect import Collect
from tests.support.xmls import instance

BIG = "uuid:3a4b5c6d-7e8f-4a0b-9c1d-2e3f4a5b6c7d"


def _nothing_stored(db) -> None:
    with db.transaction(write=False) as session:
        assert session.scalar(select(func.count()).select_from(Submission)) == 0
        assert session.scalar(select(func.count()).select_from(Blob)) == 0


def test_an_xml_part_over_five_megabytes_is_refused_with_413_in_the_phones_language(
    gunicorn_server, app_user, visit_form, db, settings
):
    """Under gunicorn, as in production: the phone, still sending its photo, reads the
    envelope (the rest of the body is dropped, not left for a connection reset)."""
    assert settings.max_submission_xml_bytes == 5_000_000
    collect = Collect(app_user.server_url(gunicorn_server))
    xml = instance("visit", BIG, gap="co", ma_kh="x" * 6_000_000, anh="anh.jpg")
    [reply] = collect.submit(xml, {"anh.jpg": b"\xff\xd8" + b"p" * 2_000_000})
    assert reply.status == 413
    assert reply.message.endswith("(413.2)")
    assert reply.message.startswith("Phần trả lời của phiếu này")
    assert reply.headers["X-OpenRosa-Version"] == "1.0"
    _nothing_stored(db)


def _multipart(xml: bytes, filename: str | None) -> tuple[bytes, str]:
    boundary = "sizeboundary"
    name = f'; filename="{filename}"' if filename else ""
    body = (
        (
            f"--{boundary}\r\nContent-Disposition: form-data; "
            f'name="xml_submission_file"{name}\r\nContent-Type: text/xml\r\n\r\n'
        ).encode()
        + xml
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def test_a_20_mb_xml_is_refused_without_being_held_or_parsed(
    gunicorn_server, app_user, visit_form, db
):
    """Parsed, 20 MB of XML would cost about 600 MB and 12 s of a worker: refused at 5 MB
    while it streams, it costs the worker next to no memory, as a file part or a text part."""
    collect = Collect(app_user.server_url(gunicorn_server))
    port = int(gunicorn_server.rsplit(":", 1)[1])
    warm = collect.submit(instance("visit", "uuid:warm", gap="co"))
    assert [r.status for r in warm] == [201]
    before = worker_peak_kib(port)
    xml = instance("visit", BIG, gap="co", ma_kh="x" * 20_000_000)
    for filename in ("s.xml", None):  # Collect's file part, and the XML sent as a text part
        data, content_type = _multipart(xml, filename)
        response = collect.http.post(
            f"{collect.server_url}/submission",
            data=data,
            headers={**collect._headers(), "Content-Type": content_type},
            timeout=120,
        )
        assert response.status_code == 413, (filename, response.text)
        assert "(413.2)" in response.text
    growth_mib = (worker_peak_kib(port) - before) / 1024
    assert growth_mib < 30, f"worker peak memory grew by {growth_mib:.0f} MiB"
    with db.transaction(write=False) as session:
        assert session.scalar(select(func.count()).select_from(Submission)) == 1  # the warm-up
