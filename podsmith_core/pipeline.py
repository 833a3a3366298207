"""The run pipeline: check → estimate → select → create → run → cleanup.

Everything that can fail without a Pod runs in `make_plan`, before any provider hook that spends money.
`execute` destroys the Pod in every exit path (success, exception, Ctrl-C, SIGTERM) unless the user asked
to keep it.
"""

from __future__ import annotations

import collections
import re
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from podsmith_core.cleanup import cleanup_pod, pod_label
from podsmith_core.errors import (
    AuthError,
    CapacityError,
    CheckFailed,
    PlanError,
    PodsmithError,
    PodStartError,
    ProviderError,
    RemoteJobFailed,
    UsageError,
)
from podsmith_core.models import (
    Event,
    Finding,
    GpuCandidate,
    MemoryEstimate,
    ModelFacts,
    PodHandle,
    RunResult,
    RunSpec,
    TrainerPlan,
)
from podsmith_core.plugins import PluginHost
from podsmith_core.settings import Settings
from podsmith_core.state import StateStore, pod_name, short_run_id

TAIL_LINES = 60
NOTIFY_FLUSH_DEADLINE_S = 10.0
# Terminal control sequences (tqdm's cursor-up between nested bars, colours); the Pod's log keeps them.
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# A Python exception line as a traceback ends it: `ValueError: ...`, `torch.OutOfMemoryError: ...`.
EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Interrupt|Exit)\b:")
WRAPPER_EXCEPTIONS = ("subprocess.CalledProcessError", "CalledProcessError")


class Terminated(BaseException):
    """SIGTERM arrived; raised in the main thread so cleanup runs like on Ctrl-C."""


@dataclass
class Plan:
    spec: RunSpec
    facts: ModelFacts
    findings: list[Finding]
    trainer_plan: TrainerPlan | None = None
    candidates: list[GpuCandidate] = field(default_factory=list)
    estimate: MemoryEstimate | None = None

    @property
    def errors(self) -> list[Finding]:
        return [finding for finding in self.findings if finding.level == "error"]

    @property
    def chosen(self) -> GpuCandidate | None:
        return next((candidate for candidate in self.candidates if candidate.fits), None)


class Session:
    """One command's view of the plugins: the chosen provider and trainer, settings, and event dispatch."""

    def __init__(self, spec: RunSpec, settings: Settings, host: PluginHost, run_id: str | None = None) -> None:
        self.spec = spec
        self.settings = settings
        self.host = host
        self.run_id = run_id or short_run_id()
        self.tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        # Name of a Pod whose create call is in flight, so cleanup can find it after an interruption.
        self.pending_pod_name: str | None = None
        # Local copy of the streamed output (redacted), read back by `podsmith logs`.
        self.log_path: Path | None = None
        from podsmith_core.redact import Redactor

        self.redactor = Redactor(settings.secret_values())

    def call(self, hook: str, **kwargs):
        caller = self.host.caller(hook, self.spec.provider, self.spec.trainer)
        return caller(settings=self.settings, **kwargs)

    def emit(self, event: Event) -> None:
        """Send an event to every notifier, with secrets removed and the run's identity filled in."""
        message = ANSI_ESCAPE.sub("", event.message) if event.event == "log" else event.message
        if event.event == "log":
            self.tail.append(message)
        update = {
            "message": self.redactor.redact(message),
            "tail": [self.redactor.redact(line) for line in event.tail],
            "run_id": event.run_id or self.run_id,
            "project": event.project or self.spec.project,
            "repo_id": event.repo_id or self.spec.repo_id,
        }
        clean = event.model_copy(update=update)
        if self.log_path is not None:
            with open(self.log_path, "a", encoding="utf-8") as handle:
                prefix = f"[{clean.stage}] " if clean.event == "log" else "podsmith: "
                handle.write(prefix + clean.message + "\n")
        self.host.broadcast_isolated(
            "notify", self.spec.provider, self.spec.trainer, event=clean, settings=self.settings
        )

    def say(self, event: str, message: str, **fields) -> None:
        self.emit(Event(event=event, message=message, **fields))


def make_plan(session: Session, intent: str = "plan") -> Plan:
    """Run every check that needs no Pod and return the plan; raise CheckFailed when any check fails."""
    spec, host = session.spec, session.host
    host.require("provider", spec.provider)
    host.require("trainer", spec.trainer)

    facts = session.call("model_facts", spec=spec) or ModelFacts(repo_id=spec.repo_id, revision=spec.revision)
    findings: list[Finding] = []
    crashed: list[tuple[str, Exception]] = []
    for result in host.broadcast_isolated(
        "gate_check", spec.provider, spec.trainer, failures=crashed,
        spec=spec, facts=facts, settings=session.settings, intent=intent,
    ):
        findings.extend(result or [])
    for plugin_name, exc in crashed:
        # A check that crashed did not pass: stop the run rather than spend money unchecked.
        findings.append(
            Finding(
                level="error", code="check-crashed", source=plugin_name,
                message=f"The {plugin_name} check failed with {type(exc).__name__}: {session.redactor.redact(str(exc))}",
                fix="Run with PODSMITH_DEBUG=1 for details, or report the error to the plugin's authors.",
            )
        )

    plan = Plan(spec=spec, facts=facts, findings=findings)
    try:
        plan.trainer_plan = session.call("prepare_run", spec=spec, facts=facts)
    except PlanError as exc:
        findings.append(Finding(level="error", code="trainer-plan", message=exc.message, fix=exc.fix, source=spec.trainer))
    if plan.trainer_plan is not None:
        for notice in plan.trainer_plan.notices:
            findings.append(Finding(level="info", code="trainer-notice", message=notice, source=spec.trainer))
    if plan.errors:
        raise CheckFailed(plan.errors, plan.findings)

    unknown_need: list[UsageError] = []

    def estimator(gpu_count: int, gpu_memory_bytes: int | None = None) -> MemoryEstimate:
        try:
            return session.call(
                "estimate", spec=spec, facts=facts, gpu_count=gpu_count, gpu_memory_bytes=gpu_memory_bytes
            )
        except UsageError as exc:
            if not (spec.gpu_type and spec.gpu_count):
                raise UsageError(
                    exc.message, "Choose the GPU yourself with --gpu-type and --gpu-count, or use another model."
                ) from exc
            # The user picked type and count, so the run goes ahead without a memory check.
            unknown_need.append(exc)
            return MemoryEstimate(method="unknown", gpu_count=gpu_count, per_gpu_bytes=0, notes=[exc.message])

    plan.candidates = session.call("select_gpu", spec=spec, estimator=estimator) or []
    chosen = plan.chosen
    if chosen is not None and spec.gpu_count is None and plan.trainer_plan is not None:
        _replan_for_count(session, plan, chosen.gpu_count)
    if chosen is not None and chosen.gpu_count > 0:
        try:
            plan.estimate = estimator(chosen.gpu_count, chosen.usable_bytes)
        except UsageError as exc:
            # The provider ranked without the estimator (a fixed machine), so only the display lacks it.
            findings.append(Finding(level="warning", code="no-estimate", message=exc.message, fix=exc.fix))
    if unknown_need:
        findings.append(
            Finding(
                level="warning", code="no-estimate", message=unknown_need[0].message,
                fix=f"--gpu-type {spec.gpu_type} and --gpu-count {spec.gpu_count} are used without a memory check.",
            )
        )
    if chosen is None:
        rows = "; ".join(f"{c.gpu_count}x {c.gpu_type_id}: {c.reason}" for c in plan.candidates) or "no GPU offered"
        findings.append(
            Finding(
                level="error",
                code="no-gpu-fits",
                message=f"No GPU offered by {spec.provider!r} fits this run ({rows}).",
                fix="Follow the reason given for each GPU; when it is memory, lower the need "
                "(--method lora or qlora, a smaller batch, --no-vllm) or allow more GPUs.",
                source=spec.provider,
            )
        )
        raise CheckFailed(plan.errors, plan.findings)
    return plan


def _replan_for_count(session: Session, plan: Plan, gpu_count: int) -> None:
    """Render the trainer's plan again for the GPU count the selection chose (0 means a CPU machine)."""
    planned = session.spec.model_copy(update={"gpu_count": gpu_count})
    findings = [finding for finding in plan.findings if finding.code != "trainer-notice"]
    try:
        plan.trainer_plan = session.call("prepare_run", spec=planned, facts=plan.facts)
    except PlanError as exc:
        findings.append(
            Finding(level="error", code="trainer-plan", message=exc.message, fix=exc.fix, source=session.spec.trainer)
        )
        plan.findings[:] = findings
        raise CheckFailed(plan.errors, plan.findings) from exc
    for notice in plan.trainer_plan.notices if plan.trainer_plan else []:
        findings.append(Finding(level="info", code="trainer-notice", message=notice, source=session.spec.trainer))
    plan.findings[:] = findings


def _install_sigterm() -> Callable[[], None]:
    def handler(_signum, _frame):
        raise Terminated()

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: the caller owns signals
        return lambda: None
    return lambda: signal.signal(signal.SIGTERM, previous)


def execute(
    session: Session,
    plan: Plan,
    state: StateStore,
    on_pod: Callable[[PodHandle], None] | None = None,
) -> RunResult:
    """Create a Pod from the ranked candidates, run the trainer on it, and always clean up."""
    spec = session.spec
    session.log_path = state.path.parent / "runs" / f"{session.run_id}.log"
    session.log_path.parent.mkdir(parents=True, exist_ok=True)
    state.add_run(session.run_id, spec.provider, spec.trainer, spec.repo_id, str(session.log_path))
    restore_sigterm = _install_sigterm()
    pod: PodHandle | None = None
    outcome = "failed"
    try:
        session.say("start", f"Run {session.run_id}: {spec.trainer} on {spec.repo_id} with provider {spec.provider}.")
        pod = _create_first_fitting(session, plan, state)
        if on_pod:
            on_pod(pod)
        result = _run_trainer(session, plan, pod)
        outcome = "succeeded" if result.exit_status == 0 else "failed"
        if result.exit_status != 0:
            raise _job_failed(session, result.exit_status)
        state.update_run(session.run_id, status=outcome, hub_model_id=result.hub_repo, output_dir=result.output_dir)
        session.say("done", _summary(result), data=result.model_dump(mode="json"))
        return result
    except (KeyboardInterrupt, Terminated) as exc:
        outcome = "interrupted"
        reason = "SIGTERM" if isinstance(exc, Terminated) else "Ctrl-C"
        session.say("interrupted", f"Run {session.run_id} interrupted by {reason}.", level="warning")
        raise
    except PodsmithError as exc:
        session.say("error", f"Run {session.run_id} failed: {exc}", level="error", tail=list(session.tail))
        raise
    finally:
        state.update_run(session.run_id, status=outcome)
        cleanup_pod(session, state, pod)
        restore_sigterm()
        session.host.broadcast_isolated(
            "flush_notifications", spec.provider, spec.trainer,
            deadline_s=NOTIFY_FLUSH_DEADLINE_S, settings=session.settings,
        )


def _cause_line(lines: list[str]) -> str:
    """Return the line that best names why a job failed: the last exception that is not a launcher's wrapper.

    `accelerate launch` and TRL's CLI end a failed run with `subprocess.CalledProcessError`, which reports
    only that the child failed. The child's own exception, further up, names the cause.
    """
    exceptions = [line.strip() for line in lines if EXCEPTION_LINE.match(line.strip())]
    causes = [line for line in exceptions if not line.startswith(WRAPPER_EXCEPTIONS)]
    if causes or exceptions:
        return (causes or exceptions)[-1]
    return next((line.strip() for line in reversed(lines) if line.strip()), "")


def _job_failed(session: Session, exit_status: int) -> RemoteJobFailed:
    """Build the error for a failed job: its status, the line naming the cause, and where the full log is."""
    last = _cause_line(list(session.tail))
    message = f"Training exited with status {exit_status}" + (f": {last}" if last else ".")
    error = RemoteJobFailed(message, exit_status, list(session.tail))
    error.fix = f"The output above shows the cause; the whole log: podsmith logs {session.run_id}"
    return error


def _create_first_fitting(session: Session, plan: Plan, state: StateStore) -> PodHandle:
    """Try fitting candidates in order; capacity and start failures move on to the next one."""
    spec = session.spec
    reasons: list[tuple[GpuCandidate, str]] = []
    fitting = [candidate for candidate in plan.candidates if candidate.fits]
    for attempt, candidate in enumerate(fitting, start=1):
        name = pod_name(session.run_id) if attempt == 1 else f"{pod_name(session.run_id)}-{attempt}"
        label = f"{candidate.gpu_count}x {candidate.gpu_type_id} ({candidate.cloud_type})"
        session.say("create", f"Creating Pod {name} on {label}.")
        state.upsert_pod(
            name, session.run_id, spec.provider, "creating",
            gpu_type_id=candidate.gpu_type_id, gpu_count=candidate.gpu_count, price_per_hour=candidate.price_per_hour,
        )
        session.pending_pod_name = name
        try:
            pod = session.call("create_pod", spec=spec, candidate=candidate, name=name)
        except (CapacityError, PodStartError) as exc:
            state.update_pod(name, status="failed-create")
            reasons.append((candidate, str(exc)))
            next_label = "trying the next candidate" if attempt < len(fitting) else "no candidates left"
            session.say("failover", f"{label}: {exc} — {next_label}.", level="warning")
            continue
        except AuthError:
            state.update_pod(name, status="failed-create")
            raise
        session.pending_pod_name = None
        if pod is None:
            raise ProviderError(f"Provider {spec.provider!r} returned no Pod for {label}.")
        state.update_pod(
            name, status="running", pod_id=pod.pod_id, host_key=pod.host_key, workspace=pod.workspace,
            handle=pod.model_dump_json(),
        )
        session.say("pod-ready", f"Pod {pod_label(pod)} is ready on {label}.")
        return pod
    table = "\n".join(f"  {c.gpu_count}x {c.gpu_type_id} ({c.cloud_type}): {reason}" for c, reason in reasons)
    raise ProviderError(
        f"No Pod could be created; every candidate failed:\n{table}",
        "Try again later, allow more GPU types (--gpu-policy cheapest) or another --cloud-type.",
    )


def _run_trainer(session: Session, plan: Plan, pod: PodHandle) -> RunResult:
    from podsmith_core.transport import connect

    assert plan.trainer_plan is not None
    transport = connect(pod, session.settings)
    try:
        return session.call(
            "run_remote", spec=session.spec, plan=plan.trainer_plan, pod=pod, transport=transport, emit=session.emit
        )
    finally:
        transport.close()


def _summary(result: RunResult) -> str:
    parts = [f"Training finished with exit status {result.exit_status}."]
    if result.steps is not None:
        parts.append(f"Steps: {result.steps}.")
    if result.final_loss is not None:
        parts.append(f"Final loss: {result.final_loss:.4f}.")
    if result.duration_s is not None:
        parts.append(f"Duration: {result.duration_s:.0f} s.")
    if result.output_dir:
        parts.append(f"Output: {result.output_dir}.")
    if result.hub_url or result.hub_repo:
        parts.append(f"Hub: {result.hub_url or result.hub_repo}.")
    return " ".join(parts)
