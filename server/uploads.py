"""Streaming multipart: each part is spooled to a temporary file in chunks and hashed
(sha256, md5) while it is written. Never holds a file part in memory. Never touches the
database."""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import os
import tempfile
from dataclasses import dataclass, field

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import MultiPartParser
from werkzeug.http import parse_options_header
from werkzeug.wsgi import get_content_length, get_input_stream

from server.errors import MalformedMultipart, MissingMultipartField, TooLarge

MAX_PARTS = 1000
MAX_TEXT_PART_BYTES = 20_000_000  # a text part (xml_submission_file sent without a filename)


class HashingSpool:
    """A temporary file that hashes what is written to it (the stream factory for werkzeug)."""

    def __init__(self, directory: str | None = None):
        fd, self.path = tempfile.mkstemp(prefix="part-", dir=directory)
        self._file = os.fdopen(fd, "w+b")
        self._sha256 = hashlib.sha256()
        self._md5 = hashlib.md5(usedforsecurity=False)
        self.size = 0

    def write(self, data: bytes) -> int:
        self._sha256.update(data)
        self._md5.update(data)
        self.size += len(data)
        return self._file.write(data)

    def seek(self, *args) -> int:
        return self._file.seek(*args)

    def read(self, *args) -> bytes:
        return self._file.read(*args)

    def tell(self) -> int:
        return self._file.tell()

    def flush(self) -> None:
        self._file.flush()

    @property
    def sha256(self) -> str:
        return self._sha256.hexdigest()

    @property
    def md5(self) -> str:
        return self._md5.hexdigest()

    def close(self) -> None:
        self._file.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)


@dataclass(slots=True)
class Part:
    """One file part of the body: its field name, filename, type, and hashed spool."""

    name: str
    filename: str | None
    content_type: str
    spool: HashingSpool

    @property
    def sha256(self) -> str:
        return self.spool.sha256

    @property
    def md5(self) -> str:
        return self.spool.md5

    @property
    def size(self) -> int:
        return self.spool.size

    @property
    def path(self) -> str:
        return self.spool.path

    def read_all(self) -> bytes:
        """Read the whole part; only for the submission XML, which is stored in the database."""
        self.spool.flush()
        with open(self.spool.path, "rb") as f:
            return f.read()


@dataclass(slots=True)
class SubmissionBody:
    xml: Part
    attachments: dict[str, Part]
    incomplete: bool
    spools: list[HashingSpool] = field(default_factory=list)

    def close(self) -> None:
        for spool in self.spools:
            spool.close()


_STRICT = "donghanh_strict_"


def _strict_codec(name: str) -> codecs.CodecInfo | None:
    """``donghanh_strict_<charset>``: <charset> decoding that refuses bad bytes whatever
    errors= it is asked for (werkzeug decodes text parts with "replace")."""
    name = name.replace("-", "_")
    if not name.startswith(_STRICT):
        return None
    base = codecs.lookup(name[len(_STRICT) :])

    def decode(data, errors="strict"):
        return base.decode(data, "strict")

    return codecs.CodecInfo(base.encode, decode, name=name)


codecs.register(_strict_codec)


class _StrictTextParser(MultiPartParser):
    """A text part (the XML sent without a file name) whose bytes are not valid in its
    charset is refused (UnicodeDecodeError, a ValueError), never stored with U+FFFD in
    place of what the phone sent."""

    def get_part_charset(self, headers) -> str:
        return _STRICT + super().get_part_charset(headers)


def read_submission(environ: dict, max_bytes: int) -> SubmissionBody:
    """Stream a multipart submission body to temporary files.

    Raises MissingMultipartField, MalformedMultipart or TooLarge. The caller must call
    ``close()`` on the result (the OpenRosa blueprint does it when the response closes).
    """
    spools: list[HashingSpool] = []

    def factory(total_content_length, content_type, filename, content_length=None):
        spool = HashingSpool()
        spools.append(spool)
        return spool

    parser = _StrictTextParser(
        stream_factory=factory,
        max_form_memory_size=MAX_TEXT_PART_BYTES,
        max_form_parts=MAX_PARTS,
    )
    content_type = environ.get("CONTENT_TYPE", "")
    if not content_type.startswith("multipart/form-data"):
        raise MalformedMultipart("The submission must be a multipart/form-data POST.")
    try:
        stream = get_input_stream(environ, max_content_length=max_bytes)
        _mimetype, options = parse_options_header(content_type)
        boundary = options.get("boundary", "").encode("ascii", "replace")
        if not boundary:
            raise ValueError("Missing boundary")
        form, files = parser.parse(stream, boundary, get_content_length(environ))
    except RequestEntityTooLarge:
        _close(spools)
        raise TooLarge(f"The submission is larger than {max_bytes} bytes.") from None
    except ValueError as e:
        _close(spools)
        raise MalformedMultipart(f"The multipart body could not be read: {e}") from None
    return _assemble(form, files, spools)


def _assemble(form, files, spools) -> SubmissionBody:
    attachments: dict[str, Part] = {}
    xml: Part | None = None
    for name, storage in files.items(multi=True):
        part = Part(
            name, storage.filename, storage.mimetype or "application/octet-stream", storage.stream
        )
        if name == "xml_submission_file" and xml is None:
            xml = part
        elif name != "xml_submission_file":
            attachments.setdefault(name, part)
    if xml is None and "xml_submission_file" in form:
        spool = HashingSpool()
        spools.append(spool)
        spool.write(form["xml_submission_file"].encode("utf-8"))
        xml = Part("xml_submission_file", None, "text/xml", spool)
    if xml is None:
        _close(spools)
        raise MissingMultipartField()
    incomplete = form.get("*isIncomplete*", "").strip().lower() == "yes"
    return SubmissionBody(xml, attachments, incomplete, spools)


def _close(spools):
    for spool in spools:
        spool.close()


def read_body(environ: dict, max_bytes: int) -> HashingSpool:
    """Stream a raw request body (a form definition, a form attachment) to a hashed temporary
    file; chunked bodies included. Raises TooLarge. The caller closes the spool."""
    spool = HashingSpool()
    try:
        stream = get_input_stream(environ, max_content_length=max_bytes)
        while chunk := stream.read(1 << 16):
            spool.write(chunk)
        spool.flush()
    except RequestEntityTooLarge:
        spool.close()
        raise TooLarge(f"The body is larger than {max_bytes} bytes.") from None
    except BaseException:
        spool.close()
        raise
    return spool


def user_agent(request) -> str:
    """What the client says it is: Collect's ODK-Client header and its User-Agent."""
    return " ".join(
        filter(None, (request.headers.get("ODK-Client"), request.headers.get("User-Agent")))
    )
