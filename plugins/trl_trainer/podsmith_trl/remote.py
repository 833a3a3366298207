"""Run a rendered TRL plan on a Pod: upload files and secrets, run setup and training detached, read the result."""

from __future__ import annotations

import json
import logging
import posixpath
import shlex
import time
from typing import Callable

from podsmith_core.errors import PlanError, TransportError
from podsmith_core.models import Event, PlannedFile, PodHandle, RunResult, RunSpec, TrainerPlan
from podsmith_core.settings import Settings
from podsmith_core.transport.base import Transport

from podsmith_trl.decisions import choose_hardware
from podsmith_trl.plan import (
    ACCELERATE,
    LAUNCH_SCRIPT,
    MODEL_CARD,
    RESULT_FILE,
    RUN_ID_PLACEHOLDER,
    SETUP_SCRIPT,
    accelerate_config,
)

log = logging.getLogger("podsmith.trl")

POD_ENV = "config/pod.env"


def files_for_pod(
    spec: RunSpec, plan: TrainerPlan, pod: PodHandle, hf_endpoint: str | None = None
) -> tuple[list[PlannedFile], list[str]]:
    """Return the plan's files adapted to the Pod's GPU count, and notices about the adaptation."""
    notices: list[str] = []
    # Pod names are podsmith-<run id> (podsmith_core.state.pod_name); the card shows that run id.
    run_id = pod.name.removeprefix("podsmith-")
    files = [
        item.model_copy(update={"content": item.content.replace(RUN_ID_PLACEHOLDER, run_id)})
        if item.path == MODEL_CARD
        else item
        for item in plan.files
    ]
    planned_device = plan.summary.get("device")
    num_processes = int(plan.summary.get("num_processes", 1))

    if planned_device == "gpu" and pod.gpu_count == 0:
        raise PlanError(
            f"The plan was rendered for GPUs but Pod {pod.name} has none.",
            "Pass --gpu-count 0 to train on the CPU.",
        )
    if planned_device == "gpu" and pod.gpu_count != plan.summary.get("gpu_count"):
        hardware = choose_hardware(spec.model_copy(update={"gpu_count": pod.gpu_count}))
        num_processes = hardware.num_processes
        files = [item for item in files if item.path != ACCELERATE]
        files.append(PlannedFile(path=ACCELERATE, content=accelerate_config(hardware)))
        notices.append(f"Pod {pod.name} has {pod.gpu_count} GPU(s); training uses {num_processes} process(es).")

    pod_env = [f"PODSMITH_NUM_PROCESSES={num_processes}"]
    python = spec.options.get("python") or pod.data.get("python")
    if python:
        pod_env.append(f"PODSMITH_PYTHON={shlex.quote(str(python))}")
    if hf_endpoint:
        # The Pod talks to the same Hub as the checks did (a mirror or a private Hub, when configured).
        pod_env.append(f"export HF_ENDPOINT={shlex.quote(hf_endpoint.rstrip('/'))}")
    files.append(PlannedFile(path=POD_ENV, content="\n".join(pod_env) + "\n"))
    if plan.setup_script is not None:
        files.append(PlannedFile(path=SETUP_SCRIPT, content=plan.setup_script, mode=0o755))
    files.append(PlannedFile(path=LAUNCH_SCRIPT, content=plan.launch_script, mode=0o755))
    return files, notices


def _secret_values(names: list[str], settings: Settings) -> dict[str, str]:
    values = {}
    for name in names:
        value = settings.hf_token if name == "HF_TOKEN" else settings.get(name)
        if not value:
            raise PlanError(f"{name} is needed on the Pod but is not set.", f"Set {name} in .env or the environment.")
        values[name] = value
    return values


def _run_stage(
    transport: Transport, workspace: str, stage: str, script: str, emit: Callable[[Event], None]
) -> tuple[int, str]:
    from podsmith_core.transport.jobs import RemoteJob

    job = RemoteJob(transport, workspace, stage)
    job.launch(posixpath.join(workspace, script))
    status = job.follow(lambda line: emit(Event(event="log", stage=stage, message=line)))
    return status, job.log_path


def _read_result(transport: Transport, workspace: str) -> dict:
    path = posixpath.join(workspace, RESULT_FILE)
    if not transport.exists(path):
        return {}
    try:
        return json.loads(transport.download(path))
    except (ValueError, TransportError) as exc:
        log.warning("Could not read %s: %s", path, exc)
        return {}


def run_plan(
    spec: RunSpec,
    plan: TrainerPlan,
    pod: PodHandle,
    transport: Transport,
    emit: Callable[[Event], None],
    settings: Settings,
) -> RunResult:
    """Upload the plan, run setup (unless skipped) and training as detached jobs, and return the result."""
    from podsmith_core.transport.secrets import remove_secrets, upload_secrets

    started = time.monotonic()
    workspace = pod.workspace
    files, notices = files_for_pod(spec, plan, pod, settings.get("HF_ENDPOINT"))
    for notice in notices:
        emit(Event(event="notice", stage="setup", message=notice))
    secrets = _secret_values(plan.secrets, settings)

    for item in files:
        transport.upload(item.content.encode(), posixpath.join(workspace, item.path), mode=item.mode)
    try:
        upload_secrets(transport, workspace, secrets)
        if plan.setup_script is not None:
            emit(Event(event="setup", stage="setup", message=f"Setting up the training stack on Pod {pod.name}."))
            status, log_path = _run_stage(transport, workspace, "setup", SETUP_SCRIPT, emit)
            if status != 0:
                return RunResult(exit_status=status, duration_s=time.monotonic() - started, log_path=log_path)

        emit(Event(event="train", stage="train", message=f"Training with {plan.trainer} on Pod {pod.name}."))
        status, log_path = _run_stage(transport, workspace, "train", LAUNCH_SCRIPT, emit)
    finally:
        remove_secrets(transport, workspace)

    result = _read_result(transport, workspace) if status == 0 else {}
    hub_repo = result.get("hub_model_id")
    endpoint = (settings.get("HF_ENDPOINT") or "https://huggingface.co").rstrip("/")
    return RunResult(
        exit_status=status,
        output_dir=result.get("output_dir") or plan.summary.get("output_dir"),
        hub_repo=hub_repo,
        hub_url=f"{endpoint}/{hub_repo}" if hub_repo else None,
        steps=result.get("steps"),
        final_loss=result.get("final_loss"),
        duration_s=time.monotonic() - started,
        log_path=log_path,
    )
