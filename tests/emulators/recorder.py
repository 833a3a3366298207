"""A recording HTTP server on 127.0.0.1 that emulates a progress webhook or a Discord webhook.

Each request is stored with its method, path, headers, body and arrival time. Replies are scripted:
`recorder.script(Reply.rate_limited(1.0), Reply(500))` makes the next two responses a 429 and a 500,
and every later request gets the default reply (204). A reply with `hang_s` sleeps before responding,
which emulates an endpoint that does not respond within the client's timeout.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import pytest


@dataclass
class Reply:
    """A scripted response: status, headers, a JSON body, and an optional delay before it is sent."""

    status: int = 204
    headers: dict[str, str] = field(default_factory=dict)
    json_body: Any = None
    hang_s: float = 0.0

    @classmethod
    def rate_limited(cls, retry_after: float, discord: bool = False) -> "Reply":
        """Return a 429 reply: Discord's JSON `retry_after`, or a plain `Retry-After` header in whole seconds."""
        if discord:
            return cls(429, json_body={"message": "You are being rate limited.", "retry_after": retry_after, "global": False})
        return cls(429, headers={"Retry-After": str(int(retry_after))})


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    arrived: float

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


class Recorder:
    """The server's state: recorded requests and the reply script. Thread-safe."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self.default = Reply()
        self._script: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "/hook") -> str:
        return self.base_url + path

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._script.extend(replies)

    def next_reply(self) -> Reply:
        with self._lock:
            return self._script.popleft() if self._script else self.default

    def record(self, request: RecordedRequest) -> None:
        with self._arrived:
            self.requests.append(request)
            self._arrived.notify_all()

    def wait_for(self, count: int, timeout_s: float = 10.0) -> list[RecordedRequest]:
        """Wait until `count` requests arrived and return all recorded requests; raise on timeout."""
        deadline = time.monotonic() + timeout_s
        with self._arrived:
            while len(self.requests) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"expected {count} requests, received {len(self.requests)}")
                self._arrived.wait(remaining)
            return list(self.requests)

    def bodies(self) -> list[Any]:
        with self._lock:
            return [request.json for request in self.requests]

    def start(self) -> "Recorder":
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {key.lower(): value for key, value in self.headers.items()}
                recorder.record(RecordedRequest(self.command, self.path, headers, body, time.monotonic()))

                reply = recorder.next_reply()
                if reply.hang_s:
                    time.sleep(reply.hang_s)
                payload = b"" if reply.json_body is None else json.dumps(reply.json_body).encode()
                try:
                    self.send_response(reply.status)
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    if payload:
                        self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_PUT = do_POST
            do_PATCH = do_POST

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="recorder", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    """A started recording HTTP server on a free loopback port."""
    server = Recorder().start()
    try:
        yield server
    finally:
        server.stop()
