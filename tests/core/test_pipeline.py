import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from podsmith_core.errors import CheckFailed, ProviderError, RemoteJobFailed
from podsmith_core.hookspecs import hookimpl
from podsmith_core.models import Finding, RunSpec
from podsmith_core.pipeline import Session, execute, make_plan
from podsmith_core.settings import Settings
from podsmith_core.state import StateStore
from podsmith_core.testing import (
    FakeProvider,
    FakeTrainer,
    RecordingNotifier,
    capacity_error,
    make_host,
    start_error,
)


def session_for(host, **spec_fields) -> Session:
    spec = RunSpec(repo_id="org/model", provider="fake", trainer="fake-trainer", **spec_fields)
    return Session(spec, Settings.load(environ={}, project_dir=Path("/nonexistent")), host)


def run_pipeline(tmp_path, provider, trainer, **spec_fields):
    notifier = RecordingNotifier()
    host = make_host([("fake", provider), ("fake-trainer", trainer), ("rec", notifier)])
    session = session_for(host, **spec_fields)
    plan = make_plan(session)
    return session, plan, notifier


def test_destroys_pod_on_success(tmp_path, podsmith_home):
    provider = FakeProvider(tmp_path / "pods")
    session, plan, notifier = run_pipeline(tmp_path, provider, FakeTrainer("echo hello"))
    result = execute(session, plan, StateStore())

    assert result.exit_status == 0
    assert provider.hook_names() == ["select_gpu", "create_pod", "destroy_pod"]
    assert provider.live == {}
    pods = StateStore().pods()
    assert [(pod.name, pod.status) for pod in pods] == [(f"podsmith-{session.run_id}", "terminated")]
    assert "hello" in [event.message for event in notifier.events if event.event == "log"]


def test_destroys_pod_on_failed_training(tmp_path, podsmith_home):
    provider = FakeProvider(tmp_path / "pods")
    session, plan, notifier = run_pipeline(tmp_path, provider, FakeTrainer("echo boom >&2; exit 3"))
    with pytest.raises(RemoteJobFailed) as caught:
        execute(session, plan, StateStore())
    assert caught.value.exit_status == 3
    assert provider.live == {}
    error = next(event for event in notifier.events if event.event == "error")
    assert error.tail == ["boom"]


def test_destroys_pod_when_run_remote_raises(tmp_path, podsmith_home):
    class Exploding(FakeTrainer):
        @hookimpl
        def run_remote(self, spec, plan, pod, transport, emit):
            raise RuntimeError("trainer bug")

    provider = FakeProvider(tmp_path / "pods")
    session, plan, _ = run_pipeline(tmp_path, provider, Exploding())
    with pytest.raises(RuntimeError, match="trainer bug"):
        execute(session, plan, StateStore())
    assert provider.hook_names()[-1] == "destroy_pod"
    assert provider.live == {}


def test_failover_builds_reasons_table(tmp_path, podsmith_home):
    provider = FakeProvider(
        tmp_path / "pods",
        create_failures={"FAKE-GPU-A": capacity_error("FAKE-GPU-A"), "FAKE-GPU-B": start_error("FAKE-GPU-B")},
    )
    session, plan, notifier = run_pipeline(tmp_path, provider, FakeTrainer())
    with pytest.raises(ProviderError) as caught:
        execute(session, plan, StateStore())
    message = caught.value.message
    assert "1x FAKE-GPU-A (ALL): There are no longer any instances available of FAKE-GPU-A." in message
    assert "1x FAKE-GPU-B (ALL): Pod on FAKE-GPU-B never exposed 22/tcp publicly." in message
    assert notifier.names().count("failover") == 2


def test_failover_uses_next_candidate(tmp_path, podsmith_home):
    provider = FakeProvider(tmp_path / "pods", create_failures={"FAKE-GPU-A": capacity_error("FAKE-GPU-A")})
    session, plan, _ = run_pipeline(tmp_path, provider, FakeTrainer())
    result = execute(session, plan, StateStore())
    assert result.exit_status == 0
    created = [call for name, call in provider.calls if name == "create_pod"]
    assert [call["gpu"] for call in created] == ["FAKE-GPU-A", "FAKE-GPU-B"]
    assert created[1]["name"] == f"podsmith-{session.run_id}-2"


def test_cleanup_retries_then_reports(tmp_path, podsmith_home, monkeypatch):
    monkeypatch.setattr("podsmith_core.cleanup.time.sleep", lambda _s: None)
    provider = FakeProvider(tmp_path / "pods", destroy_failures=10)
    session, plan, notifier = run_pipeline(tmp_path, provider, FakeTrainer())
    execute(session, plan, StateStore())
    assert provider.hook_names().count("destroy_pod") == 4
    failed = next(event for event in notifier.events if event.event == "cleanup-failed")
    assert f"podsmith down podsmith-{session.run_id} --provider fake" in failed.message
    assert StateStore().pods()[0].status == "cleanup-failed"


def test_keep_pod_skips_destroy(tmp_path, podsmith_home):
    provider = FakeProvider(tmp_path / "pods")
    session, plan, notifier = run_pipeline(tmp_path, provider, FakeTrainer(), keep_pod=True)
    execute(session, plan, StateStore())
    assert "destroy_pod" not in provider.hook_names()
    assert StateStore().pods()[0].status == "kept"


def test_check_error_stops_before_provider(tmp_path, podsmith_home):
    class Gate:
        @hookimpl
        def gate_check(self, spec):
            return [Finding(level="error", code="x", message="token for alice can't write to org", fix="use a write token")]

    provider = FakeProvider(tmp_path / "pods")
    host = make_host([("fake", provider), ("fake-trainer", FakeTrainer()), ("gate", Gate())])
    with pytest.raises(CheckFailed) as caught:
        make_plan(session_for(host))
    assert "token for alice can't write to org use a write token" in str(caught.value)
    assert provider.calls == []


def test_secrets_redacted_from_events(tmp_path, podsmith_home):
    provider = FakeProvider(tmp_path / "pods")
    notifier = RecordingNotifier()
    host = make_host([("fake", provider), ("fake-trainer", FakeTrainer("echo token=hf_abcdefghijklmnop")), ("rec", notifier)])
    spec = RunSpec(repo_id="org/model", provider="fake", trainer="fake-trainer")
    settings = Settings.load(environ={"HF_TOKEN": "hf_abcdefghijklmnop"}, project_dir=tmp_path)
    session = Session(spec, settings, host)
    execute(session, make_plan(session), StateStore())
    logged = [event.message for event in notifier.events if event.event == "log"]
    assert logged == ["token=***"]
    assert "hf_abcdefghijklmnop" not in Path(session.log_path).read_text()


SIGNAL_SCRIPT = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from podsmith_core.models import RunSpec
    from podsmith_core.pipeline import Session, execute, make_plan
    from podsmith_core.settings import Settings
    from podsmith_core.state import StateStore
    from podsmith_core.testing import FakeProvider, FakeTrainer, make_host

    root = Path(sys.argv[1])
    provider = FakeProvider(root / "pods")
    trainer = FakeTrainer("echo started; sleep 60; echo never")
    host = make_host([("fake", provider), ("fake-trainer", trainer)])
    spec = RunSpec(repo_id="org/model", provider="fake", trainer="fake-trainer")
    session = Session(spec, Settings.load(environ={}, project_dir=root), host)
    execute(session, make_plan(session), StateStore())
    """
)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_mid_run_destroys_pod(tmp_path, signum):
    script = tmp_path / "run.py"
    script.write_text(SIGNAL_SCRIPT)
    env = {**os.environ, "PODSMITH_HOME": str(tmp_path / "home")}
    process = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    lines = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        lines.append(line)
        if "[train] started" in line:
            break
    assert "[train] started" in "".join(lines)

    process.send_signal(signum)
    output, _ = process.communicate(timeout=60)

    assert process.returncode != 0
    destroyed = list((tmp_path / "pods").glob("*.destroyed"))
    assert len(destroyed) == 1
    assert "terminated." in output
    assert "never" not in output


def test_crashing_check_stops_run(tmp_path, podsmith_home):
    class Broken:
        @hookimpl
        def gate_check(self, spec):
            raise KeyError("config")

    provider = FakeProvider(tmp_path / "pods")
    host = make_host([("fake", provider), ("fake-trainer", FakeTrainer()), ("broken", Broken())])
    with pytest.raises(CheckFailed) as caught:
        make_plan(session_for(host))
    (finding,) = caught.value.findings
    assert finding.code == "check-crashed"
    assert "The broken check failed with KeyError" in finding.message
    assert provider.calls == []


def test_down_rejects_unknown_and_outside_pods(tmp_path, podsmith_home):
    from click.testing import CliRunner

    from podsmith_core.cli import main

    outside = tmp_path / "elsewhere" / "victim"
    (outside / "secrets").mkdir(parents=True)
    runner = CliRunner()

    missing = runner.invoke(main, ["down", "podsmith-nothere", "--provider", "local"])
    assert missing.exit_code == 1
    assert "No Pod named 'podsmith-nothere' found at provider 'local'." in missing.output

    escaped = runner.invoke(main, ["down", "../../elsewhere/victim", "--provider", "local"])
    assert escaped.exit_code == 1
    assert (outside / "secrets").is_dir()


def test_local_gpu_count_on_cpu_machine(tmp_path, podsmith_home):
    from podsmith_core.providers.local import local_gpus, plugin

    if local_gpus():
        pytest.skip("this machine has GPUs")
    (candidate,) = plugin.select_gpu(spec=RunSpec(repo_id="m", provider="local", gpu_count=2), estimator=None)
    assert candidate.fits is False
    assert "--gpu-count 2 asks for GPUs, but this machine has none; pass --gpu-count 0" == candidate.reason
    (cpu,) = plugin.select_gpu(spec=RunSpec(repo_id="m", provider="local", gpu_count=0), estimator=None)
    assert cpu.fits is True


def test_terminal_escapes_removed_from_events(tmp_path, podsmith_home):
    provider = FakeProvider(tmp_path / "pods")
    session, plan, notifier = run_pipeline(tmp_path, provider, FakeTrainer(r"printf 'bar 50%%\033[A\033[32mgreen\033[0m\n'"))
    execute(session, plan, StateStore())
    logged = [event.message for event in notifier.events if event.event == "log"]
    assert logged == ["bar 50%green"]


def test_failure_names_the_root_cause():
    from podsmith_core.pipeline import _cause_line

    tail = [
        "Traceback (most recent call last):",
        "RuntimeError: WandbCallback requires wandb to be installed. Run `pip install wandb`.",
        "Traceback (most recent call last):",
        "subprocess.CalledProcessError: Command '['python', 'train.py']' returned non-zero exit status 1.",
        "",
    ]
    assert _cause_line(tail) == "RuntimeError: WandbCallback requires wandb to be installed. Run `pip install wandb`."
    assert _cause_line(["step 1", "killed by the OOM killer", ""]) == "killed by the OOM killer"
    assert _cause_line(["subprocess.CalledProcessError: Command 'x' returned 2."]).startswith("subprocess.CalledProcessError")


def test_unknown_memory_need_needs_forced_gpu(tmp_path, podsmith_home):
    from podsmith_core.errors import UsageError
    from podsmith_core.memory.ranking import rank_candidates
    from podsmith_core.models import GpuOffer

    class Ranking(FakeProvider):
        @hookimpl
        def select_gpu(self, spec, estimator):
            offer = GpuOffer(gpu_type_id="NVIDIA L40S", display_name="L40S", memory_gb=48, price_per_gpu_hour=1.0, stock="High")
            return rank_candidates([offer], spec, estimator)

    # The model facts have no config, so the core estimator cannot size the run.
    provider = Ranking(tmp_path / "pods")
    host = make_host([("fake", provider), ("fake-trainer", FakeTrainer())])
    with pytest.raises(UsageError) as caught:
        make_plan(session_for(host))
    assert "--gpu-type and --gpu-count" in caught.value.fix

    plan = make_plan(session_for(host, gpu_type="NVIDIA L40S", gpu_count=1))
    assert plan.chosen.gpu_type_id == "NVIDIA L40S"
    warning = next(finding for finding in plan.findings if finding.code == "no-estimate")
    assert warning.fix == "--gpu-type NVIDIA L40S and --gpu-count 1 are used without a memory check."
