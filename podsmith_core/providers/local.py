"""Built-in `local` provider: the Pod is this machine, its workspace a directory in podsmith's data directory.

GPUs come from `nvidia-smi` when it exists; otherwise the run trains on the CPU. Destroying the Pod stops
any job still running and deletes the secrets, and keeps the outputs.

`PodHandle.data["python"]` is the interpreter running podsmith: trainers use it as the base Python of the
Pod, so a training stack already installed next to podsmith is reused instead of downloaded again.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from podsmith_core.hookspecs import hookimpl

if TYPE_CHECKING:
    from podsmith_core.models import GpuCandidate, MemoryEstimate, PodHandle, PodRecord, RunSpec
    from podsmith_core.settings import Settings

NAME = "local"


def pods_dir() -> Path:
    from podsmith_core.state import state_dir

    return state_dir() / "pods"


def local_gpus() -> list[tuple[str, float]]:
    """Return (name, memory in GB) for each NVIDIA GPU on this machine; empty without nvidia-smi."""
    executable = shutil.which("nvidia-smi")
    if executable is None:
        return []
    try:
        output = subprocess.run(
            [executable, "--query-gpu=name,memory.total", "--format=csv,noheader,nounits"],
            capture_output=True, text=True, timeout=20, check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    gpus = []
    for line in output.splitlines():
        name, _, memory_mib = line.partition(",")
        if memory_mib.strip().isdigit():
            gpus.append((name.strip(), int(memory_mib) * 1024**2 / 1000**3))
    return gpus


def cpu_candidate() -> GpuCandidate:
    from podsmith_core.models import GpuCandidate
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") if hasattr(os, "sysconf") else 0
    return GpuCandidate(
        gpu_type_id="cpu",
        display_name=f"CPU ({os.cpu_count()} cores)",
        gpu_count=0,
        memory_gb=round(memory / 1000**3, 1),
        usable_bytes=memory,
        cloud_type="local",
        price_per_hour=0.0,
        fits=True,
        reason="no GPU on this machine: training runs on the CPU",
        source="local",
    )


def gpu_candidates(
    gpus: list[tuple[str, float]], spec: RunSpec, estimator: Callable[[int], MemoryEstimate]
) -> list[GpuCandidate]:
    """Rank this machine's GPUs with the core policy; all local GPUs are one type in practice."""
    from podsmith_core.memory.ranking import rank_candidates
    from podsmith_core.models import GpuOffer

    name, memory_gb = gpus[0]
    offer = GpuOffer(
        gpu_type_id=name, display_name=name, memory_gb=memory_gb, cloud_type="local", price_per_gpu_hour=0.0,
        stock="High", max_count=len(gpus), counts=[n for n in (1, 2, 4, 6, 8) if n <= len(gpus)], source="local",
    )
    return rank_candidates([offer], spec, estimator)


class LocalProvider:
    @hookimpl
    def select_gpu(self, spec: RunSpec, estimator: Callable[[int], MemoryEstimate]) -> list[GpuCandidate]:
        gpus = local_gpus()
        if not gpus:
            candidate = cpu_candidate()
            if spec.gpu_count:
                candidate.fits = False
                candidate.reason = f"--gpu-count {spec.gpu_count} asks for GPUs, but this machine has none; pass --gpu-count 0"
            return [candidate]
        return gpu_candidates(gpus, spec, estimator)

    @hookimpl
    def create_pod(self, spec: RunSpec, candidate: GpuCandidate, name: str) -> PodHandle:
        from podsmith_core.models import PodHandle

        workspace = pods_dir() / name
        workspace.mkdir(parents=True, exist_ok=True)
        return PodHandle(
            pod_id=name,
            name=name,
            provider=NAME,
            gpu_type_id=candidate.gpu_type_id,
            gpu_count=candidate.gpu_count,
            cloud_type="local",
            price_per_hour=0.0,
            workspace=str(workspace.resolve()),
            data={"python": sys.executable},
        )

    @hookimpl
    def destroy_pod(self, pod: PodHandle, settings: Settings) -> bool:
        from podsmith_core.transport.jobs import RemoteJob
        from podsmith_core.transport.local import LocalTransport
        from podsmith_core.transport.secrets import remove_secrets

        from podsmith_core.errors import UsageError

        root = pods_dir().resolve()
        workspace = (Path(pod.workspace) if pod.workspace else root / pod.name).resolve()
        if workspace.parent != root:
            # Only podsmith's own workspaces are touched: a crafted name must not reach other directories.
            raise UsageError(f"Pod {pod.name!r} is not a local podsmith Pod (workspace {workspace}).",
                             f"Local Pods live in {root}; see `podsmith status`.")
        if not workspace.is_dir():
            return True
        transport = LocalTransport()
        for pid_file in sorted((workspace / "logs").glob("*.pid")):
            RemoteJob(transport, str(workspace), pid_file.stem).stop()
        remove_secrets(transport, str(workspace))
        return True

    @hookimpl
    def list_pods(self, name_prefix: str) -> list[PodRecord]:
        from podsmith_core.models import PodRecord

        root = pods_dir()
        if not root.is_dir():
            return []
        records = []
        for path in sorted(root.iterdir()):
            if path.is_dir() and path.name.startswith(name_prefix):
                status = "RUNNING" if (path / "secrets").exists() else "EXITED"
                records.append(PodRecord(pod_id=path.name, name=path.name, status=status, gpu_type_id="local"))
        return records


plugin = LocalProvider()
