"""Helpers for testing podsmith plugins in-process.

- `make_host(plugins, ...)`: a plugin host with exactly the plugins given (plus the core's internal ones).
- `RecordingNotifier`: keeps every event it receives.
- `FakeProvider`: a scriptable provider whose Pods are local directories; `create` can fail with capacity
  errors, start errors or any exception, and every hook call is recorded.
- `FakeTrainer`: a trainer that runs a given shell script on the Pod through the real job runner.
- `temporary_state(path)`: points podsmith's state directory at `path` for the duration of a block.

The pytest fixtures in `podsmith_core.testing.fixtures` wrap these.
"""

from __future__ import annotations

import os
import posixpath
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from podsmith_core.errors import CapacityError, PodStartError
from podsmith_core.hookspecs import hookimpl
from podsmith_core.models import (
    Event,
    GpuCandidate,
    MemoryEstimate,
    PodHandle,
    PodRecord,
    RunResult,
    RunSpec,
    TrainerPlan,
)
from podsmith_core.plugins import PluginHost, build_plugin_host


def make_host(plugins: Iterable[tuple[str, Any]], entry_points: bool = False) -> PluginHost:
    """Return a plugin host with `plugins` (name, object) registered; entry points only when asked."""
    return build_plugin_host(extra_plugins=plugins, load_entry_points=entry_points, warn=False)


@contextmanager
def temporary_state(path: Path) -> Iterator[Path]:
    previous = os.environ.get("PODSMITH_HOME")
    os.environ["PODSMITH_HOME"] = str(path)
    try:
        yield path
    finally:
        if previous is None:
            os.environ.pop("PODSMITH_HOME", None)
        else:
            os.environ["PODSMITH_HOME"] = previous


class RecordingNotifier:
    """A notifier that stores every event; `fail=True` makes it raise on each one."""

    def __init__(self, fail: bool = False) -> None:
        self.events: list[Event] = []
        self.fail = fail

    @hookimpl
    def notify(self, event: Event) -> None:
        self.events.append(event)
        if self.fail:
            raise RuntimeError("recording notifier asked to fail")

    def names(self) -> list[str]:
        return [event.event for event in self.events]


class FakeProvider:
    """A provider whose Pods are directories under `root`.

    `create_failures` maps a GPU type id to an exception to raise when a Pod of that type is created;
    `candidates` is the ranked list `select_gpu` returns.
    """

    def __init__(
        self,
        root: Path,
        candidates: list[GpuCandidate] | None = None,
        create_failures: dict[str, Exception] | None = None,
        destroy_failures: int = 0,
    ) -> None:
        self.root = Path(root)
        self.candidates = candidates or [fake_candidate("FAKE-GPU-A"), fake_candidate("FAKE-GPU-B")]
        self.create_failures = dict(create_failures or {})
        self.destroy_failures = destroy_failures
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.live: dict[str, PodHandle] = {}

    @hookimpl
    def select_gpu(self, spec: RunSpec, estimator: Callable[[int], MemoryEstimate]) -> list[GpuCandidate]:
        self.calls.append(("select_gpu", {"spec": spec}))
        return [candidate.model_copy() for candidate in self.candidates]

    @hookimpl
    def create_pod(self, spec: RunSpec, candidate: GpuCandidate, name: str) -> PodHandle:
        self.calls.append(("create_pod", {"name": name, "gpu": candidate.gpu_type_id}))
        failure = self.create_failures.get(candidate.gpu_type_id)
        if failure is not None:
            raise failure
        workspace = self.root / name
        workspace.mkdir(parents=True, exist_ok=True)
        pod = PodHandle(
            pod_id=f"fake-{name}", name=name, provider="fake", gpu_type_id=candidate.gpu_type_id,
            gpu_count=candidate.gpu_count, workspace=str(workspace),
        )
        self.live[pod.pod_id] = pod
        return pod

    @hookimpl
    def destroy_pod(self, pod: PodHandle) -> bool:
        self.calls.append(("destroy_pod", {"pod_id": pod.pod_id}))
        if self.destroy_failures > 0:
            self.destroy_failures -= 1
            raise RuntimeError("destroy failed on purpose")
        self.live.pop(pod.pod_id, None)
        _stop_jobs(Path(pod.workspace))
        # A marker file lets tests in another process see that the Pod was destroyed.
        (self.root / f"{pod.name}.destroyed").parent.mkdir(parents=True, exist_ok=True)
        (self.root / f"{pod.name}.destroyed").write_text(pod.pod_id)
        return True

    @hookimpl
    def list_pods(self, name_prefix: str) -> list[PodRecord]:
        self.calls.append(("list_pods", {"name_prefix": name_prefix}))
        return [
            PodRecord(pod_id=pod.pod_id, name=pod.name, status="RUNNING", gpu_type_id=pod.gpu_type_id)
            for pod in self.live.values()
            if pod.name.startswith(name_prefix)
        ]

    def hook_names(self) -> list[str]:
        return [name for name, _ in self.calls]


def _stop_jobs(workspace: Path) -> None:
    from podsmith_core.transport.jobs import RemoteJob
    from podsmith_core.transport.local import LocalTransport

    for pid_file in sorted((workspace / "logs").glob("*.pid")):
        RemoteJob(LocalTransport(), str(workspace), pid_file.stem).stop(grace_s=2)


def fake_candidate(gpu_type_id: str, gpu_count: int = 1, memory_gb: float = 80.0) -> GpuCandidate:
    return GpuCandidate(
        gpu_type_id=gpu_type_id, display_name=gpu_type_id, gpu_count=gpu_count, memory_gb=memory_gb,
        usable_bytes=int(memory_gb * 1000**3), price_per_hour=1.0, fits=True, source="fake",
    )


def capacity_error(gpu_type_id: str) -> CapacityError:
    return CapacityError(f"There are no longer any instances available of {gpu_type_id}.")


def start_error(gpu_type_id: str) -> PodStartError:
    return PodStartError(f"Pod on {gpu_type_id} never exposed 22/tcp publicly.")


class FakeTrainer:
    """A trainer that runs `script` (bash) on the Pod as the detached "train" job, streaming its output."""

    def __init__(self, script: str = "echo training; echo done") -> None:
        self.script = script
        self.calls: list[str] = []

    @hookimpl
    def prepare_run(self, spec: RunSpec) -> TrainerPlan:
        self.calls.append("prepare_run")
        return TrainerPlan(trainer=spec.trainer, launch_script=self.script)

    @hookimpl
    def run_remote(
        self, spec: RunSpec, plan: TrainerPlan, pod: PodHandle, transport, emit: Callable[[Event], None]
    ) -> RunResult:
        from podsmith_core.transport.jobs import RemoteJob

        self.calls.append("run_remote")
        script_path = posixpath.join(pod.workspace, "launch.sh")
        transport.upload(plan.launch_script.encode(), script_path, mode=0o700)
        job = RemoteJob(transport, pod.workspace, "train")
        job.launch(script_path)
        status = job.follow(lambda line: emit(Event(event="log", stage="train", message=line)), poll_interval=0.05)
        return RunResult(exit_status=status, output_dir=pod.workspace)
