"""Routes of the Hub emulator for the requests huggingface_hub 2.x sends: model info, whoami, file downloads,
repository creation and commits. This module maps a request to a reply, and `server.py` contains the HTTP side."""

from __future__ import annotations

import base64
import gzip
import json
import threading
from dataclasses import dataclass, field
from typing import Any

import yaml

from . import replies
from .access import Principal
from .replies import Reply
from .repos import Repo, StoredFile

KINDS = {"models": "model", "datasets": "dataset"}

# Largest synthesized file served whole; larger ones are for metadata (Range) requests only.
MAX_SYNTHETIC_GET = 64 * 1024 * 1024


@dataclass
class Request:
    method: str
    segments: list[str]
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    principal: Principal | None
    authenticated: bool


@dataclass
class Fault:
    """A scripted failure: the next `times` requests whose path contains `path_part` get this reply."""

    path_part: str
    status: int
    method: str | None = None
    times: int = 1
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b'{"error": "injected failure"}'


class HubApp:
    """The emulator's state (repositories, tokens, faults) and its request handling."""

    def __init__(self) -> None:
        self.base_url = ""
        self.repos: dict[tuple[str, str], Repo] = {}
        self.tokens: dict[str, Principal] = {}
        self.faults: list[Fault] = []
        self.created: list[dict[str, Any]] = []
        self.lock = threading.RLock()

    def find(self, repo_id: str, repo_type: str = "model") -> Repo | None:
        return self.repos.get((repo_type, repo_id))

    def take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.path_part in path and fault.method in (None, method) and fault.times > 0:
                    fault.times -= 1
                    return fault
        return None

    def handle(self, request: Request) -> Reply:
        if request.headers.get("authorization") and request.principal is None:
            return replies.invalid_credentials()
        segments = request.segments
        if segments[:1] == ["api"]:
            return self._api(request, segments[1:])
        if segments[:1] == ["datasets"] and len(segments) >= 5 and segments[3] == "resolve":
            return self._resolve(request, "dataset", "/".join(segments[1:3]), segments[4], segments[5:])
        if len(segments) >= 4 and segments[2] == "resolve":
            return self._resolve(request, "model", "/".join(segments[:2]), segments[3], segments[4:])
        return replies.error(404, f"Route not emulated: {request.method} /{'/'.join(segments)}")

    def _api(self, request: Request, rest: list[str]) -> Reply:
        method = request.method
        if rest == ["whoami-v2"] and method == "GET":
            if request.principal is None:
                return replies.error(401, "Invalid username or password.")
            return Reply.json(request.principal.whoami())
        if rest == ["repos", "create"] and method == "POST":
            return self._create(request)
        if rest == ["validate-yaml"] and method == "POST":
            return self._validate_yaml(request)
        if len(rest) >= 3 and rest[0] in KINDS:
            repo_type, repo_id, tail = KINDS[rest[0]], "/".join(rest[1:3]), rest[3:]
            if method == "GET" and not tail:
                return self._info(request, repo_type, repo_id, None)
            if method == "GET" and len(tail) == 2 and tail[0] == "revision":
                return self._info(request, repo_type, repo_id, tail[1])
            if method == "GET" and len(tail) >= 2 and tail[0] == "tree":
                return self._tree(request, repo_type, repo_id, tail[1], "/".join(tail[2:]))
            if method == "POST" and len(tail) == 2 and tail[0] == "preupload":
                return self._preupload(request, repo_type, repo_id, tail[1])
            if method == "POST" and len(tail) == 2 and tail[0] == "commit":
                return self._commit(request, repo_type, repo_id, tail[1])
        return replies.error(404, f"Route not emulated: {method} /api/{'/'.join(rest)}")

    def _visible(self, request: Request, repo_type: str, repo_id: str) -> Repo | Reply:
        repo = self.find(repo_id, repo_type)
        if repo is None:
            return replies.repo_not_found(request.authenticated)
        if repo.private and (request.principal is None or not request.principal.can_read(repo)):
            return replies.repo_not_found(request.authenticated)
        return repo

    def _info(self, request: Request, repo_type: str, repo_id: str, revision: str | None) -> Reply:
        repo = self._visible(request, repo_type, repo_id)
        if isinstance(repo, Reply):
            return repo
        sha = repo.resolve(revision)
        if sha is None:
            return replies.revision_not_found(revision or "main")
        expand = request.query.get("expand")
        blobs = request.query.get("blobs", ["false"])[0].lower() in ("1", "true")
        return Reply.json(replies.repo_info(repo, sha, expand, blobs))

    def _tree(self, request: Request, repo_type: str, repo_id: str, revision: str, folder: str) -> Reply:
        repo = self._visible(request, repo_type, repo_id)
        if isinstance(repo, Reply):
            return repo
        sha = repo.resolve(revision)
        if sha is None:
            return replies.revision_not_found(revision)
        recursive = request.query.get("recursive", ["false"])[0].lower() in ("1", "true")
        return Reply.json(replies.tree_entries(repo.files(sha), folder, recursive))

    def _resolve(self, request: Request, repo_type: str, repo_id: str, revision: str, path: list[str]) -> Reply:
        repo = self._visible(request, repo_type, repo_id)
        if isinstance(repo, Reply):
            return repo
        if repo.gated and (request.principal is None or not request.principal.can_read_files(repo)):
            return replies.gated(repo, self.base_url, request.authenticated)
        sha = repo.resolve(revision)
        if sha is None:
            return replies.revision_not_found(revision)
        stored = repo.files(sha).get("/".join(path))
        if stored is None:
            return replies.entry_not_found("/".join(path), sha)
        return _file_reply(request, stored, sha)

    def _writable(self, request: Request, repo_type: str, repo_id: str, revision: str) -> tuple[Repo, str] | Reply:
        repo = self._visible(request, repo_type, repo_id)
        if isinstance(repo, Reply):
            return repo
        if request.principal is None or not request.principal.can_write(repo.namespace):
            return replies.error(403, f"You don't have the rights to write to {repo_id}. Ask for a write token.")
        branch = revision or "main"
        if branch not in repo.refs:
            return replies.revision_not_found(branch)
        return repo, branch

    def _create(self, request: Request) -> Reply:
        payload = json.loads(request.body or b"{}")
        principal = request.principal
        if principal is None:
            return replies.error(401, "You must be authenticated to create a repository.")
        repo_type = payload.get("type") or "model"
        namespace = payload.get("organization") or principal.user
        repo_id = f"{namespace}/{payload['name']}"
        private = payload.get("visibility") == "private" or payload.get("private") is True
        url = f"{self.base_url}/{'datasets/' if repo_type == 'dataset' else ''}{repo_id}"
        with self.lock:
            self.created.append({"repo_id": repo_id, "repo_type": repo_type, "private": private, "payload": payload})
            if not principal.can_write(namespace):
                message = f'You don\'t have the rights to create a {repo_type} under the namespace "{namespace}"'
                return replies.error(403, message)
            if self.find(repo_id, repo_type) is not None:
                message = f"You already created this {repo_type} repo"
                return Reply.json({"error": message, "url": url}, 409, {"X-Error-Message": message})
            repo = Repo(repo_id=repo_id, repo_type=repo_type, private=private)
            attributes = StoredFile(".gitattributes", data=b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n")
            repo.commit({".gitattributes": attributes}, "initial commit")
            self.repos[(repo_type, repo_id)] = repo
        return Reply.json({"url": url, "name": repo_id, "id": f"id-{repo_id}"})

    def _validate_yaml(self, request: Request) -> Reply:
        content = json.loads(request.body or b"{}").get("content", "")
        if content.startswith("---"):
            front = content.split("---", 2)[1] if content.count("---") >= 2 else ""
            try:
                yaml.safe_load(front)
            except yaml.YAMLError as exc:
                return Reply.json({"errors": [{"message": f"Invalid YAML: {exc}"}], "warnings": []}, 400)
        return Reply.json({"errors": [], "warnings": []})

    def _preupload(self, request: Request, repo_type: str, repo_id: str, revision: str) -> Reply:
        found = self._writable(request, repo_type, repo_id, revision)
        if isinstance(found, Reply):
            return found
        repo, branch = found
        existing = repo.files(repo.refs[branch])
        answer = []
        for item in json.loads(request.body)["files"]:
            stored = existing.get(item["path"])
            # Every file goes through the inline (base64) commit path: LFS and Xet uploads are not emulated.
            answer.append(
                {
                    "path": item["path"],
                    "uploadMode": "regular",
                    "shouldIgnore": False,
                    "oid": stored.git_oid if stored is not None else None,
                }
            )
        return Reply.json({"files": answer, "commitOid": repo.refs[branch]})

    def _commit(self, request: Request, repo_type: str, repo_id: str, revision: str) -> Reply:
        found = self._writable(request, repo_type, repo_id, revision)
        if isinstance(found, Reply):
            return found
        repo, branch = found
        body = request.body
        if request.headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        with self.lock:
            files = dict(repo.files(repo.refs[branch]))
            summary = ""
            changed: list[str] = []
            for line in body.splitlines():
                if not line.strip():
                    continue
                item = json.loads(line)
                key, value = item["key"], item["value"]
                if key != "header":
                    changed.append(value["path"])
                if key == "header":
                    summary = value.get("summary", "")
                elif key == "file":
                    data = base64.b64decode(value["content"]) if value.get("encoding") == "base64" else value["content"].encode()
                    files[value["path"]] = StoredFile(value["path"], data=data)
                elif key == "deletedFile":
                    files.pop(value["path"], None)
                elif key == "deletedFolder":
                    prefix = value["path"].rstrip("/") + "/"
                    files = {path: stored for path, stored in files.items() if not path.startswith(prefix)}
                else:
                    return replies.error(400, f"Commit operation {key!r} is not emulated (LFS and Xet uploads).")
            sha = repo.commit(files, summary, branch=branch, paths=changed)
        prefix = "datasets/" if repo_type == "dataset" else ""
        return Reply.json(
            {
                "success": True,
                "commitOid": sha,
                "commitUrl": f"{self.base_url}/{prefix}{repo_id}/commit/{sha}",
                "hookOutput": "",
                "pullRequestUrl": None,
            }
        )


def _file_reply(request: Request, stored: StoredFile, sha: str) -> Reply:
    size = stored.size
    headers = {
        "X-Repo-Commit": sha,
        "ETag": f'"{stored.etag}"',
        "Accept-Ranges": "bytes",
        "Content-Type": "application/octet-stream",
    }
    if stored.is_lfs:
        headers["X-Linked-Etag"] = f'"{stored.sha256}"'
        headers["X-Linked-Size"] = str(size)
    range_header = request.headers.get("range")
    if request.method == "HEAD":
        return Reply(200, headers, b"", head_length=size)
    if range_header:
        spec = range_header.strip().lower().removeprefix("bytes=")
        first, _, last = spec.partition("-")
        try:
            start = int(first) if first else max(0, size - int(last))
            end = min(int(last), size - 1) if first and last else size - 1
        except ValueError:
            return replies.error(416, f"Invalid range {range_header!r}")
        if start >= size or start > end:
            return Reply(416, {"Content-Range": f"bytes */{size}"}, b"")
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        return Reply(206, headers, stored.read(start, end + 1))
    if stored.synthetic is not None and size > MAX_SYNTHETIC_GET:
        return replies.error(501, f"{stored.path} is synthesized ({size} bytes); only Range requests are served.")
    return Reply(200, headers, stored.read())
