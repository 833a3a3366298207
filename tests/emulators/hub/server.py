"""A Hugging Face Hub emulator on 127.0.0.1 that serves huggingface_hub's requests at the HTTP level.

Start it, point `HF_ENDPOINT` (or `endpoint=`) at `emulator.url`, and use the real library. It serves the
fixture repositories under `fixtures/`, repositories added by a test (in memory or from a local directory),
tokens with classic roles or fine-grained scopes, and records every request without its credentials.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from .access import Principal
from .app import Fault, HubApp, Request
from .replies import Reply
from .repos import Repo, StoredFile
from .synth import load_fixtures


@dataclass(frozen=True)
class LoggedRequest:
    """One request as the emulator saw it; the Authorization header is reduced to the user it names."""

    method: str
    path: str
    query: str
    status: int
    user: str | None
    range: str | None = None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature fixed by the base class
        return

    def do_GET(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _dispatch(self) -> None:
        emulator = self.server.emulator
        app = emulator.app
        parts = urlsplit(self.path)
        segments = [unquote(segment) for segment in parts.path.split("/")[1:] if segment != ""]
        headers = {key.lower(): value for key, value in self.headers.items()}
        body = self._read_body()
        auth = headers.get("authorization", "")
        token = auth[len("Bearer ") :].strip() if auth.startswith("Bearer ") else None
        principal = app.tokens.get(token) if token else None

        fault = app.take_fault(self.command, parts.path)
        if fault is not None:
            reply = Reply(fault.status, {"Content-Type": "application/json", **fault.headers}, fault.body)
        else:
            request = Request(self.command, segments, parse_qs(parts.query), headers, body, principal, token is not None)
            try:
                reply = app.handle(request)
            except (KeyError, ValueError, TypeError) as exc:
                reply = Reply.json({"error": f"Bad request: {exc}"}, 400)

        emulator.record(
            LoggedRequest(
                self.command, parts.path, parts.query, reply.status, principal.user if principal else None, headers.get("range")
            )
        )
        self.send_response(reply.status)
        for key, value in reply.headers.items():
            self.send_header(key, value)
        length = reply.head_length if self.command == "HEAD" and reply.head_length is not None else len(reply.body)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    emulator: HubEmulator


class HubEmulator:
    """The running emulator; tests configure it through these methods and read what clients sent."""

    def __init__(self, load_fixture_repos: bool = True) -> None:
        self.app = HubApp()
        self.requests: list[LoggedRequest] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        if load_fixture_repos:
            for repo in load_fixtures():
                self.app.repos[(repo.repo_type, repo.repo_id)] = repo

    # Lifecycle

    def start(self) -> HubEmulator:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.emulator = self
        self.app.base_url = self.url
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="hub-emulator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        assert self._server is not None, "the emulator is not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # Configuration

    def add_token(
        self,
        token: str,
        user: str,
        role: str = "write",
        fine_grained: dict[str, list[str]] | None = None,
        orgs: dict[str, str] | None = None,
        can_read_gated: bool = True,
    ) -> Principal:
        """Register a token of `user`: classic `role`, or fine-grained permissions per entity name."""
        principal = Principal(user, role, dict(orgs or {}), fine_grained, can_read_gated)
        self.app.tokens[token] = principal
        return principal

    def add_repo(
        self,
        repo_id: str,
        files: dict[str, bytes | str] | None = None,
        repo_type: str = "model",
        private: bool = False,
        gated: bool | str = False,
        card_data: dict[str, Any] | None = None,
    ) -> Repo:
        """Add a repository whose files are given in memory."""
        stored = {
            path: StoredFile(path, data=content.encode() if isinstance(content, str) else content)
            for path, content in (files or {}).items()
        }
        repo = Repo(repo_id, repo_type, private, gated, card_data=dict(card_data or {}))
        repo.commit(stored, "initial commit")
        self.app.repos[(repo_type, repo_id)] = repo
        return repo

    def add_local_repo(self, repo_id: str, directory: Path | str, **options: Any) -> Repo:
        """Serve the files of a local directory (read on each request) as a repository."""
        root = Path(directory)
        repo = self.add_repo(repo_id, {}, **options)
        files = {
            str(path.relative_to(root)): StoredFile(str(path.relative_to(root)), source=path)
            for path in sorted(root.rglob("*"))
            if path.is_file()
        }
        repo.commit(files, "add local files")
        return repo

    def repo(self, repo_id: str, repo_type: str = "model") -> Repo:
        repo = self.app.find(repo_id, repo_type)
        if repo is None:
            raise KeyError(f"{repo_type} repository {repo_id!r} is not on the emulator")
        return repo

    def grant(self, repo_id: str, user: str, repo_type: str = "model") -> None:
        """Give `user` access to a gated repository."""
        self.repo(repo_id, repo_type).granted.add(user)

    def add_branch(self, repo_id: str, branch: str, repo_type: str = "model") -> str:
        repo = self.repo(repo_id, repo_type)
        repo.refs[branch] = repo.sha
        return repo.sha

    def fail(self, path_part: str, status: int, method: str | None = None, times: int = 1, **reply: Any) -> None:
        """Reply with `status` to the next `times` requests whose path contains `path_part`."""
        self.app.faults.append(Fault(path_part, status, method, times, **reply))

    # Inspection

    def record(self, entry: LoggedRequest) -> None:
        with self.app.lock:
            self.requests.append(entry)

    def repo_files(self, repo_id: str, repo_type: str = "model") -> dict[str, bytes]:
        """Return the files at the head of `main` with their content; synthesized weight files are left out
        (their paths are in `repo_paths`)."""
        files = self.repo(repo_id, repo_type).files()
        return {path: stored.read() for path, stored in files.items() if stored.synthetic is None}

    def repo_paths(self, repo_id: str, repo_type: str = "model") -> list[str]:
        return sorted(self.repo(repo_id, repo_type).files())

    def repo_file(self, repo_id: str, path: str, repo_type: str = "model") -> bytes:
        return self.repo(repo_id, repo_type).files()[path].read()

    def repo_private(self, repo_id: str, repo_type: str = "model") -> bool:
        return self.repo(repo_id, repo_type).private

    def has_repo(self, repo_id: str, repo_type: str = "model") -> bool:
        return self.app.find(repo_id, repo_type) is not None

    @property
    def created(self) -> list[dict[str, Any]]:
        """Return every create-repo request body, accepted or not."""
        return list(self.app.created)

    def requests_to(self, path_part: str, method: str | None = None) -> list[LoggedRequest]:
        return [entry for entry in self.requests if path_part in entry.path and method in (None, entry.method)]

    def request_log_text(self) -> str:
        """Return the whole request log as JSON text, e.g. to assert that no secret appears in it."""
        return json.dumps([entry.__dict__ for entry in self.requests] + self.created)
