"""A central register on loopback that the tests can script: a small WSGI app that stores
what it receives keyed by Idempotency-Key (dropping resends, as a real register should),
checks the signature, and can be told to answer 500, 503 with Retry-After, 400, or to hang."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from sync import signing


class KeepAliveHandler(WSGIRequestHandler):
    """HTTP/1.1 with keep-alive, as a real register speaks (werkzeug defaults to 1.0)."""

    protocol_version = "HTTP/1.1"

    def log_request(self, *args, **kwargs) -> None:  # one line per delivery is noise here
        pass


@dataclass
class Scripted:
    status: int = 200
    headers: dict = field(default_factory=dict)
    delay: float = 0.0


class Register:
    def __init__(self, secret: str = ""):
        self.secret = secret
        self.stored: dict[str, dict] = {}  # by idempotency key
        self.posts: list[str] = []  # every key received, resends included
        self.bad_signatures = 0
        self.script: deque[Scripted] = deque()
        self.refuse: dict[str, int] = {}  # instanceID -> status to answer for it
        self.delay = 0.0
        self.in_flight: dict[str, int] = {}
        self.max_in_flight_per_key = 0
        self.lock = threading.Lock()
        self._server = None

    def __call__(self, environ, start_response):
        request = Request(environ)
        body = request.get_data()
        key = request.headers.get("Idempotency-Key", "")
        with self.lock:
            self.posts.append(key)
            self.in_flight[key] = self.in_flight.get(key, 0) + 1
            self.max_in_flight_per_key = max(self.max_in_flight_per_key, self.in_flight[key])
            scripted = self.script.popleft() if self.script else Scripted(delay=self.delay)
        try:
            if scripted.delay:
                time.sleep(scripted.delay)
            if self.secret and not signing.verify(
                self.secret, body, request.headers.get(signing.HEADER, "")
            ):
                self.bad_signatures += 1
                return Response("bad signature", 401)(environ, start_response)
            document = json.loads(body)
            refused = self.refuse.get(document["submission"]["versionInstanceId"])
            if refused:
                return Response("refused: missing ward code", refused)(environ, start_response)
            if scripted.status >= 300:
                return Response("scripted failure", scripted.status, headers=scripted.headers)(
                    environ, start_response
                )
            with self.lock:
                self.stored.setdefault(key, document)
            return Response(json.dumps({"ok": True}), 201)(environ, start_response)
        finally:
            with self.lock:
                self.in_flight[key] -= 1

    def start(self) -> str:
        self._server = make_server(
            "127.0.0.1", 0, self, threaded=True, request_handler=KeepAliveHandler
        )
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_port}/intake"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
