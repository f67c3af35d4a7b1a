"""A hostile submission XML: the XML part is capped on its own (MAX_SUBMISSION_XML_BYTES,
5 MB by default), far below the 100 MB body, and refused with 413 while it streams, before
it is parsed (parsing costs about 0.6 s of CPU and 30 MB per MB); nothing is stored."""

from __future__ import annotations

import io

from sqlalchemy import func, select

from server.models.blobs import Blob
from server.models.submissions import Submission
from tests.support.collect import Collect
from tests.support.xmls import instance

BIG = "uuid:3a4b5c6d-7e8f-4a0b-9c1d-2e3f4a5b6c7d"


def _nothing_stored(db) -> None:
    with db.transaction(write=False) as session:
        assert session.scalar(select(func.count()).select_from(Submission)) == 0
        assert session.scalar(select(func.count()).select_from(Blob)) == 0


def test_an_xml_part_over_five_megabytes_is_refused_with_413_in_the_phones_language(
    collect: Collect, visit_form, db, settings
):
    assert settings.max_submission_xml_bytes == 5_000_000
    xml = instance("visit", BIG, gap="co", ma_kh="x" * 6_000_000, anh="anh.jpg")
    [reply] = collect.submit(xml, {"anh.jpg": b"\xff\xd8 photo"})
    assert reply.status == 413
    assert reply.message.endswith("(413.2)")
    assert reply.message.startswith("Phần trả lời của phiếu này")
    assert reply.headers["X-OpenRosa-Version"] == "1.0"
    _nothing_stored(db)


class CountingBody(io.BytesIO):
    """A request body that counts how much of it the server reads."""

    read_bytes = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.read_bytes += len(data)
        return data

    def readinto(self, buffer) -> int:
        n = super().readinto(buffer)
        self.read_bytes += n
        return n

    def readline(self, size: int | None = -1) -> bytes:
        data = super().readline(size)
        self.read_bytes += len(data)
        return data


def _multipart(xml: bytes, filename: str | None) -> tuple[bytes, str]:
    boundary = "sizeboundary"
    name = f'; filename="{filename}"' if filename else ""
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="xml_submission_file"{name}\r\n'
            "Content-Type: text/xml\r\n\r\n"
        ).encode()
        + xml
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def test_the_xml_part_is_refused_while_it_streams_not_after_it_was_read_whole(
    app, app_user, visit_form, db
):
    xml = instance("visit", BIG, gap="co", ma_kh="x" * 20_000_000)
    for filename in ("s.xml", None):  # Collect's file part, and the XML sent as a text part
        data, content_type = _multipart(xml, filename)
        body = CountingBody(data)
        response = app.test_client().post(
            f"{app_user.server_url('')}/submission",
            input_stream=body,
            content_length=len(data),
            content_type=content_type,
            headers={"X-OpenRosa-Version": "1.0", "Accept-Language": "en"},
        )
        assert response.status_code == 413, response.data
        assert b"MAX_SUBMISSION_XML_BYTES" in response.data
        assert body.read_bytes < 6_000_000, f"{filename}: read {body.read_bytes} of {len(data)}"
    _nothing_stored(db)
