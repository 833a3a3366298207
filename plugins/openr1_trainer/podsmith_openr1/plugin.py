"""The `openr1-grpo` and `openr1-sft` trainer plugins."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from podsmith_core.hookspecs import hookimpl

if TYPE_CHECKING:
    from podsmith_core.models import Event, ModelFacts, PodHandle, RunResult, RunSpec, TrainerPlan
    from podsmith_core.settings import Settings
    from podsmith_core.transport.base import Transport


class OpenR1Trainer:
    """Runs Open R1's `grpo.py` or `sft.py` on the Pod with a recipe checked against TRL 0.18."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.name = f"openr1-{kind}"
        # Facts from the last prepare_run, so run_remote can re-plan when the Pod has another GPU count.
        self._facts: ModelFacts | None = None

    @hookimpl
    def prepare_run(self, spec: RunSpec, facts: ModelFacts | None, settings: Settings) -> TrainerPlan:
        from podsmith_openr1.planner import prepare

        self._facts = facts
        return prepare(spec, facts, settings, self.kind)  # type: ignore[arg-type]

    @hookimpl
    def run_remote(
        self,
        spec: RunSpec,
        plan: TrainerPlan,
        pod: PodHandle,
        transport: Transport,
        emit: Callable[[Event], None],
        settings: Settings,
    ) -> RunResult:
        from podsmith_core.models import Event

        from podsmith_openr1.planner import prepare
        from podsmith_openr1.remote import run_plan

        planned_gpus = plan.summary.get("gpu_count")
        if pod.gpu_count > 0 and planned_gpus != pod.gpu_count:
            spec = spec.model_copy(update={"gpu_count": pod.gpu_count})
            plan = prepare(spec, self._facts, settings, self.kind)  # type: ignore[arg-type]
            emit(
                Event(
                    event="replanned",
                    message=f"Plan rebuilt for the Pod's {pod.gpu_count} GPUs (planned for {planned_gpus}).",
                )
            )
        return run_plan(spec, plan, pod, transport, emit, settings)


grpo = OpenR1Trainer("grpo")
sft = OpenR1Trainer("sft")
