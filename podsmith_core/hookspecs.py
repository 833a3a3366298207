"""The podsmith plugin API: every hook a provider, trainer or notifier can implement.

Hooks are called with keyword arguments only. Provider hooks reach only the provider chosen for the run,
trainer hooks only the chosen trainer; `gate_check` and `notify` reach every active plugin.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import pluggy

if TYPE_CHECKING:
    from podsmith_core.models import (
        Event,
        Finding,
        GpuCandidate,
        MemoryEstimate,
        ModelFacts,
        PodHandle,
        PodRecord,
        RunResult,
        RunSpec,
        TrainerPlan,
    )
    from podsmith_core.settings import Settings
    from podsmith_core.transport.base import Transport

PROJECT = "podsmith"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec(firstresult=True)
def model_facts(spec: RunSpec, settings: Settings) -> ModelFacts | None:
    """Read the base model's facts (config, parameter counts, chat template) without downloading weights."""


@hookspec
def gate_check(
    spec: RunSpec, facts: ModelFacts | None, settings: Settings, intent: str
) -> list[Finding] | None:
    """Check the run before any Pod exists (`intent` is "plan" or "run"); any error finding stops the run."""


@hookspec(firstresult=True)
def estimate(
    spec: RunSpec, facts: ModelFacts, gpu_count: int, settings: Settings, gpu_memory_bytes: int | None
) -> MemoryEstimate | None:
    """Estimate peak memory per GPU on `gpu_count` cards of `gpu_memory_bytes` each (None: unknown card)."""


@hookspec(firstresult=True)
def prepare_run(spec: RunSpec, facts: ModelFacts | None, settings: Settings) -> TrainerPlan | None:
    """Render the trainer's files and scripts, raising PlanError for settings that cannot work."""


@hookspec(firstresult=True)
def select_gpu(
    spec: RunSpec, estimator: Callable[..., MemoryEstimate], settings: Settings
) -> list[GpuCandidate] | None:
    """Return GPU candidates ranked in failover order; `estimator(gpu_count, gpu_memory_bytes=...)` gives the need."""


@hookspec(firstresult=True)
def create_pod(spec: RunSpec, candidate: GpuCandidate, name: str, settings: Settings) -> PodHandle | None:
    """Create a Pod named `name` and wait until it is reachable; raise CapacityError to try the next candidate."""


@hookspec(firstresult=True)
def destroy_pod(pod: PodHandle, settings: Settings) -> bool | None:
    """Terminate the Pod; a Pod that is already gone counts as success (return True)."""


@hookspec(firstresult=True)
def list_pods(name_prefix: str, settings: Settings) -> list[PodRecord] | None:
    """List the provider's Pods whose name starts with `name_prefix`."""


@hookspec(firstresult=True)
def run_remote(
    spec: RunSpec,
    plan: TrainerPlan,
    pod: PodHandle,
    transport: Transport,
    emit: Callable[[Event], None],
    settings: Settings,
) -> RunResult | None:
    """Set up the Pod, launch training detached, stream its log through `emit`, and return the result."""


@hookspec
def notify(event: Event, settings: Settings) -> None:
    """Deliver one progress event; each notifier is called in isolation, so a failure never stops the others."""


@hookspec
def flush_notifications(deadline_s: float, settings: Settings) -> None:
    """Deliver queued events before the process exits, giving up after `deadline_s` seconds."""
