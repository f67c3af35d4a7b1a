"""Helpers and hypothesis strategies shared by the fuzz tests: modest settings, row counts,
file snapshots, a hand-made multipart writer (so part names can be hostile bytes), checks of
the OpenRosa and JSON error shapes, and hostile XML documents."""

from __future__ import annotations

import hashlib
import os
import re
import time
import uuid
from pathlib import Path
from xml.sax.saxutils import escape

import requests
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from lxml import etree
from sqlalchemy import text

from tests.support.collect import Collect
from tests.support.xmls import instance

RESPONSE_NS = "{http://openrosa.org/http/response}"
SUBMISSION_TABLES = ("submissions", "submission_versions", "submission_attachments", "blobs")
FORM_TABLES = ("forms", "form_versions", "form_attachments", "blobs")
_BLOB_PATH = re.compile(r"[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{64}")
_CODE = re.compile(r"[1-5]\d\d\.\d+")


def fuzz_settings(max_examples: int = 40) -> settings:
    """Modest, reproducible runs by default (derandomized, no example database written into
    the work tree). FUZZ_RANDOM=1 explores new examples; FUZZ_SCALE=n multiplies the counts."""
    scale = float(os.environ.get("FUZZ_SCALE", "1"))
    return settings(
        max_examples=max(1, int(max_examples * scale)),
        deadline=None,
        database=None,
        derandomize=os.environ.get("FUZZ_RANDOM") != "1",
        print_blob=True,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )


def count_rows(db, tables) -> dict[str, int]:
    with db.engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in tables}


def files_under(root: Path) -> set[str]:
    """Every file below ``root``, as paths relative to it."""
    if not root.exists():
        return set()
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def assert_blob_store_sound(store_root: Path) -> None:
    """Only content-addressed files (ab/cd/<sha256>, with that sha256), no temp leftovers."""
    for name in files_under(store_root):
        assert _BLOB_PATH.fullmatch(name), f"unexpected file in the blob store: {name!r}"
        digest = hashlib.sha256((store_root / name).read_bytes()).hexdigest()
        assert name.endswith(digest), f"blob {name} does not hold its own content"


def multipart(parts: list[tuple[bytes, bytes | None, bytes | None, bytes]], boundary: bytes):
    """A multipart/form-data body from (field name, filename, content type, content), written
    byte for byte so names may hold quotes, NUL, CR/LF or non-UTF-8 bytes."""
    out = []
    for name, filename, content_type, content in parts:
        disposition = b'Content-Disposition: form-data; name="' + name + b'"'
        if filename is not None:
            disposition += b'; filename="' + filename + b'"'
        out.append(b"--" + boundary + b"\r\n" + disposition + b"\r\n")
        if content_type is not None:
            out.append(b"Content-Type: " + content_type + b"\r\n")
        out.append(b"\r\n" + content + b"\r\n")
    out.append(b"--" + boundary + b"--\r\n")
    return b"".join(out)


def openrosa_message(response: requests.Response) -> str | None:
    """Assert the body is an OpenRosaResponse envelope; return its message text."""
    assert "xml" in response.headers.get("Content-Type", ""), response.headers
    root = etree.fromstring(response.content, etree.XMLParser(resolve_entities=False))
    assert root.tag == f"{RESPONSE_NS}OpenRosaResponse", response.content[:300]
    message = root.find(f"{RESPONSE_NS}message")
    assert message is not None, response.content[:300]
    return message.text


def assert_clean_openrosa_refusal(response: requests.Response) -> str:
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:500])
    message = openrosa_message(response)
    assert message, response.content[:300]
    assert "root:x:0:0" not in response.text  # /etc/passwd never read back
    return message


def assert_clean_json_refusal(response: requests.Response) -> dict:
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:500])
    assert response.headers.get("Content-Type", "").startswith("application/json")
    body = response.json()
    assert isinstance(body.get("message"), str), body
    assert body["message"], body
    assert isinstance(body.get("code"), float), body  # a JSON number, as Central sends it
    assert _CODE.fullmatch(str(body["code"])), body
    assert str(body["code"]).split(".")[0] == str(response.status_code), body
    assert "root:x:0:0" not in response.text
    return body


class Field:
    """Raw HTTP at the app user's submission URL, with Collect's headers unless told."""

    def __init__(self, server_url: str):
        self.server_url = server_url.rstrip("/")
        self.url = f"{self.server_url}/submission"

    @staticmethod
    def headers(**extra) -> dict:
        return {
            "X-OpenRosa-Version": "1.0",
            "Date": time.strftime("%a, %d %b %Y %I:%M:%S GMT", time.gmtime()),
            **extra,
        }

    def post(self, body: bytes, content_type: str | None, url: str | None = None, **headers):
        sent = self.headers(**headers)
        if content_type is not None:
            sent["Content-Type"] = content_type
        # A fresh connection each time: an early refusal may leave the body unread.
        return requests.post(
            url or self.url,
            data=body,
            headers={**sent, "Connection": "close"},
            params={"deviceID": "collect:fuzz"},
            timeout=60,
        )

    def still_serves(self) -> None:
        """A valid submission from a Collect-like client is still stored with 201."""
        xml = instance("visit", f"uuid:{uuid.uuid4()}", ma_kh="LAHU1M1990", gap="co", anh="a.jpg")
        [reply] = Collect(self.server_url).submit(xml, {"a.jpg": b"\xff\xd8 still " + xml})
        assert reply.status == 201, reply


# ---------------------------------------------------------------------------------------------
# Strategies

#: Text that lxml can put in an element or attribute (XML 1.0 characters, no surrogates).
xml_text = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs",),
        blacklist_characters="\ufffe\uffff",
        min_codepoint=0x20,
    )
    | st.sampled_from("\t\n\r"),
    max_size=200,
)

BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
        for i in range(1, 10)
    )
    + b']><data id="%(id)s" version="1"><ma_kh>&lol9;</ma_kh></data>'
)
EXTERNAL_ENTITY = (
    b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b'<data id="%(id)s" version="1"><ma_kh>&x;</ma_kh></data>'
)
NETWORK_ENTITY = (
    b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "http://127.0.0.1:9/x">]>'
    b'<data id="%(id)s" version="1"><ma_kh>&x;</ma_kh></data>'
)
PARAMETER_ENTITY = (
    b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY %% p SYSTEM "file:///etc/passwd"> %%p;]>'
    b'<data id="%(id)s" version="1"><ma_kh>x</ma_kh></data>'
)
EXTERNAL_DTD = (
    b'<?xml version="1.0"?><!DOCTYPE data SYSTEM "file:///etc/passwd">'
    b'<data id="%(id)s" version="1"><ma_kh>x</ma_kh></data>'
)
PLAIN_DOCTYPE = b'<!DOCTYPE data><data id="%(id)s" version="1"><ma_kh>x</ma_kh></data>'
ENTITY_DOCUMENTS = (
    BILLION_LAUGHS,
    EXTERNAL_ENTITY,
    NETWORK_ENTITY,
    PARAMETER_ENTITY,
    EXTERNAL_DTD,
    PLAIN_DOCTYPE,
)
INVALID_UTF8 = (
    b"\xff",
    b"\xfe\xff",
    b"\xc3\x28",
    b"\xed\xa0\x80",
    b"\xf8\x88\x80\x80\x80",
    b"\x80",
)


def element(tag: str, attrs: dict[str, str], body: str = "") -> bytes:
    root = etree.Element(tag, attrs)
    root.text = body
    return etree.tostring(root)


@st.composite
def refused_xml(draw, form_id: str = "visit", version: str = "1") -> bytes:
    """Submission XML that must be refused whatever else the request carries."""
    fid = form_id.encode()
    kind = draw(
        st.sampled_from(
            [
                "entities",
                "garbage",
                "truncated",
                "invalid_utf8",
                "deep",
                "wrong_form",
                "no_form_id",
                "wrong_version",
                "empty",
            ]
        )
    )
    answer = escape(draw(xml_text)).encode()
    uuid = draw(st.uuids()).hex.encode()
    valid = (
        b'<?xml version="1.0" encoding="UTF-8"?><data id="%s" version="%s"><ma_kh>%s</ma_kh>'
        b"<meta><instanceID>uuid:%s</instanceID></meta></data>"
    ) % (fid, version.encode(), answer, uuid)
    if kind == "entities":
        return draw(st.sampled_from(ENTITY_DOCUMENTS)) % {b"id": fid}
    if kind == "garbage":
        return draw(st.binary(max_size=2000).filter(lambda b: b"<" not in b))
    if kind == "truncated":
        return valid[: draw(st.integers(0, len(valid) - 2))]
    if kind == "invalid_utf8":
        at = draw(st.integers(valid.index(b"<ma_kh>") + 7, valid.index(b"</ma_kh>")))
        return valid[:at] + draw(st.sampled_from(INVALID_UTF8)) + valid[at:]
    if kind == "deep":
        depth = draw(st.integers(260, 3000))
        return (
            b'<data id="'
            + fid
            + b'" version="1">'
            + b"<g>" * depth
            + b"x"
            + b"</g>" * depth
            + b"</data>"
        )
    if kind == "wrong_form":
        other = draw(xml_text.filter(lambda s: s.strip() and s != form_id))
        return element("data", {"id": other, "version": version}, "x")
    if kind == "no_form_id":
        attrs = draw(
            st.dictionaries(
                st.sampled_from(["version", "ID", "formId", "xmlns"]), st.just("1"), max_size=2
            )
        )
        attrs.pop("xmlns", None)
        return element("data", attrs, "x")
    if kind == "wrong_version":
        other = draw(xml_text.filter(lambda s: s != version))
        return element("data", {"id": form_id, "version": other}, "x")
    return b""


HOSTILE_NAMES = [
    b"../../etc/passwd",
    b"../../../../../../../../tmp/donghanh-escape.jpg",
    b"/etc/passwd",
    b"/tmp/donghanh-escape.jpg",
    b"..\\..\\..\\windows\\win.ini",
    b"C:\\Windows\\System32\\evil.jpg",
    b"anh.jpg\x00.png",
    b"\x00",
    b"x" * 5000 + b".jpg",
    b"%2e%2e%2f%2e%2e%2fescape.jpg",
    b"anh.jpg/../../escape.jpg",
    b".",
    b"..",
    b"",
    b" ",
    b'a"b.jpg',
    b"a\r\nX-Injected: 1",
    b"\xff\xfe.jpg",
    "\u202egpj.exe".encode(),
    "ảnh chụp.jpg".encode(),
    b"~/.ssh/authorized_keys",
    b"file:///etc/passwd",
]
#: Names a part may carry: the list above, arbitrary text, and (less often) arbitrary bytes.
hostile_name = st.one_of(
    st.sampled_from(HOSTILE_NAMES),
    st.text(min_size=1, max_size=80).map(lambda s: s.encode().replace(b'"', b"")),
    st.binary(min_size=1, max_size=80),
)
