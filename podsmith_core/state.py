"""Local record of runs and Pods in SQLite, so Pods can be found and removed after a crash.

The database lives in the platformdirs user data directory, or in `$PODSMITH_HOME` when set. WAL mode and
a busy timeout let two podsmith processes write at the same time. No secret is ever stored here.
"""

from __future__ import annotations

import os
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    status TEXT NOT NULL,
    provider TEXT NOT NULL,
    trainer TEXT NOT NULL,
    repo_id TEXT NOT NULL,
    hub_model_id TEXT,
    log_path TEXT,
    output_dir TEXT,
    message TEXT
);
CREATE TABLE IF NOT EXISTS pods (
    name TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    provider TEXT NOT NULL,
    pod_id TEXT,
    gpu_type_id TEXT,
    gpu_count INTEGER,
    price_per_hour REAL,
    status TEXT NOT NULL,
    host_key TEXT,
    workspace TEXT,
    handle TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
"""


def state_dir() -> Path:
    """Return podsmith's data directory: `$PODSMITH_HOME`, or the platform's user data directory."""
    override = os.environ.get("PODSMITH_HOME")
    if override:
        path = Path(override).expanduser()
    else:
        from platformdirs import user_data_dir

        path = Path(user_data_dir("podsmith", appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def short_run_id() -> str:
    """Return a new run id: 8 hex digits, enough to keep Pod names unique for one user."""
    return os.urandom(4).hex()


def pod_name(run_id: str) -> str:
    return f"podsmith-{run_id}"


@dataclass
class RunRow:
    run_id: str
    created_at: float
    updated_at: float
    status: str
    provider: str
    trainer: str
    repo_id: str
    hub_model_id: str | None
    log_path: str | None
    output_dir: str | None
    message: str | None


@dataclass
class PodRow:
    name: str
    run_id: str
    provider: str
    pod_id: str | None
    gpu_type_id: str | None
    gpu_count: int | None
    price_per_hour: float | None
    status: str
    host_key: str | None
    workspace: str | None
    handle: str | None
    created_at: float
    updated_at: float


class StateStore:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or state_dir() / "state.db"
        with self._connect() as connection:
            connection.executescript(SCHEMA)
            self._add_missing_columns(connection)

    @staticmethod
    def _add_missing_columns(connection: sqlite3.Connection) -> None:
        """Bring a database written by an older podsmith up to the current columns (all nullable)."""
        for table, row_type in (("runs", RunRow), ("pods", PodRow)):
            present = {row[1] for row in connection.execute(f"PRAGMA table_info({table})")}
            for column in row_type.__dataclass_fields__:
                if column not in present:
                    connection.execute(f"ALTER TABLE {table} ADD COLUMN {column}")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA busy_timeout=30000")
            yield connection
        finally:
            connection.close()

    def add_run(self, run_id: str, provider: str, trainer: str, repo_id: str, log_path: str | None) -> None:
        now = time.time()
        with self._connect() as connection:
            connection.execute(
                "INSERT INTO runs (run_id, created_at, updated_at, status, provider, trainer, repo_id, log_path)"
                " VALUES (?, ?, ?, 'planned', ?, ?, ?, ?)",
                (run_id, now, now, provider, trainer, repo_id, log_path),
            )

    def update_run(self, run_id: str, **fields: object) -> None:
        self._update("runs", "run_id", run_id, fields)

    def upsert_pod(self, name: str, run_id: str, provider: str, status: str, **fields: object) -> None:
        now = time.time()
        with self._connect() as connection:
            connection.execute(
                "INSERT INTO pods (name, run_id, provider, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(name) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at",
                (name, run_id, provider, status, now, now),
            )
        if fields:
            self._update("pods", "name", name, fields)

    def update_pod(self, name: str, **fields: object) -> None:
        self._update("pods", "name", name, fields)

    def _update(self, table: str, key_column: str, key: str, fields: dict[str, object]) -> None:
        allowed = {
            "runs": set(RunRow.__dataclass_fields__),
            "pods": set(PodRow.__dataclass_fields__),
        }[table]
        unknown = set(fields) - allowed
        if unknown:
            raise ValueError(f"Unknown {table} columns: {sorted(unknown)}")
        fields = {**fields, "updated_at": time.time()}
        assignments = ", ".join(f"{column} = ?" for column in fields)
        with self._connect() as connection:
            connection.execute(
                f"UPDATE {table} SET {assignments} WHERE {key_column} = ?",  # noqa: S608 - columns checked above
                (*fields.values(), key),
            )

    def runs(self, limit: int = 20) -> list[RunRow]:
        with self._connect() as connection:
            rows = connection.execute(
                f"SELECT {', '.join(RunRow.__dataclass_fields__)} FROM runs ORDER BY created_at DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [RunRow(*row) for row in rows]

    def run(self, run_id: str) -> RunRow | None:
        with self._connect() as connection:
            row = connection.execute(
                f"SELECT {', '.join(RunRow.__dataclass_fields__)} FROM runs WHERE run_id = ?", (run_id,)
            ).fetchone()
        return RunRow(*row) if row else None

    def pods(self, active_only: bool = False) -> list[PodRow]:
        query = f"SELECT {', '.join(PodRow.__dataclass_fields__)} FROM pods"
        if active_only:
            query += " WHERE status NOT IN ('terminated', 'failed-create')"
        with self._connect() as connection:
            rows = connection.execute(query + " ORDER BY created_at DESC").fetchall()
        return [PodRow(*row) for row in rows]

    def pod(self, name: str) -> PodRow | None:
        with self._connect() as connection:
            row = connection.execute(
                f"SELECT {', '.join(PodRow.__dataclass_fields__)} FROM pods WHERE name = ?", (name,)
            ).fetchone()
        return PodRow(*row) if row else None
