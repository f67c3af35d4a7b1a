"""The bare reference endpoint bench/ingest measures beside the server: what any OpenRosa
intake must do and nothing more, so that the server's throughput can be read as a fraction of
what this machine allows at that moment (the machine is shared and noisy; a ratio from one
run is steadier than a figure).

Per POST: the multipart body streamed to temporary files (werkzeug's parser, each file part
hashed with sha256 as it is written), the submission XML parsed once (lxml) for its instanceID,
one transaction that inserts one row (instance id, the XML, the photo's hash), then 201 with a
short OpenRosa envelope. No authentication, no form lookup, no audit, no outbox, no
deduplication rule beyond the unique index: it is a ceiling, not a competitor.

Run by bench/ingest under the same gunicorn settings as the server (gthread, 4 threads):
``python -m gunicorn --config python:bench.bare 'bench.bare:make_app()'`` with
``BARE_DATABASE_URL`` set to a SQLAlchemy style URL (``sqlite:///...`` or
``postgresql+psycopg://...``); bench/ingest makes the table first (``prepare``).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import tempfile
import threading

from lxml import etree
from werkzeug.formparser import MultiPartParser
from werkzeug.http import parse_options_header
from werkzeug.wsgi import get_content_length, get_input_stream

TABLE = "bench_bare_submissions"
# gunicorn's settings when this module is its config (``--config python:bench.bare``): the
# same as the project's gunicorn.conf.py, without its wiring of the server's own worker.
worker_class = "gthread"
threads = 4
timeout = 120
OK = (
    b'<OpenRosaResponse xmlns="http://openrosa.org/http/response">'
    b'<message nature="submit_success">OK</message></OpenRosaResponse>'
)


class _Spool:
    """A temporary file that hashes what is written to it."""

    def __init__(self):
        self.file = tempfile.TemporaryFile()  # noqa: SIM115 - closed with the request
        self.sha256 = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.sha256.update(data)
        return self.file.write(data)

    def seek(self, *args) -> int:
        return self.file.seek(*args)

    def read(self, *args) -> bytes:
        return self.file.read(*args)


class _Parser(MultiPartParser):
    def start_file_streaming(self, event, total_content_length):
        return _Spool()


def _instance_id(root) -> str:
    for el in root.iter():
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag.rsplit("}", 1)[-1] == "instanceID":
            return (el.text or "").strip()
    raise ValueError("no instanceID")


class _Store:
    """One DBAPI connection per thread, made on first use."""

    def __init__(self, url: str):
        self.url = url
        self.sqlite = url.startswith("sqlite")
        self.local = threading.local()

    def _connect(self):
        if self.sqlite:
            conn = sqlite3.connect(self.url.split("///", 1)[1], timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            return _Closing(conn)
        import psycopg

        return _Closing(psycopg.connect(self.url.replace("postgresql+psycopg", "postgresql")))

    def create(self) -> None:
        """Make the table (once, before the workers start: two workers making it at once
        collide in PostgreSQL's catalogue)."""
        with self._connect() as conn:
            self._create(conn)

    def _create(self, conn) -> None:
        cur = conn.raw.cursor()
        key = "INTEGER PRIMARY KEY" if self.sqlite else "BIGSERIAL PRIMARY KEY"
        blob = "BLOB" if self.sqlite else "BYTEA"
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE} (id {key}, instance_id VARCHAR(255) UNIQUE,"
            f" xml {blob}, photo_sha256 VARCHAR(64))"
        )
        if not self.sqlite:
            conn.raw.commit()

    def insert(self, instance_id: str, xml: bytes, photo: str | None) -> None:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = self._connect().raw
        cur = conn.cursor()
        if self.sqlite:
            cur.execute("BEGIN IMMEDIATE")
            cur.execute(
                f"INSERT INTO {TABLE} (instance_id, xml, photo_sha256) VALUES (?, ?, ?)",
                (instance_id, xml, photo),
            )
            cur.execute("COMMIT")
        else:
            cur.execute(
                f"INSERT INTO {TABLE} (instance_id, xml, photo_sha256) VALUES (%s, %s, %s)",
                (instance_id, xml, photo),
            )
            conn.commit()


class _Closing:
    def __init__(self, raw):
        self.raw = raw

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.raw.close()


def prepare(url: str) -> None:
    """Make the reference's table in the database at ``url``."""
    _Store(url).create()


def make_app(url: str | None = None):
    store = _Store(url or os.environ["BARE_DATABASE_URL"])

    def app(environ, start_response):
        if environ["REQUEST_METHOD"] == "HEAD":
            start_response("204 No Content", [("X-OpenRosa-Version", "1.0")])
            return [b""]
        _, options = parse_options_header(environ.get("CONTENT_TYPE", ""))
        parser = _Parser(max_form_memory_size=10 << 20)
        _form, files = parser.parse(
            get_input_stream(environ),
            options["boundary"].encode("ascii"),
            get_content_length(environ),
        )
        xml_part = files["xml_submission_file"]
        xml_part.stream.seek(0)
        xml = xml_part.stream.read()
        root = etree.fromstring(xml, etree.XMLParser(resolve_entities=False, no_network=True))
        photo = next(
            (f.stream.sha256.hexdigest() for n, f in files.items() if n != "xml_submission_file"),
            None,
        )
        store.insert(_instance_id(root), xml, photo)
        start_response(
            "201 Created",
            [("Content-Type", "text/xml; charset=utf-8"), ("X-OpenRosa-Version", "1.0")],
        )
        return [OK]

    return app
