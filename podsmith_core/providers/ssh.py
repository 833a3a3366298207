"""Built-in `ssh` provider: the Pod is a machine the user already has, reached as `user@host[:port]`.

Each run gets a workspace directory on the host, `~/podsmith/<Pod name>` by default
(PODSMITH_SSH_WORKSPACE_ROOT sets another root: absolute, or relative to the remote home). A marker file
`.podsmith-pod.json` in it records the Pod for `list_pods`. Destroying the Pod stops its jobs and deletes
the secrets directory; the outputs stay on the host.

`list_pods` has no RunSpec, so it reads the host from PODSMITH_SSH_HOST.
"""

from __future__ import annotations

import json
import posixpath
import re
from typing import TYPE_CHECKING, Callable

from podsmith_core.errors import ProviderError, TransportError, UsageError
from podsmith_core.hookspecs import hookimpl
from podsmith_core.settings import Settings

# Hooks import the pydantic models when called, so loading the plugin stays cheap.
if TYPE_CHECKING:
    from podsmith_core.models import (
        Finding,
        GpuCandidate,
        GpuOffer,
        MemoryEstimate,
        PodHandle,
        PodRecord,
        RunSpec,
        SshAddress,
    )
    from podsmith_core.transport.ssh import SshTransport

NAME = "ssh"
DEFAULT_WORKSPACE_ROOT = "podsmith"
MARKER = ".podsmith-pod.json"
NVIDIA_SMI = ["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader,nounits"]

HOST_PATTERN = re.compile(
    r"^(?P<user>[A-Za-z0-9._][A-Za-z0-9._-]*)@"
    r"(?P<host>[A-Za-z0-9][A-Za-z0-9.-]*|\[[0-9A-Fa-f:.]+\])"
    r"(?::(?P<port>[0-9]{1,5}))?$"
)
POD_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")

# Each script takes its values as positional arguments ("$1", ...), so no value is spliced into shell text.
# `cd` without an argument enters $HOME, which makes a relative workspace root relative to the home.
PREPARE_WORKSPACE = 'root="$1"; name="$2"; cd || exit 1; mkdir -p -- "$root/$name/logs" && cd -- "$root/$name" && pwd -P'
LIST_MARKERS = (
    'root="$1"; cd || exit 1; [ -d "$root" ] || exit 0; '
    'for marker in "$root"/*/' + MARKER + '; do [ -f "$marker" ] && { cat "$marker"; echo; }; done; exit 0'
)
LIST_JOBS = (
    'for pidfile in "$1"/logs/*.pid; do [ -f "$pidfile" ] && basename "$pidfile" .pid; done; exit 0'
)


def parse_host(text: str | None) -> SshAddress:
    """Parse `user@host[:port]`; raise UsageError naming the value and the expected form."""
    from podsmith_core.models import SshAddress

    if not text:
        raise UsageError(
            "The ssh provider needs a host.",
            "Pass --host user@host[:port] or set PODSMITH_SSH_HOST.",
        )
    match = HOST_PATTERN.match(text.strip())
    port = int(match["port"]) if match and match["port"] else 22
    if match is None or not 1 <= port <= 65535:
        raise UsageError(
            f"Invalid SSH host {text!r}.",
            "Write it as user@host or user@host:port, e.g. root@203.0.113.7:2222.",
        )
    return SshAddress(host=match["host"].strip("[]"), port=port, user=match["user"])


def parse_gpus(output: str) -> list[tuple[str, int]]:
    """Return (name, memory in MiB) per GPU from `nvidia-smi --query-gpu=name,memory.total` CSV output."""
    gpus = []
    for line in output.splitlines():
        name, _, memory = line.rpartition(",")
        if name.strip() and memory.strip().isdigit():
            gpus.append((name.strip(), int(memory)))
    return gpus


def cpu_candidate(address: SshAddress) -> GpuCandidate:
    from podsmith_core.models import GpuCandidate

    return GpuCandidate(
        gpu_type_id="cpu",
        display_name=f"CPU on {address.host}",
        gpu_count=0,
        memory_gb=0.0,
        usable_bytes=0,
        cloud_type=NAME,
        price_per_hour=0.0,
        fits=True,
        reason=f"no NVIDIA GPU found on {address.host}: training runs on the CPU",
        source=NAME,
    )


def gpu_candidates(
    gpus: list[tuple[str, int]], spec: RunSpec, estimator: Callable[[int], MemoryEstimate]
) -> list[GpuCandidate]:
    """Offer each GPU type on the host at the counts it has, ranked by the core policy."""
    from podsmith_core.models import GpuOffer

    by_type: dict[str, list[int]] = {}
    for name, memory_mib in gpus:
        by_type.setdefault(name, []).append(memory_mib)

    if spec.gpu_type is not None and spec.gpu_type not in by_type:
        raise UsageError(
            f"GPU type {spec.gpu_type!r} not found on the host, which has {', '.join(sorted(by_type))}.",
            "Pass one of those to --gpu-type, or leave --gpu-type out.",
        )
    max_count = max(len(memories) for memories in by_type.values())
    if spec.gpu_count is not None and spec.gpu_count > max_count:
        raise UsageError(
            f"--gpu-count {spec.gpu_count} is more than the host has ({max_count} GPUs of one type).",
            f"Use --gpu-count {max_count} or fewer.",
        )

    offers = [
        GpuOffer(
            gpu_type_id=name,
            display_name=name,
            memory_gb=round(min(memories) / 1024, 1),
            cloud_type=NAME,
            price_per_gpu_hour=0.0,
            stock="High",
            max_count=len(memories),
            counts=[count for count in (1, 2, 4, 6, 8) if count <= len(memories)] or [len(memories)],
            source=NAME,
        )
        for name, memories in sorted(by_type.items())
    ]
    from podsmith_core.memory.ranking import rank_candidates

    return rank_candidates(offers, spec, estimator)


def workspace_root(settings: Settings) -> str:
    root = settings.get("PODSMITH_SSH_WORKSPACE_ROOT", DEFAULT_WORKSPACE_ROOT) or DEFAULT_WORKSPACE_ROOT
    if "\n" in root or root.strip("/") == "":
        raise UsageError(
            f"Invalid PODSMITH_SSH_WORKSPACE_ROOT {root!r}.", "Use a directory below the remote home or /tmp."
        )
    return root


def open_transport(address: SshAddress, settings: Settings, host_key: str | None = None) -> "SshTransport":
    from podsmith_core.transport.ssh import SshTransport

    transport = SshTransport.from_settings(address.host, address.port, address.user, settings, host_key=host_key)
    transport.connect()
    return transport


class SshProvider:
    @hookimpl
    def gate_check(self, spec: RunSpec, settings: Settings) -> list[Finding]:
        from podsmith_core.models import Finding

        if spec.provider != NAME:
            return []
        try:
            parse_host(spec.host or settings.get("PODSMITH_SSH_HOST"))
            workspace_root(settings)
        except UsageError as exc:
            return [Finding(level="error", code="ssh-host", message=exc.message, fix=exc.fix, source=NAME)]
        return []

    @hookimpl
    def select_gpu(
        self, spec: RunSpec, estimator: Callable[[int], MemoryEstimate], settings: Settings
    ) -> list[GpuCandidate]:
        address = parse_host(spec.host or settings.get("PODSMITH_SSH_HOST"))
        with open_transport(address, settings) as transport:
            result = transport.run(NVIDIA_SMI, timeout=60)
        # A host without NVIDIA drivers has no nvidia-smi (exit status 127), so training runs on the CPU.
        gpus = parse_gpus(result.stdout) if result.exit_status == 0 else []
        if not gpus:
            return [cpu_candidate(address)]
        return gpu_candidates(gpus, spec, estimator)

    @hookimpl
    def create_pod(self, spec: RunSpec, candidate: GpuCandidate, name: str, settings: Settings) -> PodHandle:
        from podsmith_core.models import PodHandle, utc_now

        address = parse_host(spec.host or settings.get("PODSMITH_SSH_HOST"))
        if not POD_NAME.match(name):
            raise UsageError(f"Invalid Pod name {name!r}.", "Use letters, digits, '.', '_' and '-'.")
        root = workspace_root(settings)

        with open_transport(address, settings) as transport:
            workspace = transport.run_checked(
                ["sh", "-c", PREPARE_WORKSPACE, "podsmith-prepare", root, name], timeout=60
            ).strip()
            marker = {
                "name": name,
                "created": utc_now(),
                "gpu_type_id": candidate.gpu_type_id,
                "gpu_count": candidate.gpu_count,
                "status": "RUNNING",
            }
            transport.upload(json.dumps(marker).encode(), posixpath.join(workspace, MARKER))
            host_key = transport.host_key

        return PodHandle(
            pod_id=name,
            name=name,
            provider=NAME,
            gpu_type_id=candidate.gpu_type_id,
            gpu_count=candidate.gpu_count,
            cloud_type=NAME,
            price_per_hour=0.0,
            ssh=address,
            workspace=workspace,
            host_key=host_key,
            data={"workspace_root": root},
        )

    @hookimpl
    def destroy_pod(self, pod: PodHandle, settings: Settings) -> bool:
        from podsmith_core.transport.jobs import RemoteJob
        from podsmith_core.transport.secrets import remove_secrets

        if pod.ssh is None:
            raise ProviderError(f"Pod {pod.name} has no SSH address; it was not created by the ssh provider.")
        try:
            transport = open_transport(pod.ssh, settings, host_key=pod.host_key)
        except TransportError as exc:
            raise ProviderError(
                f"Could not reach {pod.ssh.host}:{pod.ssh.port} to stop Pod {pod.name}: {exc.message}",
                f"Stop its jobs and delete {posixpath.join(pod.workspace, 'secrets')} on the host by hand.",
            ) from exc

        with transport:
            if not transport.exists(pod.workspace):
                return True
            stages = transport.run_checked(["sh", "-c", LIST_JOBS, "podsmith-jobs", pod.workspace]).split()
            for stage in stages:
                RemoteJob(transport, pod.workspace, stage).stop()
            remove_secrets(transport, pod.workspace)
            self._mark_terminated(transport, pod.workspace)
        return True

    @hookimpl
    def list_pods(self, name_prefix: str, settings: Settings) -> list[PodRecord]:
        from podsmith_core.models import PodRecord

        host = settings.get("PODSMITH_SSH_HOST")
        if not host:
            # An empty list would read as "no Pods", and reconciliation would mark live Pods terminated.
            raise UsageError(
                "The ssh provider cannot list Pods without a host.",
                "Set PODSMITH_SSH_HOST=user@host[:port] to include that machine.",
            )
        with open_transport(parse_host(host), settings) as transport:
            output = transport.run_checked(["sh", "-c", LIST_MARKERS, "podsmith-list", workspace_root(settings)])

        records = []
        for line in output.splitlines():
            try:
                marker = json.loads(line)
            except json.JSONDecodeError:
                continue
            name = str(marker.get("name", ""))
            status = str(marker.get("status", "RUNNING"))
            if name.startswith(name_prefix) and status != "TERMINATED":
                records.append(
                    PodRecord(pod_id=name, name=name, status=status, gpu_type_id=marker.get("gpu_type_id"))
                )
        return records

    @staticmethod
    def _mark_terminated(transport: "SshTransport", workspace: str) -> None:
        from podsmith_core.models import utc_now

        path = posixpath.join(workspace, MARKER)
        if not transport.exists(path):
            return
        try:
            marker = json.loads(transport.download(path))
        except json.JSONDecodeError:
            marker = {"name": posixpath.basename(workspace)}
        marker.update(status="TERMINATED", terminated=utc_now())
        transport.upload(json.dumps(marker).encode(), path)


plugin = SshProvider()
