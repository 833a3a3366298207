"""Built-in plugin: the core default of the `estimate` hook, called after any trainer's own estimate."""

from __future__ import annotations

from typing import TYPE_CHECKING

from podsmith_core.hookspecs import hookimpl

if TYPE_CHECKING:
    from podsmith_core.models import MemoryEstimate, ModelFacts, RunSpec
    from podsmith_core.settings import Settings


class CoreEstimator:
    @hookimpl(trylast=True)
    def estimate(
        self, spec: RunSpec, facts: ModelFacts, gpu_count: int, settings: Settings, gpu_memory_bytes: int | None
    ) -> MemoryEstimate:
        # Imported here so that loading plugins (for `podsmith --help` or `plugins`) stays cheap.
        from podsmith_core.memory.estimator import estimate_memory

        return estimate_memory(spec, facts, gpu_count, gpu_memory_bytes=gpu_memory_bytes)


plugin = CoreEstimator()
