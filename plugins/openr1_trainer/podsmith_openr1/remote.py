"""Run an Open R1 plan on a Pod: upload files and secrets, run setup and training as detached jobs."""

from __future__ import annotations

import collections
import posixpath
import re
import time
from typing import Callable

from podsmith_core.errors import RemoteJobFailed
from podsmith_core.models import Event, PodHandle, RunResult, RunSpec, TrainerPlan
from podsmith_core.settings import Settings
from podsmith_core.transport.base import Transport
from podsmith_core.transport.jobs import RemoteJob
from podsmith_core.transport.secrets import remove_secrets, upload_secrets

TAIL_LINES = 60
LOSS_PATTERN = re.compile(r"'loss': '?([0-9.eE+-]+)")


def upload_plan(transport: Transport, workspace: str, plan: TrainerPlan) -> None:
    for planned in plan.files:
        transport.upload(planned.content.encode(), posixpath.join(workspace, planned.path), mode=planned.mode)


def secret_values(plan: TrainerPlan, settings: Settings) -> dict[str, str]:
    """Return the plan's secrets that have a value. HF_TOKEN also accepts HUGGINGFACE_HUB_TOKEN."""
    values: dict[str, str] = {}
    for name in plan.secrets:
        value = settings.hf_token if name == "HF_TOKEN" else settings.get(name)
        if value:
            values[name] = value
    return values


class StageRunner:
    """Runs one stage's script as a detached job and forwards its lines as `log` events."""

    def __init__(self, transport: Transport, workspace: str, emit: Callable[[Event], None]) -> None:
        self.transport = transport
        self.workspace = workspace
        self.emit = emit
        self.tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        self.final_loss: float | None = None

    def on_line(self, stage: str) -> Callable[[str], None]:
        def forward(line: str) -> None:
            self.tail.append(line)
            match = LOSS_PATTERN.search(line)
            if match:
                try:
                    self.final_loss = float(match.group(1))
                except ValueError:
                    pass
            self.emit(Event(event="log", stage=stage, message=line))

        return forward

    def run(self, stage: str, script: str) -> tuple[int, str]:
        job = RemoteJob(self.transport, self.workspace, stage)
        self.emit(Event(event="stage-started", stage=stage, message=f"{stage} started ({script})."))
        job.launch(posixpath.join(self.workspace, script))
        status = job.follow(self.on_line(stage))
        return status, job.log_path


def run_plan(
    spec: RunSpec,
    plan: TrainerPlan,
    pod: PodHandle,
    transport: Transport,
    emit: Callable[[Event], None],
    settings: Settings,
) -> RunResult:
    """Upload the plan, run setup (unless skipped) and training, and return the result of training."""
    workspace = pod.workspace
    started = time.monotonic()
    upload_plan(transport, workspace, plan)
    upload_secrets(transport, workspace, secret_values(plan, settings))

    runner = StageRunner(transport, workspace, emit)
    try:
        if plan.setup_script:
            status, _log = runner.run("setup", plan.setup_script)
            if status != 0:
                raise RemoteJobFailed(f"Setup failed on the Pod with exit status {status}.", status, list(runner.tail))
            emit(Event(event="stage-finished", stage="setup", message="setup finished."))

        runner.tail.clear()
        status, log_path = runner.run("train", plan.launch_script)
        if status != 0:
            raise RemoteJobFailed(f"Training failed on the Pod with exit status {status}.", status, list(runner.tail))
    finally:
        # The launch script deletes the secrets when it exits, and this also covers a failed setup.
        remove_secrets(transport, workspace)

    summary = plan.summary
    hub_repo = summary.get("hub_model_id") if spec.push_to_hub else None
    endpoint = (settings.get("HF_ENDPOINT") or "https://huggingface.co").rstrip("/")
    return RunResult(
        exit_status=status,
        output_dir=posixpath.join(workspace, summary["output_dir"]),
        hub_repo=hub_repo,
        hub_url=f"{endpoint}/{hub_repo}" if hub_repo and "/" in hub_repo else None,
        final_loss=runner.final_loss,
        duration_s=time.monotonic() - started,
        log_path=log_path,
    )
