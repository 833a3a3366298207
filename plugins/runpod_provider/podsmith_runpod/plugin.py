"""The `runpod` provider plugin: GPU selection, Pod creation with failover signals, cleanup and listing.

Importing this module stays cheap: the runpod SDK (about 1.5 s to import) is loaded only when a hook
makes a request.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Callable

from podsmith_core.errors import PodsmithError, PodStartError, UsageError
from podsmith_core.hookspecs import hookimpl
from podsmith_core.settings import Settings

# The hooks import their implementation when called, so loading the plugin imports neither pydantic nor
# the runpod SDK.
if TYPE_CHECKING:
    from podsmith_core.models import (
        Finding,
        GpuCandidate,
        MemoryEstimate,
        ModelFacts,
        PodHandle,
        PodRecord,
        RunSpec,
        SshAddress,
    )

log = logging.getLogger("podsmith.runpod")

PROVIDER = "runpod"
DEFAULT_WORKSPACE = "/workspace/podsmith"
DEFAULT_SSH_USER = "root"
DEFAULT_POLL_INTERVAL_S = 5.0


def pod_env(pod: dict[str, Any]) -> dict[str, str]:
    """Return a Pod's env as a dict; Runpod reports it as a list of `KEY=value` strings."""
    env = pod.get("env") or []
    if isinstance(env, dict):
        return {str(key): str(value) for key, value in env.items()}
    pairs = (str(item).partition("=") for item in env)
    return {key: value for key, _, value in pairs if key}


class RunpodProvider:
    """Rents GPU Pods on Runpod through the runpod SDK."""

    name = PROVIDER

    @hookimpl
    def gate_check(self, spec: RunSpec, facts: ModelFacts | None, settings: Settings, intent: str) -> list[Finding]:
        from podsmith_core.models import Finding
        from podsmith_runpod import validation

        findings = []
        if spec.gpu_count == 0:
            findings.append(
                Finding(
                    level="error", code="runpod-gpu-count", source=PROVIDER,
                    message="--gpu-count 0 trains on a CPU, but Runpod GPU Pods need at least one GPU.",
                    fix="Pass --gpu-count 1, 2, 4, 6 or 8, or use --provider local or ssh for CPU training.",
                )
            )
        if spec.image:
            try:
                validation.check_sdk_string("image", spec.image)
            except UsageError as exc:
                findings.append(Finding(level="error", code="runpod-image", message=exc.message, fix=exc.fix, source=PROVIDER))

        level = "error" if intent == "run" else "warning"
        if not settings.get("RUNPOD_API_KEY"):
            findings.append(
                Finding(
                    level=level,
                    code="runpod-api-key",
                    message="RUNPOD_API_KEY is not set; GPU prices come from the bundled catalogue, without stock.",
                    fix="Set RUNPOD_API_KEY; create a key at https://www.runpod.io/console/user/settings",
                    source=PROVIDER,
                )
            )
        try:
            validation.find_public_key(settings)
        except UsageError as exc:
            findings.append(Finding(level=level, code="runpod-ssh-key", message=exc.message, fix=exc.fix, source=PROVIDER))
        return findings

    @hookimpl
    def select_gpu(
        self, spec: RunSpec, estimator: Callable[[int], MemoryEstimate], settings: Settings
    ) -> list[GpuCandidate]:
        from podsmith_core.memory.ranking import rank_candidates
        from podsmith_runpod import offers
        from podsmith_runpod.client import RunpodClient

        if not settings.get("RUNPOD_API_KEY"):
            return rank_candidates(offers.catalogue_offers(spec.cloud_type), spec, estimator)

        found, stock_by_count = offers.live_offers(RunpodClient(settings), spec.cloud_type)
        candidates = rank_candidates(found, spec, estimator)
        for candidate in candidates:
            # The ranking uses one stock status per type, so set the one for the count it chose.
            candidate.stock = stock_by_count.get((candidate.gpu_type_id, candidate.gpu_count), candidate.stock)
        return candidates

    @hookimpl
    def create_pod(self, spec: RunSpec, candidate: GpuCandidate, name: str, settings: Settings) -> PodHandle:
        from podsmith_core.models import PodHandle, SshAddress
        from podsmith_runpod import launch, validation
        from podsmith_runpod.client import RunpodClient
        from podsmith_runpod.wait import wait_until_ready

        client = RunpodClient(settings)
        client.sdk()
        public_key = validation.find_public_key(settings)
        request = launch.build_create_request(spec, candidate, name, public_key)

        pod_id, adopted = launch.create_or_adopt(client, request)
        poll_s = float(settings.get("PODSMITH_RUNPOD_POLL_INTERVAL_S", str(DEFAULT_POLL_INTERVAL_S)) or DEFAULT_POLL_INTERVAL_S)
        try:
            ready = wait_until_ready(client, pod_id, spec.ssh_timeout_min * 60, poll_s)
        except BaseException as exc:
            # The core learns the Pod id only from the returned handle, so every failure here (Ctrl-C too)
            # must terminate the Pod before it propagates.
            self._terminate_quietly(client, pod_id)
            if isinstance(exc, PodStartError):
                raise PodStartError(f"{exc.message} The Pod was terminated.", exc.fix) from None
            raise

        env = pod_env(ready.pod)
        pod = PodHandle(
            pod_id=pod_id,
            name=name,
            provider=PROVIDER,
            gpu_type_id=candidate.gpu_type_id,
            gpu_count=candidate.gpu_count,
            cloud_type=request["cloud_type"],
            price_per_hour=ready.pod.get("costPerHr") or candidate.price_per_hour,
            ssh=SshAddress(host=ready.host, port=ready.port, user=env.get("PODSMITH_SSH_USER", DEFAULT_SSH_USER)),
            workspace=env.get("PODSMITH_WORKSPACE", DEFAULT_WORKSPACE),
            data={"adopted": adopted, "image": request["image_name"], "machine_id": ready.pod.get("machineId")},
        )
        if not spec.keep_pod:
            self._start_watchdog(pod, settings)
        return pod

    def _start_watchdog(self, pod: PodHandle, settings: Settings) -> None:
        """Start the Pod's self-termination watchdog; a failure is logged, since the client still cleans up."""
        from podsmith_runpod.watchdog import install_watchdog

        try:
            pod.host_key = install_watchdog(pod, settings)
        except Exception as exc:  # noqa: BLE001 - the Pod is ready; the core's cleanup still covers it
            log.warning("Could not start the watchdog on Pod %s: %s", pod.pod_id, exc)

    @hookimpl
    def destroy_pod(self, pod: PodHandle, settings: Settings) -> bool | None:
        from podsmith_runpod import launch
        from podsmith_runpod.client import RunpodClient

        if pod.provider != PROVIDER:
            return None
        launch.terminate(RunpodClient(settings), pod.pod_id)
        return True

    @hookimpl
    def list_pods(self, name_prefix: str, settings: Settings) -> list[PodRecord]:
        from podsmith_runpod import launch
        from podsmith_runpod.client import RunpodClient

        return launch.list_pod_records(RunpodClient(settings), name_prefix)

    def _terminate_quietly(self, client: RunpodClient, pod_id: str) -> None:
        from podsmith_runpod import launch

        try:
            launch.terminate(client, pod_id)
        except PodsmithError as exc:
            log.error("Could not terminate Pod %s after a failed start: %s", pod_id, exc)


plugin = RunpodProvider()
