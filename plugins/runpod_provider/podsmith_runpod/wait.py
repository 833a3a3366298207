"""Wait until a Pod is reachable over SSH, bounded in time, failing fast when the Pod stops.

Ready means: `desiredStatus` RUNNING, a public 22/tcp port mapping, and an SSH banner read from it.
Runpod's `runtime` stays null until the container runs, and `ports` can be null even when RUNNING.
"""

from __future__ import annotations

import logging
import socket
import time
from dataclasses import dataclass
from typing import Any, Callable

from podsmith_core.errors import PodStartError, ProviderError

from podsmith_runpod.client import RunpodClient

log = logging.getLogger("podsmith.runpod")

STOPPED_STATUSES = frozenset({"EXITED", "DEAD", "TERMINATED"})
BANNER_TIMEOUT_S = 5.0
MAX_POLL_INTERVAL_S = 15.0


@dataclass
class ReadyPod:
    pod: dict[str, Any]
    host: str
    port: int


def public_ssh_port(pod: dict[str, Any]) -> tuple[str, int] | None:
    """Return (ip, public port) of the Pod's public 22/tcp mapping, or None while there is none."""
    runtime = pod.get("runtime") or {}
    for port in runtime.get("ports") or []:
        if port.get("privatePort") == 22 and port.get("type") == "tcp" and port.get("isIpPublic") and port.get("ip"):
            return str(port["ip"]), int(port["publicPort"])
    return None


def read_ssh_banner(host: str, port: int, timeout: float = BANNER_TIMEOUT_S) -> bool:
    """Return whether the server on host:port sends an SSH identification line (`SSH-` prefix)."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as conn:
            conn.settimeout(timeout)
            received = b""
            while b"\n" not in received and len(received) < 512:
                chunk = conn.recv(256)
                if not chunk:
                    break
                received += chunk
    except OSError:
        return False
    return received.startswith(b"SSH-")


def format_duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def _not_ready_reason(pod: dict[str, Any], address: tuple[str, int] | None) -> str:
    status = pod.get("desiredStatus") or "UNKNOWN"
    if status != "RUNNING":
        return f"status {status}"
    if not pod.get("runtime"):
        return "RUNNING, but the container runtime is not reported yet"
    if address is None:
        return "RUNNING, but port 22/tcp has no public mapping"
    return f"RUNNING, but no SSH banner from {address[0]}:{address[1]}"


def wait_until_ready(
    client: RunpodClient,
    pod_id: str,
    timeout_s: float,
    poll_interval_s: float,
    clock: Callable[[], float] = time.monotonic,
) -> ReadyPod:
    """Poll the Pod until it is reachable; raise PodStartError when it stops or `timeout_s` passes.

    The caller terminates the Pod on any exception.
    """
    deadline = clock() + timeout_s
    interval = poll_interval_s
    reason = "no status read yet"

    while True:
        try:
            pod = client.read(f"status of Pod {pod_id}", lambda runpod: runpod.get_pod(pod_id, api_key=client.api_key))
        except ProviderError as exc:
            raise PodStartError(f"Pod {pod_id} status could not be read: {exc.message}") from None
        if pod is None:
            raise PodStartError(f"Pod {pod_id} disappeared while starting.")

        status = str(pod.get("desiredStatus") or "UNKNOWN")
        if status in STOPPED_STATUSES:
            raise PodStartError(f"Pod {pod_id} stopped while starting (status {status}).")

        address = public_ssh_port(pod) if status == "RUNNING" else None
        if address is not None and read_ssh_banner(*address):
            log.info("Pod %s is reachable over SSH at %s:%d", pod_id, *address)
            return ReadyPod(pod, *address)

        reason = _not_ready_reason(pod, address)
        remaining = deadline - clock()
        if remaining <= 0:
            raise PodStartError(f"Pod {pod_id} was not reachable over SSH within {format_duration(timeout_s)} ({reason}).")
        log.debug("Pod %s not ready (%s); next check in %.1f s", pod_id, reason, min(interval, remaining))
        client.sleep(min(interval, remaining))
        interval = min(interval * 1.5, MAX_POLL_INTERVAL_S)
