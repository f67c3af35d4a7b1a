"""POST the payload as JSON to the register: TLS verified, timeouts, an Idempotency-Key the
register can drop resends by, and an HMAC-SHA256 signature of the body."""

from __future__ import annotations

import threading
import time
from email.utils import parsedate_to_datetime

import requests

from server.registers import TargetConfig
from sync import signing
from sync.payload import Payload
from sync.policy import Outcome
from sync.targets import OpenBlob


class HttpTarget:
    def __init__(self, config: TargetConfig):
        self.name = config.name
        self.url = config.url
        self.secret = config.secret
        self.timeout = config.timeout_seconds
        self.local = threading.local()  # one keep-alive session per sending thread

    def send(self, payload: Payload, open_blob: OpenBlob) -> Outcome:
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Idempotency-Key": payload.idempotency_key,
            "User-Agent": "donghanh-sync/1",
        }
        if self.secret:
            headers[signing.HEADER] = signing.sign(self.secret, payload.body)
        try:
            if not hasattr(self.local, "http"):
                self.local.http = requests.Session()
            response = self.local.http.post(
                self.url,
                data=payload.body,
                headers=headers,
                timeout=(min(10, self.timeout), self.timeout),
                verify=True,
            )
        except requests.Timeout:
            return Outcome(None, error="timeout")
        except requests.ConnectionError as e:
            return Outcome(None, error=f"connection: {type(e).__name__}")
        return Outcome(
            response.status_code,
            retry_after(response.headers.get("Retry-After")),
            response.text[:500],
        )


def retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None
