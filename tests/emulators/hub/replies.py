"""Replies of the Hub emulator: the error statuses and headers huggingface_hub maps to its exceptions, and the
JSON body of `/api/models/{repo}` and `/api/datasets/{repo}`."""

from __future__ import annotations

import datetime as dt
import json
import struct
from dataclasses import dataclass, field
from typing import Any

from .repos import Repo, StoredFile

INVALID_CREDENTIALS = "Invalid credentials in Authorization header"


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    # Full length announced by a HEAD reply, which carries no body.
    head_length: int | None = None

    @classmethod
    def json(cls, value: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
        all_headers = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
        return cls(status, all_headers, json.dumps(value).encode())


def error(status: int, message: str, code: str | None = None, headers: dict[str, str] | None = None) -> Reply:
    """Return an error reply with the X-Error-Code and X-Error-Message headers the Hub sends."""
    all_headers = {"X-Error-Message": message, **(headers or {})}
    if code:
        all_headers["X-Error-Code"] = code
    return Reply.json({"error": message}, status, all_headers)


def invalid_credentials() -> Reply:
    return error(401, INVALID_CREDENTIALS)


def repo_not_found(authenticated: bool) -> Reply:
    # The Hub returns 401 to anonymous requests and 404 to authenticated ones, for missing and private repos.
    return error(404 if authenticated else 401, "Repository not found", "RepoNotFound")


def gated(repo: Repo, base_url: str, authenticated: bool) -> Reply:
    url = f"{base_url}/{'datasets/' if repo.repo_type == 'dataset' else ''}{repo.repo_id}"
    if authenticated:
        message = (
            f"Access to {repo.repo_type} {repo.repo_id} is restricted and you are not in the authorized list. "
            f"Visit {url} to ask for access."
        )
        return error(403, message, "GatedRepo")
    message = (
        f"Access to {repo.repo_type} {repo.repo_id} is restricted. You must have access to it and be "
        "authenticated to access it. Please log in."
    )
    return error(401, message, "GatedRepo")


def revision_not_found(revision: str) -> Reply:
    return error(404, f"Invalid rev id: {revision}", "RevisionNotFound")


def entry_not_found(path: str, sha: str) -> Reply:
    return error(404, "Entry not found", "EntryNotFound", {"X-Repo-Commit": sha})


def _iso(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def file_tensors(stored: StoredFile) -> dict[str, tuple[str, list[int]]]:
    """Return the tensor table of a stored safetensors file (synthesized or real)."""
    if stored.synthetic is not None:
        return stored.synthetic.tensors
    prefix = stored.read(0, 8)
    if len(prefix) < 8:
        return {}
    (length,) = struct.unpack("<Q", prefix)
    try:
        header = json.loads(stored.read(8, 8 + min(length, 100_000_000)))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {}  # not a safetensors file: the Hub leaves it out of the counts
    return {name: (info["dtype"], info["shape"]) for name, info in header.items() if name != "__metadata__"}


def safetensors_summary(files: dict[str, StoredFile]) -> dict[str, Any] | None:
    """Return the `safetensors` field: element counts by storage dtype over the top-level safetensors files."""
    parameters: dict[str, int] = {}
    found = False
    for path, stored in files.items():
        if "/" in path or not path.endswith(".safetensors"):
            continue
        found = True
        for dtype, shape in file_tensors(stored).values():
            count = 1
            for dim in shape:
                count *= dim
            parameters[dtype] = parameters.get(dtype, 0) + count
    if not found:
        return None
    return {"parameters": parameters, "total": sum(parameters.values())}


def _json_of(files: dict[str, StoredFile], name: str) -> dict[str, Any]:
    if name not in files:
        return {}
    try:
        value = json.loads(files[name].read())
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {}
    return value if isinstance(value, dict) else {}


def config_summary(files: dict[str, StoredFile]) -> dict[str, Any]:
    """Return the `config` field: a few config.json keys and the tokenizer's special tokens and template."""
    config = _json_of(files, "config.json")
    summary = {key: config[key] for key in ("architectures", "model_type", "quantization_config") if key in config}
    tokenizer = _json_of(files, "tokenizer_config.json")
    keys = ("bos_token", "eos_token", "pad_token", "unk_token", "chat_template")
    tokenizer_summary = {key: tokenizer[key] for key in keys if key in tokenizer}
    if tokenizer_summary:
        summary["tokenizer_config"] = tokenizer_summary
    return summary


def sibling(stored: StoredFile, blobs: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {"rfilename": stored.path}
    if blobs:
        entry["size"] = stored.size
        entry["blobId"] = stored.git_oid
        if stored.is_lfs:
            entry["lfs"] = {"size": stored.size, "sha256": stored.sha256, "pointerSize": 134}
    return entry


def repo_info(repo: Repo, sha: str, expand: list[str] | None, blobs: bool) -> dict[str, Any]:
    """Return the body of GET /api/{models,datasets}/{repo}; with `expand`, only the requested keys and the ids."""
    files = repo.files(sha)
    info: dict[str, Any] = {
        "_id": f"id-{repo.repo_id}",
        "id": repo.repo_id,
        "author": repo.namespace,
        "sha": sha,
        "lastModified": _iso(repo.created_at),
        "createdAt": _iso(repo.created_at),
        "private": repo.private,
        "gated": repo.gated,
        "disabled": False,
        "downloads": 0,
        "likes": 0,
        "tags": list(repo.tags),
        "siblings": [sibling(files[path], blobs) for path in sorted(files)],
        "usedStorage": sum(stored.size for stored in files.values()),
    }
    if repo.card_data:
        info["cardData"] = dict(repo.card_data)
    if repo.repo_type == "model":
        info["modelId"] = repo.repo_id
        info["library_name"] = repo.card_data.get("library_name", "transformers")
        info["pipeline_tag"] = repo.card_data.get("pipeline_tag", "text-generation")
        info["config"] = config_summary(files)
        info["spaces"] = []
        summary = safetensors_summary(files)
        if summary is not None:
            info["safetensors"] = summary
    info.update(repo.info_extra)
    if expand:
        return {key: info[key] for key in ("_id", "id", *expand) if key in info}
    return info


def tree_entries(files: dict[str, StoredFile], folder: str, recursive: bool) -> list[dict[str, Any]]:
    """Return the body of GET /api/{models,datasets}/{repo}/tree/{rev}/{folder}."""
    prefix = f"{folder.strip('/')}/" if folder.strip("/") else ""
    entries: list[dict[str, Any]] = []
    folders: set[str] = set()
    for path in sorted(files):
        if not path.startswith(prefix):
            continue
        rest = path[len(prefix) :]
        if not recursive and "/" in rest:
            folders.add(prefix + rest.split("/")[0])
            continue
        stored = files[path]
        entry: dict[str, Any] = {"type": "file", "oid": stored.git_oid, "size": stored.size, "path": path}
        if stored.is_lfs:
            entry["lfs"] = {"oid": stored.sha256, "size": stored.size, "pointerSize": 134}
        entries.append(entry)
    entries.extend({"type": "directory", "oid": "0" * 40, "size": 0, "path": name} for name in sorted(folders))
    return entries
