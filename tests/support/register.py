"""A central register on loopback that the tests can script: an HTTP/1.1 keep-alive server
(the standard library's, one thread per connection) that stores what it receives keyed by
Idempotency-Key (dropping resends, as a real register should), checks the signature, and can
be told to answer 500, 503 with Retry-After, 400, to hang, to trickle its answer one byte at
a time, or to cut its answer short.

It also takes several records in one request at ``<url>/batch`` (docs/forwarding.md): a JSON
array of documents, answered with one result per record, by idempotency key.

``python -m tests.support.register`` runs one in its own process (the forwarding bench):
it prints its URL, serves until stopped, and answers ``GET <url>/stats`` with its counts.
"""

from __future__ import annotations

import argparse
import json
import signal
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sync import signing


@dataclass
class Scripted:
    status: int = 200
    headers: dict = field(default_factory=dict)
    delay: float = 0.0  # before answering
    trickle: float = 0.0  # seconds between the answer's bytes
    cut: bool = False  # announce a longer answer than is sent, then close


@dataclass
class Reply:
    status: int
    body: bytes
    headers: dict = field(default_factory=dict)
    trickle: float = 0.0
    cut: bool = False


class Register:
    def __init__(self, secret: str = ""):
        self.secret = secret
        self.stored: dict[str, dict] = {}  # by idempotency key
        self.posts: list[str] = []  # every key received, resends included
        self.requests = 0  # HTTP requests (a batch is one)
        self.batches = 0
        self.bad_signatures = 0
        self.abandoned = 0  # answers the client hung up on before they were finished
        self.script: deque[Scripted] = deque()
        self.refuse: dict[str, int] = {}  # instanceID -> status to answer for it
        self.unanswered: set[str] = set()  # instanceIDs a batch answer leaves out
        self.delay = 0.0
        self.always: Scripted | None = None  # answer every request so (after the script)
        self.in_flight: dict[str, int] = {}
        self.max_in_flight_per_key = 0
        self.lock = threading.Lock()
        self.port = 0
        self._server: ThreadingHTTPServer | None = None

    def answer(self, path: str, headers, body: bytes) -> Reply:
        batch = path.rstrip("/").endswith("/batch")
        try:
            documents = json.loads(body) if batch else [json.loads(body)]
        except ValueError:
            return Reply(400, b"not JSON")
        keys = (
            [str(d.get("idempotencyKey", "")) for d in documents]
            if batch
            else [headers.get("Idempotency-Key", "")]
        )
        with self.lock:
            self.requests += 1
            self.batches += batch
            self.posts.extend(keys)
            for key in keys:
                self.in_flight[key] = self.in_flight.get(key, 0) + 1
                self.max_in_flight_per_key = max(self.max_in_flight_per_key, self.in_flight[key])
            scripted = (
                self.script.popleft()
                if self.script
                else self.always
                if self.always
                else Scripted(delay=self.delay)
            )
        try:
            if scripted.delay:
                time.sleep(scripted.delay)
            if self.secret and not signing.verify(
                self.secret, body, headers.get(signing.HEADER, "")
            ):
                with self.lock:
                    self.bad_signatures += 1
                return Reply(401, b"bad signature")
            if scripted.status >= 300:
                return Reply(scripted.status, b"scripted failure", scripted.headers)
            results = []
            for key, document in zip(keys, documents, strict=True):
                refused = self.refuse.get(document["submission"]["versionInstanceId"])
                if refused:
                    results.append(
                        {
                            "idempotencyKey": key,
                            "status": refused,
                            "error": "refused: missing ward code",
                        }
                    )
                    continue
                with self.lock:
                    self.stored.setdefault(key, document)
                if document["submission"]["versionInstanceId"] not in self.unanswered:
                    results.append({"idempotencyKey": key, "status": 201})
            if batch:
                answer = json.dumps({"results": results}).encode()
                return Reply(200, answer, trickle=scripted.trickle, cut=scripted.cut)
            [result] = results or [{"status": 201}]
            if result["status"] != 201:
                return Reply(result["status"], result["error"].encode())
            return Reply(201, b'{"ok": true}', trickle=scripted.trickle, cut=scripted.cut)
        finally:
            with self.lock:
                for key in keys:
                    self.in_flight[key] -= 1

    def stats(self) -> dict:
        with self.lock:
            return {
                "stored": len(self.stored),
                "distinct": len(
                    {d["submission"]["versionInstanceId"] for d in self.stored.values()}
                ),
                "posts": len(self.posts),
                "requests": self.requests,
                "batches": self.batches,
            }

    def start(self, port: int | None = None) -> str:
        """Serve on 127.0.0.1 (on ``port``, or the last one, or any free one)."""
        port = self.port if port is None else port
        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self._server.register = self  # type: ignore[attr-defined]
        self.port = self._server.server_port
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.port}/intake"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real register speaks
    disable_nagle_algorithm = True  # headers and body go in two writes

    def log_message(self, format, *args) -> None:  # one line per delivery is noise here
        pass

    def do_GET(self) -> None:
        if not self.path.endswith("/stats"):
            self.send_error(404)
            return
        self.reply(Reply(200, json.dumps(self.server.register.stats()).encode()))

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.reply(self.server.register.answer(self.path, self.headers, body))

    def reply(self, reply: Reply) -> None:
        register = self.server.register
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply.body) + (100 if reply.cut else 0)))
        self.end_headers()
        try:
            if reply.trickle:
                for i in range(len(reply.body)):
                    self.wfile.write(reply.body[i : i + 1])
                    self.wfile.flush()
                    time.sleep(reply.trickle)
            else:
                self.wfile.write(reply.body)
            self.wfile.flush()
        except OSError:
            with register.lock:
                register.abandoned += 1
            self.close_connection = True
            return
        if reply.cut:  # fewer bytes than announced, then the connection goes
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)


def main() -> None:
    parser = argparse.ArgumentParser(description="A register on loopback, in its own process.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--secret", default="")
    parser.add_argument("--delay", type=float, default=0.0)
    args = parser.parse_args()
    register = Register(secret=args.secret)
    register.delay = args.delay
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    print(register.start(args.port), flush=True)
    stop.wait()
    register.stop()


if __name__ == "__main__":
    main()
