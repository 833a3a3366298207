import subprocess
import sys

from podsmith_core.state import StateStore, pod_name


def test_run_and_pod_round_trip(tmp_path):
    store = StateStore(tmp_path / "state.db")
    store.add_run("abcd1234", "runpod", "openr1-grpo", "org/model", "/logs/abcd1234.log")
    store.upsert_pod(pod_name("abcd1234"), "abcd1234", "runpod", "creating", gpu_type_id="NVIDIA L40S", gpu_count=1)
    store.update_pod("podsmith-abcd1234", status="running", pod_id="pod-1", price_per_hour=0.86)

    pod = store.pod("podsmith-abcd1234")
    assert (pod.pod_id, pod.status, pod.gpu_type_id, pod.price_per_hour) == ("pod-1", "running", "NVIDIA L40S", 0.86)
    assert store.run("abcd1234").log_path == "/logs/abcd1234.log"
    assert [p.name for p in store.pods(active_only=True)] == ["podsmith-abcd1234"]


WRITER = """
import sys
from pathlib import Path
from podsmith_core.state import StateStore
store = StateStore(Path(sys.argv[1]))
for index in range(50):
    run_id = f"{sys.argv[2]}{index:04d}"
    store.add_run(run_id, "local", "trl-sft", "org/m", None)
    store.upsert_pod(f"podsmith-{run_id}", run_id, "local", "running")
"""


def test_two_processes_write_at_once(tmp_path):
    path = tmp_path / "state.db"
    StateStore(path)
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(path), prefix]) for prefix in ("aaaa", "bbbb")
    ]
    assert [writer.wait(timeout=120) for writer in writers] == [0, 0]
    store = StateStore(path)
    assert len(store.runs(limit=1000)) == 100
    assert len(store.pods()) == 100


def test_older_database_gains_new_columns(tmp_path):
    import sqlite3

    path = tmp_path / "state.db"
    connection = sqlite3.connect(path)
    connection.execute(
        "CREATE TABLE runs (run_id TEXT PRIMARY KEY, created_at REAL NOT NULL, updated_at REAL NOT NULL,"
        " status TEXT NOT NULL, provider TEXT NOT NULL, trainer TEXT NOT NULL, repo_id TEXT NOT NULL)"
    )
    connection.commit()
    connection.close()

    store = StateStore(path)
    store.add_run("feedbeef", "local", "trl-sft", "org/m", "/tmp/log")
    store.update_run("feedbeef", output_dir="/out")
    assert store.run("feedbeef").output_dir == "/out"


def test_reconcile_reports_orphans_and_skips_unreachable(tmp_path):
    from podsmith_core.cli_manage import reconcile
    from podsmith_core.errors import UsageError
    from podsmith_core.hookspecs import hookimpl
    from podsmith_core.models import PodRecord
    from podsmith_core.settings import Settings
    from podsmith_core.testing import make_host

    class Listing:
        def __init__(self, names):
            self.names = names

        @hookimpl
        def create_pod(self):
            raise NotImplementedError

        @hookimpl
        def list_pods(self, name_prefix):
            return [PodRecord(pod_id=f"id-{name}", name=name, status="RUNNING") for name in self.names]

    class Unreachable(Listing):
        @hookimpl
        def list_pods(self, name_prefix):
            raise UsageError("no host configured")

    store = StateStore(tmp_path / "state.db")
    store.upsert_pod("podsmith-gone0001", "gone0001", "cloud", "running")
    store.upsert_pod("podsmith-kept0001", "kept0001", "remote", "kept")
    host = make_host([("cloud", Listing(["podsmith-orphan01"])), ("remote", Unreachable([]))])

    orphans = reconcile(store, host, Settings.load(environ={}, project_dir=tmp_path))

    assert [(o["provider"], o["name"], o["pod_id"]) for o in orphans] == [("cloud", "podsmith-orphan01", "id-podsmith-orphan01")]
    assert store.pod("podsmith-gone0001").status == "terminated"
    assert store.pod("podsmith-kept0001").status == "kept"
