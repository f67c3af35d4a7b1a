"""Streaming multipart: each part is spooled to a temporary file in chunks and hashed
(sha256, md5) while it is written. Never holds a file part in memory. Never touches the
database.

Spools live in the instance's spool folder (server/spool.py: 0700, files 0600, flock-held
while alive), never the system's temporary folder: they hold photos and the submission XML
with its special-category answers in clear. Each is removed however its request ends
(success, refusal, any exception, the client gone mid-body).
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field

from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.formparser import MultiPartParser
from werkzeug.http import parse_options_header
from werkzeug.wsgi import get_content_length, get_input_stream

from server.errors import (
    MalformedMultipart,
    MissingMultipartField,
    Problem,
    SubmissionXmlTooLarge,
    TooLarge,
)
from server.spool import locked_file

MAX_PARTS = 1000


class HashingSpool:
    """A spool file that hashes what is written to it (the stream factory for werkzeug).

    With ``limit``, a write that would take it past ``limit`` bytes raises ``too_large()``,
    so a part is refused while it streams, never after it was read whole."""

    def __init__(
        self,
        directory: str,
        limit: int | None = None,
        too_large: Callable[[], Problem] = TooLarge,
    ):
        self._file, self.path = locked_file(directory)
        self._sha256 = hashlib.sha256()
        self._md5 = hashlib.md5(usedforsecurity=False)
        self.size = 0
        self.limit = limit
        self._too_large = too_large

    def write(self, data: bytes) -> int:
        if self.limit is not None and self.size + len(data) > self.limit:
            raise self._too_large()
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
        """Remove the file, then let go of it (unlinked under the lock, so a sweep never
        races it)."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        self._file.close()


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


class _SubmissionParser(MultiPartParser):
    """Spools each file part into ``directory``, the XML part capped at ``max_xml_bytes``.

    A text part (the XML sent without a file name) whose bytes are not valid in its charset
    is refused (UnicodeDecodeError, a ValueError), never stored with U+FFFD in place of
    what the phone sent; it is held in memory, so werkzeug caps it (max_form_memory_size)
    at the XML's limit too. ``parts`` counts the parts begun, to tell that refusal from
    werkzeug's other one, too many parts."""

    def __init__(self, directory: str, max_xml_bytes: int):
        super().__init__(max_form_memory_size=max_xml_bytes, max_form_parts=MAX_PARTS)
        self.directory = directory
        self.max_xml_bytes = max_xml_bytes
        self.spools: list[HashingSpool] = []
        self.parts = 0

    def get_part_charset(self, headers) -> str:
        self.parts += 1
        return _STRICT + super().get_part_charset(headers)

    def start_file_streaming(self, event, total_content_length) -> HashingSpool:
        self.parts += 1
        xml = event.name == "xml_submission_file"
        spool = HashingSpool(
            self.directory,
            limit=self.max_xml_bytes if xml else None,
            too_large=lambda: xml_too_large(self.max_xml_bytes),
        )
        self.spools.append(spool)
        return spool


def xml_too_large(max_xml_bytes: int) -> SubmissionXmlTooLarge:
    return SubmissionXmlTooLarge(
        f"The submission XML is larger than {max_xml_bytes} bytes (MAX_SUBMISSION_XML_BYTES)."
    )


class _Capped:
    """The request body, refused (TooLarge) once more than ``max_bytes`` were read: a
    chunked body announces no length to check first."""

    def __init__(self, stream, max_bytes: int):
        self._stream, self.max_bytes, self._read = stream, max_bytes, 0

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self._read += len(data)
        if self._read > self.max_bytes:
            raise TooLarge(f"The submission is larger than {self.max_bytes} bytes.")
        return data


def _body(environ: dict, max_bytes: int) -> _Capped:
    """The input stream; a Content-Length over ``max_bytes`` is refused before any read, and a
    body that ends before its Content-Length raises werkzeug's ClientDisconnected."""
    length = get_content_length(environ)
    if length is not None and length > max_bytes:
        raise TooLarge(f"The submission is larger than {max_bytes} bytes.")
    return _Capped(get_input_stream(environ), max_bytes)


def read_submission(
    environ: dict, max_bytes: int, max_xml_bytes: int, directory: str
) -> SubmissionBody:
    """Stream a multipart submission body to spool files in ``directory``.

    Raises MissingMultipartField, MalformedMultipart, TooLarge or SubmissionXmlTooLarge;
    whatever ends the read (werkzeug's ClientDisconnected included), no spool is left. On
    success the caller must call ``close()`` on the result.
    """
    content_type = environ.get("CONTENT_TYPE", "")
    if not content_type.startswith("multipart/form-data"):
        raise MalformedMultipart("The submission must be a multipart/form-data POST.")
    parser = _SubmissionParser(directory, max_xml_bytes)
    stream = _body(environ, max_bytes)
    try:
        _mimetype, options = parse_options_header(content_type)
        boundary = options.get("boundary", "").encode("ascii", "replace")
        if not boundary:
            raise ValueError("Missing boundary")
        form, files = parser.parse(stream, boundary, get_content_length(environ))
        return _assemble(form, files, parser.spools, directory)
    except SubmissionXmlTooLarge:
        _close(parser.spools)
        _discard(stream, max_bytes)
        raise
    except RequestEntityTooLarge:  # werkzeug's own limits: a text part, or the part count
        _close(parser.spools)
        _discard(stream, max_bytes)
        if parser.parts >= MAX_PARTS:  # every part before the one refused was counted
            raise TooLarge(f"The submission has more than {MAX_PARTS} parts.") from None
        raise xml_too_large(max_xml_bytes) from None
    except ValueError as e:
        _close(parser.spools)
        raise MalformedMultipart(f"The multipart body could not be read: {e}") from None
    except BaseException:
        _close(parser.spools)
        raise


def _assemble(form, files, spools, directory) -> SubmissionBody:
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
        spool = HashingSpool(directory)
        spools.append(spool)
        spool.write(form["xml_submission_file"].encode("utf-8"))
        xml = Part("xml_submission_file", None, "text/xml", spool)
    if xml is None:
        raise MissingMultipartField()  # the caller closes the spools
    incomplete = form.get("*isIncomplete*", "").strip().lower() == "yes"
    return SubmissionBody(xml, attachments, incomplete, spools)


def _close(spools):
    for spool in spools:
        spool.close()


def _discard(stream, limit: int) -> None:
    """Read and drop the rest of a refused body, at most ``limit`` bytes (the body's own
    cap), never keeping any of it. A server that closes the connection on unread data makes
    the client's next write fail (a reset) before it reads the refusal: under gunicorn,
    Collect and pyodk would see a network error instead of the 413 and its message."""
    left = limit
    # The refusal is decided; a body that breaks off while dropped changes nothing.
    with contextlib.suppress(OSError, ValueError, HTTPException, Problem):
        while left > 0 and (chunk := stream.read(min(left, 1 << 16))):
            left -= len(chunk)


def read_body(
    environ: dict,
    max_bytes: int,
    directory: str,
    too_large: Callable[[], Problem] | None = None,
    discard_up_to: int = 0,
) -> HashingSpool:
    """Stream a raw request body (a form definition, a form attachment, a submission's XML)
    to a hashed spool file in ``directory``; chunked bodies included. Over ``max_bytes`` it
    raises ``too_large()`` (default TooLarge) as soon as that is known, after dropping the
    rest of the body up to ``discard_up_to`` bytes (so that the client reads the refusal).
    Whatever ends the read, no spool is left; on success the caller closes the spool."""
    too_large = too_large or (lambda: TooLarge(f"The body is larger than {max_bytes} bytes."))
    stream = get_input_stream(environ)
    length = get_content_length(environ)
    if length is not None and length > max_bytes:
        if length <= discard_up_to:
            _discard(stream, discard_up_to)
        raise too_large()
    spool = HashingSpool(directory, limit=max_bytes, too_large=too_large)
    try:
        while chunk := stream.read(1 << 16):
            spool.write(chunk)
        spool.flush()
    except Problem as refused:
        spool.close()
        if isinstance(refused, TooLarge):
            _discard(stream, discard_up_to)
        raise
    except BaseException:
        spool.close()
        raise
    return spool


def read_xml_body(
    environ: dict, max_xml_bytes: int, max_bytes: int, directory: str
) -> HashingSpool:
    """A submission's XML sent as the body (the REST API's create and edit), capped like
    Collect's XML part: raises SubmissionXmlTooLarge over ``max_xml_bytes`` (having dropped
    the rest of a body within ``max_bytes``, the request's own cap)."""
    return read_body(
        environ, max_xml_bytes, directory, lambda: xml_too_large(max_xml_bytes), max_bytes
    )


def user_agent(request) -> str:
    """What the client says it is: Collect's ODK-Client header and its User-Agent."""
    return " ".join(
        filter(None, (request.headers.get("ODK-Client"), request.headers.get("User-Agent")))
    )
