"""Fuzzing POST and HEAD /v1/key/{token}/projects/{id}/submission over real HTTP.

Whatever arrives, the answer is a 2xx or a clean 4xx with an OpenRosaResponse body, never a
5xx; a refused POST leaves no row in submissions, submission_versions,
submission_attachments or blobs, no spooled temporary file, and no file anywhere but
content-addressed blobs in the store; and the server then still stores a valid submission.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text

from tests.fuzz.support import (
    HOSTILE_NAMES,
    SUBMISSION_TABLES,
    Field,
    assert_blob_store_sound,
    assert_clean_json_refusal,
    assert_clean_openrosa_refusal,
    count_rows,
    files_under,
    fuzz_settings,
    hostile_name,
    multipart,
    openrosa_message,
    refused_xml,
    xml_text,
)
from tests.support.xmls import instance

BOUNDARY = b"----fuzzBoundary7MA4YWxkTrZu0gW"
MULTIPART = "multipart/form-data; boundary=" + BOUNDARY.decode()
PHOTO = b"\xff\xd8\xff\xe0 fuzz photo " * 50


def valid_xml(instance_id: str, photo: str = "anh.jpg", **answers) -> bytes:
    answers.setdefault("ma_kh", "LAHU1M1990")
    return instance("visit", instance_id, gap="co", anh=photo, **answers)


def xml_part(xml: bytes, filename: bytes | None = b"submission.xml"):
    return (b"xml_submission_file", filename, b"text/xml", xml)


class Watch:
    """Row counts and files before a request, compared with what is there after it."""

    def __init__(self, db, tmp_path: Path, store_root: Path, spool_dir: Path):
        self.db, self.tmp_path, self.store_root, self.spool_dir = (
            db,
            tmp_path,
            store_root,
            spool_dir,
        )
        self.snapshot()

    def snapshot(self) -> None:
        self.rows = count_rows(self.db, SUBMISSION_TABLES)
        self.files = files_under(self.tmp_path)

    def delta(self) -> dict[str, int]:
        now = count_rows(self.db, SUBMISSION_TABLES)
        return {t: now[t] - self.rows[t] for t in SUBMISSION_TABLES}

    def assert_files_confined(self) -> None:
        store = self.store_root.relative_to(self.tmp_path).as_posix() + "/"
        new = files_under(self.tmp_path) - self.files
        outside = sorted(f for f in new if not f.startswith(store))
        assert outside == [], f"files written outside the blob store: {outside}"
        assert files_under(self.spool_dir) == set(), "a spooled part was left behind"
        assert not Path("/tmp/donghanh-escape.jpg").exists()
        assert not (Path.cwd() / "etc" / "passwd").exists()
        assert_blob_store_sound(self.store_root)

    def assert_refused(self, response: requests.Response) -> str:
        message = assert_clean_openrosa_refusal(response)
        assert self.delta() == dict.fromkeys(SUBMISSION_TABLES, 0), message
        self.assert_files_confined()
        return message

    def assert_refused_or_stored(self, response: requests.Response, sent_xml: bytes | None):
        """For input that may be acceptable: 201 stores at most one new version (the exact
        bytes sent, when we know them); anything else is a clean refusal with nothing kept."""
        if response.status_code != 201:
            return self.assert_refused(response)
        assert (
            openrosa_message(response) == "Đã gửi phiếu lên máy chủ."
        )  # Collect sends no Accept-Language
        delta = self.delta()
        assert delta["submissions"] in (0, 1), delta
        assert delta["submission_versions"] in (0, 1), delta
        if delta["submission_versions"] and sent_xml is not None:
            with self.db.engine.connect() as conn:
                stored = conn.execute(
                    text("SELECT xml FROM submission_versions ORDER BY id DESC LIMIT 1")
                ).scalar_one()
            assert bytes(stored) == sent_xml
        self.assert_files_confined()
        self.snapshot()
        return None


@pytest.fixture
def watch(db, tmp_path, store_root, spool_dir) -> Watch:
    return Watch(db, tmp_path, store_root, spool_dir)


# --- bodies that are not a submission at all -------------------------------------------------

content_types = st.one_of(
    st.just(MULTIPART),
    st.none(),
    st.sampled_from(
        [
            "text/xml",
            "application/xml",
            "application/octet-stream",
            "application/x-www-form-urlencoded",
            "application/json",
            "multipart/form-data",
            "multipart/form-data; boundary=",
            'multipart/form-data; boundary=""',
            "multipart/mixed; boundary=" + BOUNDARY.decode(),
            "multipart/form-data; boundary=" + "b" * 5000,
            MULTIPART,
            "MULTIPART/FORM-DATA; BOUNDARY=" + BOUNDARY.decode(),
            "multipart/form-data; charset=utf-8",
        ]
    ),
    st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=80).map(
        lambda s: "multipart/form-data; boundary=" + s
    ),
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=80).map(
        str.strip
    ),
)


@st.composite
def junk_multipart(draw) -> bytes:
    """Multipart-looking bodies with no usable xml_submission_file."""
    parts = draw(
        st.lists(
            st.tuples(
                hostile_name.filter(lambda n: n != b"xml_submission_file"),
                st.none() | hostile_name,
                st.none() | st.sampled_from([b"text/xml", b"image/jpeg", b"\x00\xff", b""]),
                st.binary(max_size=300),
            ),
            max_size=4,
        )
    )
    body = multipart(parts, BOUNDARY)
    cut = draw(st.none() | st.integers(0, len(body)))
    return body if cut is None else body[:cut]


def test_bodies_that_are_not_a_submission_are_refused_cleanly(field, watch):
    @fuzz_settings(50)
    @given(
        body=st.binary(max_size=4096) | junk_multipart(),
        content_type=content_types,
    )
    def check(body, content_type):
        response = field.post(body, content_type)
        watch.assert_refused(response)

    check()
    field.still_serves()


# --- multipart bodies whose XML must be refused ---------------------------------------------


@st.composite
def parts_around(draw, xml: bytes):
    """The XML part among hostile attachments, in any order, with hostile filenames."""
    attachments = draw(
        st.lists(
            st.tuples(
                hostile_name,
                st.none() | hostile_name,
                st.none() | st.sampled_from([b"image/jpeg", b"application/octet-stream", b"x"]),
                st.sampled_from([PHOTO, b"", b"root:x:0:0"]) | st.binary(max_size=200),
            ),
            max_size=3,
        )
    )
    filename = draw(st.sampled_from([b"submission.xml", None]) | hostile_name)
    at = draw(st.integers(0, len(attachments)))
    return [*attachments[:at], xml_part(xml, filename), *attachments[at:]]


def test_hostile_or_broken_xml_is_refused_and_nothing_is_stored(field, watch):
    @fuzz_settings(60)
    @given(data=st.data())
    def check(data):
        xml = data.draw(refused_xml(), label="xml")
        parts = data.draw(parts_around(xml), label="parts")
        response = field.post(multipart(parts, BOUNDARY), MULTIPART)
        watch.assert_refused(response)

    check()
    field.still_serves()


def test_the_rest_api_refuses_hostile_xml_cleanly_and_stores_nothing(admin, field, watch, project):
    """The same bodies sent to the REST API (pyodk's create and edit): a JSON problem, never
    a 5xx, nothing stored; then a valid submission is still stored."""
    base = f"/projects/{project.id}/forms/visit/submissions"

    @fuzz_settings(40)
    @given(
        xml=refused_xml(),
        edit=st.booleans(),
        content_type=st.sampled_from(["application/xml", "text/xml"]),
    )
    def check(xml, edit, content_type):
        method, path = ("PUT", f"{base}/uuid:x") if edit else ("POST", base)
        response = admin(method, path, data=xml, headers={"Content-Type": content_type})
        assert_clean_json_refusal(response)
        assert watch.delta() == dict.fromkeys(SUBMISSION_TABLES, 0)
        watch.assert_files_confined()

    check()
    stored = admin(
        "POST", base, data=valid_xml(f"uuid:{uuid.uuid4()}"), headers={"Content-Type": "text/xml"}
    )
    assert stored.status_code == 200, stored.text
    assert stored.json()["instanceId"].startswith("uuid:")


@pytest.mark.parametrize(
    "xml",
    [
        pytest.param(
            b"<data id='visit' version='1'><ma_kh>" + b"x" * 10_500_000 + b"</ma_kh></data>",
            id="text-node-over-libxml2-limit",
        ),
        pytest.param(
            b"<data id='visit' version='1'>" + b"<g>" * 100_000 + b"</g>" * 100_000 + b"</data>",
            id="100k-levels",
        ),
        pytest.param(
            b"<data id='visit' version='1' "
            + b" ".join(b"a%d='1'" % i for i in range(50_000))
            + b"/>",
            id="50k-attributes-no-meta",
        ),
    ],
)
def test_oversized_documents_are_answered_cleanly(field, watch, xml):
    response = field.post(multipart([xml_part(xml)], BOUNDARY), MULTIPART)
    watch.assert_refused_or_stored(response, xml)
    field.still_serves()


# --- valid-looking submissions with hostile content: stored exactly, or refused -------------


@st.composite
def bold_submission(draw, canary: str):
    """A submission to the right form whose answers, names and sizes are hostile."""
    iid = draw(
        st.sampled_from([f"uuid:{draw(st.uuids())}", ""])
        | xml_text.map(lambda s: f"uuid:{uuid.uuid4()}{s}")
    )
    photo = draw(
        st.sampled_from(
            [n for n in HOSTILE_NAMES if b"\x00" not in n and b"\xff" not in n and b"\r" not in n]
            + [canary.encode()]
        )
    ).decode()
    big = draw(st.integers(0, 1_500_000))
    answer = draw(xml_text) + draw(st.sampled_from("x0ờ\u200b")) * big
    depth = draw(st.integers(0, 240))
    nested = "<g>" * depth + "y" + "</g>" * depth
    xml = valid_xml(
        iid,
        photo=photo,
        ma_kh=answer,
        instance_name=draw(xml_text),
    ).replace(b"</data>", nested.encode() + b"</data>")
    names = draw(st.lists(st.sampled_from([photo.encode(), *HOSTILE_NAMES]), max_size=3))
    parts = [
        (name, name, b"image/jpeg", draw(st.sampled_from([PHOTO, b"", b"root:x:0:0"])))
        for name in names
    ]
    return xml, [xml_part(xml), *parts]


def test_hostile_answers_and_attachment_names_are_stored_exactly_or_refused(field, watch, tmp_path):
    canary = str(tmp_path / "outside" / "escape.jpg")

    @fuzz_settings(40)
    @given(data=st.data())
    def check(data):
        xml, parts = data.draw(bold_submission(canary))
        response = field.post(multipart(parts, BOUNDARY), MULTIPART)
        watch.assert_refused_or_stored(response, xml)
        assert not Path(canary).exists()

    check()
    field.still_serves()


# --- a valid submission, mutated byte by byte -----------------------------------------------


@st.composite
def mutated_submission(draw) -> tuple[bytes, str]:
    xml = valid_xml(f"uuid:{draw(st.uuids())}")
    parts = [xml_part(xml), (b"anh.jpg", b"anh.jpg", b"image/jpeg", PHOTO)]
    if draw(st.booleans()):
        parts.append(xml_part(draw(refused_xml())))  # a second XML part
    body = multipart(parts, BOUNDARY)
    for _ in range(draw(st.sampled_from([1, 1, 1, 2, 3]))):
        at = draw(st.integers(0, len(body)))
        op = draw(st.sampled_from(["truncate", "flip", "insert", "delete"]))
        if op == "truncate":
            body = body[:at]
        elif op == "flip" and at < len(body):
            body = body[:at] + bytes([body[at] ^ draw(st.integers(1, 255))]) + body[at + 1 :]
        elif op == "insert":
            body = body[:at] + draw(st.binary(min_size=1, max_size=64)) + body[at:]
        else:
            body = body[:at] + body[at + draw(st.integers(1, 200)) :]
    content_type = draw(
        st.sampled_from([MULTIPART] * 4 + [MULTIPART + "x", "multipart/form-data; boundary=B"])
    )
    return body, content_type


def test_mutated_multipart_bodies_never_half_store(field, watch):
    @fuzz_settings(50)
    @given(mutated_submission())
    def check(sent):
        body, content_type = sent
        response = field.post(body, content_type)
        # A mutation may leave a valid submission (then it is stored); the XML is unknown here.
        watch.assert_refused_or_stored(response, None)

    check()
    field.still_serves()


# --- the wrong door: tokens, projects, headers, methods --------------------------------------


def test_preflight_and_post_with_wrong_token_project_or_headers(field, project, watch):
    base = field.server_url.split("/v1/key/")[0]
    token = field.server_url.split("/v1/key/")[1].split("/")[0]

    @fuzz_settings(50)
    @given(
        method=st.sampled_from(["HEAD", "GET", "POST"]),
        key=st.just(token) | st.text(min_size=1, max_size=80).filter(lambda s: "/" not in s),
        project_id=st.just(project.id) | st.integers(0, 2**31 - 1),
        version=st.sampled_from(["1.0", None, "", "2.0", "1.0 "])
        | st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=20),
        device=st.text(max_size=300),
    )
    def check(method, key, project_id, version, device):
        url = f"{base}/v1/key/{requests.utils.quote(key, safe='')}/projects/{project_id}/submission"
        headers = {"Connection": "close", "Date": Field.headers()["Date"]}
        if version is not None:
            headers["X-OpenRosa-Version"] = version
        body = multipart([xml_part(valid_xml(f"uuid:{uuid.uuid4()}"))], BOUNDARY)
        response = requests.request(
            method,
            url,
            headers={**headers, "Content-Type": MULTIPART},
            params={"deviceID": device},
            data=body if method == "POST" else None,
            timeout=60,
        )
        good = key == token and project_id == project.id and version == "1.0"
        if good:
            assert response.status_code == (201 if method == "POST" else 204), response.text
            watch.snapshot()
            return
        assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
        if method == "HEAD":
            assert response.content == b""
        else:
            watch.assert_refused(response)

    check()
    field.still_serves()


@pytest.mark.parametrize("method", ["HEAD", "GET", "POST"])
@pytest.mark.parametrize("project_id", [2**63, 10**30])
def test_project_id_beyond_64_bits_is_404(field, project, watch, method, project_id):
    url = field.url.replace(f"/projects/{project.id}/", f"/projects/{project_id}/")
    body = multipart([xml_part(valid_xml(f"uuid:{uuid.uuid4()}"))], BOUNDARY)
    response = requests.request(
        method,
        url,
        headers={**Field.headers(), "Content-Type": MULTIPART, "Connection": "close"},
        data=body if method == "POST" else None,
        timeout=60,
    )
    assert response.status_code == 404, response.status_code
    if method != "HEAD":
        watch.assert_refused(response)
