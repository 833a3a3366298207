"""Create a Pod without renting a second one: after an ambiguous failure, look the Pod up by name.

A create that times out or gets a 5xx response may still have made a Pod. Sending the create again would rent a
second one, so after such a failure the Pods are listed by the run's unique name: a Pod found is adopted,
and only when none exists is the create sent again.
"""

from __future__ import annotations

import logging
from typing import Any

from podsmith_core.errors import CapacityError, ProviderError, UsageError
from podsmith_core.models import GpuCandidate, PodRecord, RunSpec

from podsmith_runpod.client import (
    AUTH,
    CAPACITY,
    NOT_FOUND,
    OTHER,
    UNKNOWN_GPU,
    RunpodClient,
    classify,
)
from podsmith_runpod.offers import GPU_COUNTS
from podsmith_runpod.validation import check_env, check_sdk_string

log = logging.getLogger("podsmith.runpod")

# Runpod's PyTorch image starts sshd and writes the PUBLIC_KEY env into authorized_keys.
DEFAULT_IMAGE = "runpod/pytorch:2.4.0-py3.11-cuda12.4.1-devel-ubuntu22.04"
VOLUME_MOUNT_PATH = "/workspace"
CREATE_ATTEMPTS = 3

LIST_PODS_QUERY = "query PodsmithPods { myself { pods { id name desiredStatus costPerHr machine { gpuDisplayName } } } }"


def build_create_request(spec: RunSpec, candidate: GpuCandidate, name: str, public_key: str) -> dict[str, Any]:
    """Return the keyword arguments for `runpod.create_pod`, every string checked for the SDK."""
    if candidate.gpu_count not in GPU_COUNTS:
        raise UsageError(
            f"Invalid GPU count {candidate.gpu_count} for Runpod.",
            f"Use one of {', '.join(map(str, GPU_COUNTS))}.",
        )
    cloud_type = candidate.cloud_type or spec.cloud_type
    if cloud_type not in ("ALL", "SECURE", "COMMUNITY"):
        raise UsageError(f"Invalid cloud type {cloud_type!r}.", "Use ALL, SECURE or COMMUNITY.")

    request: dict[str, Any] = {
        "name": name,
        "image_name": spec.image or DEFAULT_IMAGE,
        "gpu_type_id": candidate.gpu_type_id,
        "cloud_type": cloud_type,
        "gpu_count": candidate.gpu_count,
        "volume_in_gb": spec.volume_gb,
        "container_disk_in_gb": spec.container_disk_gb,
        "ports": "22/tcp",
        "volume_mount_path": VOLUME_MOUNT_PATH,
        "support_public_ip": True,
        "start_ssh": True,
        "env": {"PUBLIC_KEY": public_key},
    }
    labels = {"name": "Pod name", "image_name": "image", "gpu_type_id": "GPU type", "ports": "ports"}
    for key, label in labels.items():
        check_sdk_string(label, request[key])
    check_env(request["env"])
    return request


def list_pod_records(client: RunpodClient, name_prefix: str = "") -> list[PodRecord]:
    data = client.query("Pod list", LIST_PODS_QUERY)
    pods = ((data.get("myself") or {}).get("pods")) or []
    records = []
    for pod in pods:
        if not str(pod.get("name") or "").startswith(name_prefix):
            continue
        records.append(
            PodRecord(
                pod_id=pod["id"],
                name=pod.get("name") or "",
                status=str(pod.get("desiredStatus") or "UNKNOWN"),
                gpu_type_id=(pod.get("machine") or {}).get("gpuDisplayName"),
                price_per_hour=pod.get("costPerHr"),
            )
        )
    return records


def terminate(client: RunpodClient, pod_id: str) -> None:
    """Terminate a Pod, retrying transient failures; a Pod that is already gone counts as terminated."""
    check_sdk_string("Pod id", pod_id)

    def call(runpod: Any) -> None:
        try:
            runpod.terminate_pod(pod_id)
        except Exception as exc:  # noqa: BLE001 - sorted by classify()
            if classify(exc) != NOT_FOUND:
                raise

    # Terminating twice is harmless, so the mutation is retried like a read.
    client.read(f"terminate of Pod {pod_id}", call)
    log.info("Terminated Runpod Pod %s", pod_id)


def create_or_adopt(client: RunpodClient, request: dict[str, Any]) -> tuple[str, bool]:
    """Create the Pod and return (pod id, adopted); adopted is True when a lookup by name found it."""
    runpod = client.sdk()
    name = request["name"]
    label = f"{request['gpu_type_id']} x{request['gpu_count']} ({request['cloud_type']})"

    for attempt in range(CREATE_ATTEMPTS):
        try:
            created = runpod.create_pod(**request)
            pod_id = created["id"]
        except Exception as exc:  # noqa: BLE001 - sorted by classify()
            kind = classify(exc)
            summary = client.describe(exc)
        else:
            log.info("Created Runpod Pod %s (%s) on %s", pod_id, name, label)
            return pod_id, False

        # Raised outside the except block, so no error keeps the SDK exception (and its request text).
        if kind == CAPACITY:
            raise CapacityError(f"No capacity for {label}: {summary}")
        if kind == UNKNOWN_GPU:
            raise CapacityError(f"Runpod does not offer GPU type {request['gpu_type_id']!r}.")
        if kind == AUTH:
            raise client.auth_error(summary)

        log.warning("Create of Pod %s failed (%s); looking it up by name", name, summary)
        adopted = adopt_by_name(client, name)
        if adopted is not None:
            return adopted, True
        if kind == OTHER:
            raise ProviderError(f"Runpod rejected the Pod {name} for {label}: {summary}")
        if attempt + 1 < CREATE_ATTEMPTS:
            client.sleep(client.backoff_s(attempt))

    raise ProviderError(
        f"Runpod failed to create Pod {name} for {label} after {CREATE_ATTEMPTS} attempts, and no Pod with that "
        "name exists.",
        "Check https://status.runpod.io and try again.",
    )


def adopt_by_name(client: RunpodClient, name: str) -> str | None:
    """Return the id of the Pod named `name`, terminating any extra Pods with the same name."""
    try:
        matches = [record for record in list_pod_records(client, name) if record.name == name]
    except ProviderError as exc:
        raise ProviderError(
            f"Could not check whether Pod {name} was created: {exc.message}",
            f"Look for a Pod named {name} in the Runpod console and terminate it if it exists.",
        ) from None
    live = [record for record in matches if record.status != "TERMINATED"]
    if not live:
        return None

    keep, *extra = live
    for record in extra:
        log.warning("Terminating duplicate Pod %s named %s", record.pod_id, name)
        terminate(client, record.pod_id)
    log.info("Adopting Pod %s (%s) found by name after a failed create", keep.pod_id, name)
    return keep.pod_id
