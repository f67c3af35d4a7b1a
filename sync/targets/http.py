"""POST the payload as JSON to the register: TLS verified, an Idempotency-Key the register can
drop resends by, an HMAC-SHA256 signature of the body, and one total deadline per request.

Connections are kept alive (a small pool per target, one connection per sending thread at a
time). The deadline covers connecting, sending and reading the whole answer: a watchdog
thread shuts the socket of a request that runs out of time, so a register that trickles its
answer one byte at a time cannot hold a send past it (a per-read timeout would not stop it).

Where the register takes several records in one request (``batch_url``, docs/forwarding.md),
``send_many`` posts a JSON array of the same documents and reads one result per record,
matched by idempotency key.
"""

from __future__ import annotations

import contextlib
import heapq
import http.client
import itertools
import json
import socket
import ssl
import threading
import time
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from server.registers import TargetConfig
from sync import signing
from sync.payload import Payload
from sync.policy import Outcome
from sync.targets import OpenBlob

MAX_ANSWER_BYTES = 1 << 20  # more than this and the connection is not reused
IDLE_CONNECTIONS = 16


class Timeout(Exception):
    """The request's total deadline passed."""


class HttpTarget:
    def __init__(self, config: TargetConfig):
        self.name = config.name
        self.url = config.url
        self.secret = config.secret
        self.timeout = config.timeout_seconds  # total, per request
        self.batch_size = config.batch_size if config.batch_url else 1
        self.single = Endpoint(config.url)
        self.batch = Endpoint(config.batch_url) if config.batch_url else None

    def close(self) -> None:
        for endpoint in (self.single, self.batch):
            if endpoint is not None:
                endpoint.close()

    def headers(self, body: bytes) -> dict[str, str]:
        headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": UA}
        if self.secret:
            headers[signing.HEADER] = signing.sign(self.secret, body)
        return headers

    def send(self, payload: Payload, open_blob: OpenBlob) -> Outcome:
        headers = self.headers(payload.body)
        headers["Idempotency-Key"] = payload.idempotency_key
        try:
            status, retry, answer = self.single.post(payload.body, headers, self.timeout)
        except (Timeout, TimeoutError):
            return Outcome(None, error="timeout")
        except (OSError, http.client.HTTPException) as e:
            return Outcome(None, error=f"connection: {type(e).__name__}")
        return Outcome(status, retry, _excerpt(answer))

    def send_many(self, payloads: list[Payload], open_blob: OpenBlob) -> list[Outcome]:
        """One request for several records; an outcome per record, in order."""
        if self.batch is None or len(payloads) == 1:
            return [self.send(p, open_blob) for p in payloads]
        body = b"[" + b",".join(p.body for p in payloads) + b"]"
        try:
            status, retry, answer = self.batch.post(body, self.headers(body), self.timeout)
        except (Timeout, TimeoutError):
            return [Outcome(None, error="timeout")] * len(payloads)
        except (OSError, http.client.HTTPException) as e:
            return [Outcome(None, error=f"connection: {type(e).__name__}")] * len(payloads)
        if not 200 <= status < 300:  # the request as a whole: the same for every record
            return [Outcome(status, retry, _excerpt(answer))] * len(payloads)
        try:
            results = {
                r["idempotencyKey"]: r for r in json.loads(answer)["results"] if isinstance(r, dict)
            }
        except (ValueError, KeyError, TypeError):
            return [Outcome(None, error="batch: unreadable answer")] * len(payloads)
        outcomes = []
        for p in payloads:
            result = results.get(p.idempotency_key)
            if result is None or not isinstance(result.get("status"), int):
                outcomes.append(Outcome(None, error="batch: no result for this record"))
            else:
                excerpt = str(result.get("error") or "")[:500]
                outcomes.append(Outcome(result["status"], retry, excerpt))
        return outcomes


UA = "donghanh-sync/2"


class Endpoint:
    """One URL: a pool of idle keep-alive connections to its host."""

    def __init__(self, url: str):
        parts = urlsplit(url)
        self.https = parts.scheme == "https"
        self.host = parts.hostname or ""
        self.port = parts.port or (443 if self.https else 80)
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.context = ssl.create_default_context() if self.https else None
        self.idle: list[http.client.HTTPConnection] = []
        self.lock = threading.Lock()

    def connection(self) -> tuple[http.client.HTTPConnection, bool]:
        """An idle connection (True: reused) or a new one."""
        with self.lock:
            if self.idle:
                return self.idle.pop(), True
        return self._new(), False

    def close(self) -> None:
        with self.lock:
            idle, self.idle = self.idle, []
        for conn in idle:
            conn.close()

    def give_back(self, conn: http.client.HTTPConnection) -> None:
        with self.lock:
            if len(self.idle) < IDLE_CONNECTIONS:
                self.idle.append(conn)
                return
        conn.close()

    def post(
        self, body: bytes, headers: dict[str, str], timeout: float
    ) -> tuple[int, float | None, bytes]:
        """POST within ``timeout`` seconds in all; (status, Retry-After, answer's start)."""
        deadline = time.monotonic() + timeout
        conn, reused = self.connection()
        try:
            return self._post(conn, body, headers, deadline)
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            if not reused or time.monotonic() >= deadline:
                raise
            # The register closed an idle keep-alive connection: once more on a new one (the
            # Idempotency-Key makes a second copy harmless, and nothing was answered).
            return self._post(self._new(), body, headers, deadline)

    def _new(self) -> http.client.HTTPConnection:
        if self.https:
            return http.client.HTTPSConnection(self.host, self.port, context=self.context)
        return http.client.HTTPConnection(self.host, self.port)

    def _post(self, conn, body, headers, deadline) -> tuple[int, float | None, bytes]:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            conn.close()
            raise Timeout
        watch = WATCHDOG.arm(conn, deadline)
        kept = False
        try:
            conn.timeout = remaining
            if conn.sock is None:
                conn.connect()
                conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn.sock.settimeout(max(0.001, deadline - time.monotonic()))
            if watch.expired:
                raise Timeout
            conn.request("POST", self.path, body, headers)
            response = conn.getresponse()
            if response.length is not None and response.length > MAX_ANSWER_BYTES:
                answer = response.read(MAX_ANSWER_BYTES)  # enough to keep; not reused
            else:
                answer = response.read()  # all of it: an answer cut short raises IncompleteRead
            status = response.status
            retry = retry_after(response.getheader("Retry-After"))
            kept = not response.will_close and response.isclosed()
        except (OSError, http.client.HTTPException) as e:
            if watch.expired:
                raise Timeout from e
            raise
        finally:
            WATCHDOG.disarm(watch)
            if kept and not watch.expired:
                self.give_back(conn)
            else:
                conn.close()
        return status, retry, answer


class Watch:
    __slots__ = ("at", "conn", "done", "expired")

    def __init__(self, at: float, conn: http.client.HTTPConnection | None):
        self.at, self.conn, self.expired, self.done = at, conn, False, False


class Watchdog:
    """One thread for every target: at a request's deadline, shut its socket, so whatever
    the sending thread is blocked on (connect, send, a read) returns at once."""

    def __init__(self) -> None:
        self.heap: list[tuple[float, int, Watch]] = []
        self.counter = itertools.count()
        self.wake = threading.Condition()
        self.thread: threading.Thread | None = None

    def arm(self, conn: http.client.HTTPConnection, at: float) -> Watch:
        watch = Watch(at, conn)
        with self.wake:
            if self.thread is None:
                self.thread = threading.Thread(
                    target=self.loop, name="donghanh-send-deadline", daemon=True
                )
                self.thread.start()
            heapq.heappush(self.heap, (at, next(self.counter), watch))
            if self.heap[0][2] is watch:
                self.wake.notify()
        return watch

    def disarm(self, watch: Watch) -> None:
        with self.wake:
            watch.done = True  # left in the heap; dropped when its time comes
            watch.conn = None

    def loop(self) -> None:
        while True:
            with self.wake:
                while self.heap and self.heap[0][2].done:
                    heapq.heappop(self.heap)
                if not self.heap:
                    self.wake.wait()
                    continue
                delay = self.heap[0][0] - time.monotonic()
                if delay > 0:
                    self.wake.wait(delay)
                    continue
                _, _, watch = heapq.heappop(self.heap)
                watch.expired = True
                sock = watch.conn.sock if watch.conn is not None else None
            if sock is not None:
                # The plain socket's shutdown, also under TLS: the SSL object is not touched.
                with contextlib.suppress(OSError):
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)


WATCHDOG = Watchdog()


def _excerpt(answer: bytes) -> str:
    return answer[:2000].decode("utf-8", "replace")[:500]


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
