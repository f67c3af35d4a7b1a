"""A client that speaks OpenRosa the way ODK Collect does (odk-protocol.md sections 1-4):
X-OpenRosa-Version and Collect's Date and User-Agent on every request, ?deviceID= on every
request, HEAD before POST, splitting by the announced X-OpenRosa-Accept-Content-Length (or
100 attachments) with *isIncomplete* on all but the last POST, and Digest only after a 401
challenge (requests' own HTTPDigestAuth, an implementation independent of ours)."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from pathlib import Path

import requests
from lxml import etree
from requests.auth import HTTPDigestAuth

FORM_LIST_NS = "{http://openrosa.org/xforms/xformsList}"
MANIFEST_NS = "{http://openrosa.org/xforms/xformsManifest}"
RESPONSE_NS = "{http://openrosa.org/http/response}"
DEFAULT_LIMIT = 10_000_000  # what Collect assumes when the HEAD gives no limit
MAX_FILES_PER_POST = 100


@dataclass
class Reply:
    status: int
    message: str | None
    headers: dict


class Collect:
    def __init__(
        self,
        server_url: str,
        username: str | None = None,
        password: str | None = None,
        device_id: str = "collect:AbCdEfGh12345678",
        version: str = "v2026.3.3",
        language: str | None = None,
    ):
        """``language``: an Accept-Language to send (Collect itself sends none)."""
        self.server_url = server_url.rstrip("/")
        self.device_id = device_id
        self.http = requests.Session()
        self.http.headers["User-Agent"] = (
            f"org.odk.collect.android/{version} Dalvik/2.1.0 (Linux; U; Android 14; Pixel 7)"
        )
        if language is not None:
            self.http.headers["Accept-Language"] = language
        if username is not None:
            self.http.auth = HTTPDigestAuth(username, password or "")

    def _headers(self) -> dict:
        # Collect's pattern "E, dd MMM yyyy hh:mm:ss zz" uses a 12-hour clock.
        return {
            "X-OpenRosa-Version": "1.0",
            "Date": time.strftime("%a, %d %b %Y %I:%M:%S GMT", time.gmtime()),
        }

    def get(self, url: str, headers: dict | None = None) -> requests.Response:
        return self.http.get(
            url,
            params={"deviceID": self.device_id},
            headers={**self._headers(), **(headers or {})},
            timeout=60,
        )

    def form_list(self) -> list[dict]:
        response = self.get(f"{self.server_url}/formList")
        assert response.status_code == 200, response.text
        assert "text/xml" in response.headers["Content-Type"]
        assert "X-OpenRosa-Version" in response.headers
        root = etree.fromstring(response.content)
        assert root.tag == f"{FORM_LIST_NS}xforms"
        return [
            {child.tag.removeprefix(FORM_LIST_NS): child.text for child in xform}
            for xform in root.findall(f"{FORM_LIST_NS}xform")
        ]

    def manifest(self, url: str) -> list[dict]:
        response = self.get(url)
        assert response.status_code == 200, response.text
        assert "text/xml" in response.headers["Content-Type"]
        root = etree.fromstring(response.content)
        return [
            {c.tag.removeprefix(MANIFEST_NS): c.text for c in media}
            for media in root.findall(f"{MANIFEST_NS}mediaFile")
        ]

    def head_submission(self) -> requests.Response:
        return self.http.head(
            f"{self.server_url}/submission",
            params={"deviceID": self.device_id},
            headers=self._headers(),
            timeout=60,
        )

    def submit(
        self,
        xml: bytes,
        attachments: dict[str, bytes | Path] | None = None,
        filename: str = "Visit_2026-11-22_10-15-00.xml",
    ) -> list[Reply]:
        """Send one instance as Collect does; returns the reply of each POST it made."""
        head = self.head_submission()
        limit = DEFAULT_LIMIT
        if head.status_code == 204:
            with contextlib.suppress(ValueError):
                limit = int(head.headers.get("X-OpenRosa-Accept-Content-Length", DEFAULT_LIMIT))
        elif head.status_code in (200, 201, 202):
            raise AssertionError("HEAD must answer 204 (Collect refuses other 2xx)")
        batches = _split(len(xml), attachments or {}, limit)
        replies = []
        for i, batch in enumerate(batches):
            files = [("xml_submission_file", (filename, xml, "text/xml"))]
            files += [(name, (name, _bytes(data), _content_type(name))) for name, data in batch]
            data = {"*isIncomplete*": "yes"} if i < len(batches) - 1 else None
            response = self.http.post(
                f"{self.server_url}/submission",
                params={"deviceID": self.device_id},
                headers=self._headers(),
                files=files,
                data=data,
                timeout=60,
            )
            replies.append(
                Reply(response.status_code, _message(response.content), dict(response.headers))
            )
            if response.status_code not in (201, 202):
                break
        return replies


def _bytes(data: bytes | Path) -> bytes:
    return data.read_bytes() if isinstance(data, Path) else data


def _size(data: bytes | Path) -> int:
    return data.stat().st_size if isinstance(data, Path) else len(data)


def _split(xml_size: int, attachments: dict, limit: int) -> list[list[tuple[str, bytes | Path]]]:
    """Collect's rule: start a new POST when the next file would pass the limit or 100 files."""
    batches: list[list] = [[]]
    total = xml_size
    for name, data in attachments.items():
        size = _size(data)
        current = batches[-1]
        if current and (total + size > limit or len(current) >= MAX_FILES_PER_POST):
            batches.append([])
            total = xml_size
        batches[-1].append((name, data))
        total += size
    return batches


def _content_type(name: str) -> str:
    return {
        "jpg": "image/jpeg",
        "jpeg": "image/jpeg",
        "png": "image/png",
        "m4a": "audio/mp4",
        "csv": "text/csv",
        "enc": "application/octet-stream",
    }.get(name.rsplit(".", 1)[-1].lower(), "application/octet-stream")


def _message(body: bytes) -> str | None:
    if b"OpenRosaResponse" not in body:
        return None
    root = etree.fromstring(body)
    message = root.find(f".//{RESPONSE_NS}message")
    return message.text if message is not None else None
