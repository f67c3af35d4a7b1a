"""Large attachments stream to the blob store: a chunked 64 MB upload to gunicorn arrives whole,
and the worker's peak memory grows by far less than the file."""

from __future__ import annotations

import hashlib
import re
import subprocess
from pathlib import Path

from sqlalchemy import select

from server.models.blobs import Blob
from tests.support.collect import Collect
from tests.support.xmls import instance

CHUNK = bytes(range(256)) * 256  # 64 KiB
CHUNKS = 1024  # 64 MiB


def multipart_chunks(boundary: bytes, xml: bytes):
    yield (
        b"--" + boundary + b'\r\nContent-Disposition: form-data; name="xml_submission_file"; '
        b'filename="s.xml"\r\nContent-Type: text/xml\r\n\r\n' + xml + b"\r\n"
    )
    yield (
        b"--" + boundary + b'\r\nContent-Disposition: form-data; name="anh.jpg"; '
        b'filename="anh.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'
    )
    for _ in range(CHUNKS):
        yield CHUNK
    yield b"\r\n--" + boundary + b"--\r\n"


def worker_peak_kib(port: int) -> int:
    """Highest VmHWM among the gunicorn workers serving this port."""
    out = subprocess.run(
        ["pgrep", "-f", f"gunicorn.*127.0.0.1:{port}"], capture_output=True, text=True, check=False
    ).stdout.split()
    peaks = []
    for pid in out:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except FileNotFoundError:
            continue
        if m := re.search(r"VmHWM:\s+(\d+) kB", status):
            peaks.append(int(m.group(1)))
    return max(peaks)


def test_chunked_64mb_attachment_is_stored_whole_in_bounded_memory(
    db, gunicorn_server, app_user, visit_form
):
    collect = Collect(app_user.server_url(gunicorn_server))
    port = int(gunicorn_server.rsplit(":", 1)[1])
    warm = collect.submit(instance("visit", "uuid:warm", gap="co", anh="w.jpg"), {"w.jpg": b"w"})
    assert [r.status for r in warm] == [201]
    before = worker_peak_kib(port)
    boundary = b"donghanhboundary"
    xml = instance("visit", "uuid:big", gap="co", anh="anh.jpg")
    response = collect.http.post(
        f"{collect.server_url}/submission",
        data=multipart_chunks(boundary, xml),
        headers={
            **collect._headers(),
            "Content-Type": f"multipart/form-data; boundary={boundary.decode()}",
        },
        timeout=120,
    )
    assert response.status_code == 201, response.text
    expected = hashlib.sha256(CHUNK * CHUNKS).hexdigest()
    with db.transaction(write=False) as session:
        blob = session.scalar(select(Blob).where(Blob.sha256 == expected))
    assert blob is not None
    assert blob.size == len(CHUNK) * CHUNKS
    growth_mib = (worker_peak_kib(port) - before) / 1024
    assert growth_mib < 30, f"worker peak memory grew by {growth_mib:.0f} MiB for a 64 MiB file"
