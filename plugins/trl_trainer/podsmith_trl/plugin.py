"""The trl-sft and trl-grpo trainers: TRL's own `trl sft` / `trl grpo` scripts, no git clone."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from podsmith_core.hookspecs import hookimpl

# The hooks import their implementation when called, so loading the plugin stays cheap.
if TYPE_CHECKING:
    from podsmith_core.models import Event, ModelFacts, PodHandle, RunResult, RunSpec, TrainerPlan
    from podsmith_core.settings import Settings
    from podsmith_core.transport.base import Transport


class TrlTrainer:
    """One TRL training method ("sft" or "grpo") exposed as a podsmith trainer."""

    def __init__(self, method: str) -> None:
        self.method = method
        self.name = f"trl-{method}"

    def __repr__(self) -> str:
        return f"TrlTrainer({self.method!r})"

    @hookimpl
    def prepare_run(self, spec: RunSpec, facts: ModelFacts | None, settings: Settings) -> TrainerPlan:
        from podsmith_trl.plan import build_plan

        return build_plan(self.name, self.method, spec, facts, settings)

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
        from podsmith_trl.remote import run_plan

        return run_plan(spec, plan, pod, transport, emit, settings)


sft = TrlTrainer("sft")
grpo = TrlTrainer("grpo")
