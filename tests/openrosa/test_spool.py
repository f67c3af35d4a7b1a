"""Spooled uploads hold photos and the submission XML with its special-category answers in
clear: they live in the instance's spool folder (0700, files 0600), never the system's
temporary folder; nothing is left however a request ends (the phone gone mid-body
included), and what a killed process (kill -9) left is swept when the next one starts,
without touching the spools of requests still being served."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from server.app import create_app
from server.models.submissions import Submission
from server.uploads import HashingSpool
from tests.support.collect import Collect
from tests.support.xmls import instance

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def system_temp(tmp_path, monkeypatch) -> Path:
    """The system's temporary folder, as this process (and its live server) sees it."""
    path = tmp_path / "system-temp"
    path.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(path))
    return path


@pytest.fixture
def serial_server(app):
    """The app on loopback, one request at a time: when a request is answered, the one
    before it has been handled to its end."""
    httpd = make_server("127.0.0.1", 0, app, threaded=False)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join(5)


def _cut_upload(url: str) -> None:
    """Start a Collect-like POST with a photo, send a third of the photo, and hang up."""
    boundary = b"cutboundary"
    xml = instance("visit", "uuid:1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b", gap="co", anh="a.jpg")
    head = (
        b"--" + boundary + b'\r\nContent-Disposition: form-data; name="xml_submission_file"; '
        b'filename="s.xml"\r\nContent-Type: text/xml\r\n\r\n' + xml + b"\r\n"
        b"--" + boundary + b'\r\nContent-Disposition: form-data; name="a.jpg"; '
        b'filename="a.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'
    )
    photo = b"\xff\xd8" + b"p" * 900_000
    length = len(head) + len(photo) + len(b"\r\n--" + boundary + b"--\r\n")
    parts = urlsplit(url)
    request = (
        f"POST {parts.path}/submission HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        "X-OpenRosa-Version: 1.0\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary.decode()}\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()
    with socket.create_connection((parts.hostname, parts.port)) as sock:
        sock.sendall(request + head + photo[:300_000])
        sock.shutdown(socket.SHUT_RDWR)


def test_an_upload_cut_mid_body_leaves_nothing_behind(
    serial_server, app_user, visit_form, settings, system_temp, db
):
    url = app_user.server_url(serial_server)
    _cut_upload(url)
    assert Collect(url).head_submission().status_code == 204  # the cut request has ended
    assert list(system_temp.iterdir()) == []
    assert os.listdir(settings.spool_path) == []
    with db.transaction(write=False) as session:
        assert session.scalar(select(func.count()).select_from(Submission)) == 0


def test_the_spool_folder_is_0700_and_its_files_0600(settings, tmp_path):
    spool = Path(settings.spool_path)
    spool.mkdir(parents=True, mode=0o755)
    spool.chmod(0o755)  # as an older version, or a careless umask, left it
    app = create_app(settings)
    app.extensions["donghanh"].db.dispose()
    assert stat.S_IMODE(spool.stat().st_mode) == 0o700
    part = HashingSpool(str(spool))
    try:
        assert stat.S_IMODE(os.stat(part.path).st_mode) == 0o600
        assert Path(part.path).parent == spool
    finally:
        part.close()
    assert os.listdir(spool) == []


KILLED_WRITER = """
import sys
from server.uploads import HashingSpool
spool = HashingSpool(sys.argv[1])
spool.write(b"<data><hiv_status>positive</hiv_status></data>")
spool.flush()
print(spool.path, flush=True)
sys.stdin.read()  # held open (and locked) until the process is killed
"""


def test_a_spool_left_by_a_killed_worker_is_swept_at_start_and_a_live_one_kept(app, settings):
    spool_dir = settings.spool_path
    writer = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, spool_dir],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    left = writer.stdout.readline().decode().strip()
    writer.kill()  # SIGKILL: no cleanup of any kind runs
    writer.wait(30)
    writer.stdin.close()
    writer.stdout.close()
    live = HashingSpool(spool_dir)  # a request of a worker still serving
    try:
        assert Path(left).exists()
        started = create_app(settings)  # another worker starts (gunicorn respawns one)
        started.extensions["donghanh"].db.dispose()
        assert not Path(left).exists()
        assert Path(live.path).exists()
    finally:
        live.close()
    assert os.listdir(spool_dir) == []
