"""Repositories held by the Hub emulator: files, revisions, visibility and gating.

Files are bytes in memory, files read from a local directory on each request, or synthesized safetensors
files whose header is real and whose tensor data reads as zeros (so metadata requests work on 16 GB models
without storing them).
"""

from __future__ import annotations

import hashlib
import json
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The Hub stores files above this size, and binary weight files, through LFS.
LFS_THRESHOLD = 10 * 1024 * 1024
LFS_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".parquet", ".arrow", ".gguf", ".msgpack")


DTYPE_BYTES = {
    "F64": 8, "I64": 8, "U64": 8, "F32": 4, "I32": 4, "U32": 4,
    "F16": 2, "BF16": 2, "I16": 2, "U16": 2, "F8_E4M3": 1, "F8_E5M2": 1, "I8": 1, "U8": 1, "BOOL": 1,
}  # fmt: skip


def git_blob_oid(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class SyntheticSafetensors:
    """A safetensors file made of a real header followed by zero-filled tensor data."""

    def __init__(self, tensors: dict[str, tuple[str, list[int]]]) -> None:
        header: dict[str, Any] = {"__metadata__": {"format": "pt"}}
        offset = 0
        for name, (dtype, shape) in tensors.items():
            size = DTYPE_BYTES[dtype]
            for dim in shape:
                size *= dim
            header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + size]}
            offset += size
        text = json.dumps(header, separators=(",", ":")).encode()
        text += b" " * (-len(text) % 8)
        self.tensors = tensors
        self.prefix = struct.pack("<Q", len(text)) + text
        self.data_bytes = offset
        self.size = len(self.prefix) + offset
        self.sha256 = hashlib.sha256(self.prefix + str(offset).encode()).hexdigest()

    def read(self, start: int, end: int) -> bytes:
        """Return bytes [start, end) of the file."""
        head = self.prefix[start:end] if start < len(self.prefix) else b""
        zeros = max(0, end - max(start, len(self.prefix)))
        return head + b"\0" * zeros


@dataclass
class StoredFile:
    """One file of a repository revision."""

    path: str
    data: bytes | None = None
    source: Path | None = None
    synthetic: SyntheticSafetensors | None = None

    @property
    def size(self) -> int:
        if self.synthetic is not None:
            return self.synthetic.size
        if self.source is not None:
            return self.source.stat().st_size
        return len(self.data or b"")

    def read(self, start: int = 0, end: int | None = None) -> bytes:
        end = self.size if end is None else min(end, self.size)
        if self.synthetic is not None:
            return self.synthetic.read(start, end)
        if self.source is not None:
            with self.source.open("rb") as handle:
                handle.seek(start)
                return handle.read(end - start)
        return (self.data or b"")[start:end]

    @property
    def is_lfs(self) -> bool:
        return self.size > LFS_THRESHOLD or self.path.endswith(LFS_SUFFIXES)

    @property
    def sha256(self) -> str:
        if self.synthetic is not None:
            return self.synthetic.sha256
        return hashlib.sha256(self.read()).hexdigest()

    @property
    def git_oid(self) -> str:
        if self.synthetic is not None:
            return hashlib.sha1(self.synthetic.sha256.encode()).hexdigest()
        return git_blob_oid(self.read())

    @property
    def etag(self) -> str:
        return self.sha256 if self.is_lfs else self.git_oid


@dataclass
class Repo:
    """A model or dataset repository with its revisions; `refs` maps branch names to commit shas."""

    repo_id: str
    repo_type: str = "model"
    private: bool = False
    gated: bool | str = False
    granted: set[str] = field(default_factory=set)
    card_data: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    info_extra: dict[str, Any] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)
    snapshots: dict[str, dict[str, StoredFile]] = field(default_factory=dict)
    commits: list[dict[str, Any]] = field(default_factory=list)
    created_at: float = field(default_factory=time.time)

    @property
    def namespace(self) -> str:
        return self.repo_id.split("/")[0]

    @property
    def sha(self) -> str:
        return self.refs["main"]

    def files(self, sha: str | None = None) -> dict[str, StoredFile]:
        return self.snapshots[sha or self.sha]

    def resolve(self, revision: str | None) -> str | None:
        """Return the commit sha a revision (branch, tag or sha) names, or None when unknown."""
        revision = revision or "main"
        if revision in self.refs:
            return self.refs[revision]
        if revision in self.snapshots:
            return revision
        return None

    def commit(
        self,
        files: dict[str, StoredFile],
        summary: str,
        sha: str | None = None,
        branch: str = "main",
        paths: list[str] | None = None,
    ) -> str:
        """Store a new snapshot and point `branch` at it; return the new commit sha.

        `paths` lists the files the commit request changed (all files when not given)."""
        parent = self.refs.get(branch, "")
        if sha is None:
            digest = hashlib.sha1(f"{parent}\n{summary}\n{time.time_ns()}".encode())
            for path in sorted(files):
                digest.update(f"{path}:{files[path].etag}".encode())
            sha = digest.hexdigest()
        self.snapshots[sha] = dict(files)
        self.refs[branch] = sha
        changed = sorted(files) if paths is None else sorted(paths)
        self.commits.append({"sha": sha, "summary": summary, "parent": parent, "branch": branch, "paths": changed})
        return sha
