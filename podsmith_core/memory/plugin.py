"""Built-in plugin: the core default of the `estimate` hook, called after any trainer's own estimate."""

from __future__ import annotations

from podsmith_core.hookspecs import hookimpl
from podsmith_core.memory.estimator import estimate_memory
from podsmith_core.models import MemoryEstimate, ModelFacts, RunSpec
from podsmith_core.settings import Settings


class CoreEstimator:
    @hookimpl(trylast=True)
    def estimate(
        self, spec: RunSpec, facts: ModelFacts, gpu_count: int, settings: Settings, gpu_memory_bytes: int | None
    ) -> MemoryEstimate:
        return estimate_memory(spec, facts, gpu_count, gpu_memory_bytes=gpu_memory_bytes)


plugin = CoreEstimator()
