"""Helpers for the Runpod provider tests: test values, estimators, candidates and a failover loop."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from podsmith_core.errors import CapacityError, PodStartError
from podsmith_core.models import GB, GpuCandidate, MemoryEstimate, PodHandle, RunSpec
from podsmith_core.settings import Settings
from podsmith_runpod.plugin import RunpodProvider

HF_TOKEN_VALUE = "hf_runpodTestTokenValue0123456789"
WANDB_KEY_VALUE = "wandbRunpodTestKey0123456789abcdef"


def fixed_estimator(per_gpu_gb: float) -> Callable[[int], MemoryEstimate]:
    def estimate(gpu_count: int) -> MemoryEstimate:
        return MemoryEstimate(method="lora", gpu_count=gpu_count, per_gpu_bytes=int(per_gpu_gb * GB))

    return estimate


def candidate(gpu_type_id: str, count: int = 1, cloud_type: str = "ALL", price: float = 1.0) -> GpuCandidate:
    return GpuCandidate(
        gpu_type_id=gpu_type_id,
        display_name=gpu_type_id,
        gpu_count=count,
        memory_gb=48,
        usable_bytes=45 * GB,
        cloud_type=cloud_type,
        price_per_hour=price,
    )


@dataclass
class FailoverResult:
    pod: PodHandle | None
    reasons: list[tuple[str, str]] = field(default_factory=list)


def try_candidates(
    provider: RunpodProvider, spec: RunSpec, candidates: list[GpuCandidate], settings: Settings, name: str
) -> FailoverResult:
    """Create a Pod from the first candidate that works, as the core's pipeline does."""
    result = FailoverResult(pod=None)
    for attempt, option in enumerate(candidates, start=1):
        pod_name = name if attempt == 1 else f"{name}-{attempt}"
        try:
            result.pod = provider.create_pod(spec=spec, candidate=option, name=pod_name, settings=settings)
            return result
        except (CapacityError, PodStartError) as exc:
            result.reasons.append((option.gpu_type_id, str(exc)))
    return result
