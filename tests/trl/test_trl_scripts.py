"""The rendered setup and launch scripts run with plain bash in a temporary workspace and a stand-in Python."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from trl_support import HF_TOKEN_VALUE, WANDB_KEY_VALUE, grpo_spec, model_facts
from podsmith_core.models import PodHandle
from podsmith_trl.plugin import grpo
from podsmith_trl.remote import files_for_pod

# Stands in for the Pod's Python. It logs its arguments, creates a virtual environment as a copy of itself,
# reports whether the launch script exported the token, and fails pip or the torch check when the test sets
# STUB_PIP_ERROR or STUB_NO_TORCH.
STUB_PYTHON = f"""#!{sys.executable}
import os
import shutil
import sys

args = sys.argv[1:]
with open(os.path.join(os.environ["PODSMITH_WORKSPACE"], "python-calls.log"), "a") as log:
    log.write(" ".join(args) + "\\n")
if args[:2] == ["-m", "venv"]:
    os.makedirs(os.path.join(args[-1], "bin"))
    shutil.copy(sys.argv[0], os.path.join(args[-1], "bin", "python"))
elif args[:3] == ["-m", "pip", "install"] and os.environ.get("STUB_PIP_ERROR"):
    print(os.environ["STUB_PIP_ERROR"], file=sys.stderr)
    sys.exit(1)
elif args[:1] == ["-c"] and "import sys, torch" in args[1] and os.environ.get("STUB_NO_TORCH"):
    sys.exit(1)
elif os.environ.get("HF_TOKEN") == os.environ.get("EXPECTED_TOKEN"):
    print("token loaded")
"""


def workspace_for(spec, settings, tmp_path: Path) -> Path:
    """Write the plan's files for a CPU Pod into a workspace whose Python is the stand-in."""
    workspace = tmp_path / "workspace"
    stub = tmp_path / "stub-python"
    stub.write_text(STUB_PYTHON)
    stub.chmod(0o755)
    plan = grpo.prepare_run(spec=spec, facts=model_facts(), settings=settings)
    pod = PodHandle(pod_id="p", name="podsmith-ab12cd34", provider="local", gpu_count=0, workspace=str(workspace),
                    data={"python": str(stub)})
    files, _notices = files_for_pod(spec, plan, pod)
    for item in files:
        path = workspace / item.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(item.content)
        path.chmod(item.mode)
    secrets = workspace / "secrets"
    secrets.mkdir(mode=0o700)
    for name, value in (("HF_TOKEN", HF_TOKEN_VALUE), ("WANDB_API_KEY", WANDB_KEY_VALUE)):
        (secrets / name).write_text(value)
        (secrets / name).chmod(0o600)
    return workspace


def run_script(workspace: Path, script: str, **environ: str) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ["PATH"], "HOME": str(workspace), "EXPECTED_TOKEN": HF_TOKEN_VALUE, **environ}
    return subprocess.run(["bash", str(workspace / "scripts" / script)], capture_output=True, text=True, env=env,
                          timeout=60)


def trace_lines(completed: subprocess.CompletedProcess) -> list[str]:
    return [line for line in completed.stderr.splitlines() if line.startswith("+")]


def test_launch_debug_traces_without_secrets(make_settings, tmp_path):
    settings = make_settings(HF_TOKEN=HF_TOKEN_VALUE, WANDB_API_KEY=WANDB_KEY_VALUE)
    spec = grpo_spec(gpu_count=0, report_to="wandb", debug_remote=True)
    workspace = workspace_for(spec, settings, tmp_path)
    completed = run_script(workspace, "launch.sh")
    output = completed.stdout + completed.stderr

    assert completed.returncode == 0, output
    assert HF_TOKEN_VALUE not in output
    assert WANDB_KEY_VALUE not in output
    assert "token loaded" in completed.stdout
    traced = trace_lines(completed)
    assert "+ export PODSMITH_WORKSPACE" in traced
    # Tracing is back on after the secrets are read.
    assert "+ export TOKENIZERS_PARALLELISM=false" in traced
    assert not [line for line in traced if "secrets/HF_TOKEN" in line or "secrets/WANDB_API_KEY" in line]
    assert not (workspace / "secrets").exists()


def test_launch_without_debug_untraced(make_settings, tmp_path):
    settings = make_settings(HF_TOKEN=HF_TOKEN_VALUE)
    workspace = workspace_for(grpo_spec(gpu_count=0), settings, tmp_path)
    completed = run_script(workspace, "launch.sh")
    assert completed.returncode == 0, completed.stderr
    assert "token loaded" in completed.stdout
    assert trace_lines(completed) == []
    assert "set -x" not in (workspace / "scripts" / "launch.sh").read_text()


def test_setup_debug_traced(settings, tmp_path):
    workspace = workspace_for(grpo_spec(gpu_count=0, debug_remote=True), settings, tmp_path)
    # A marker that matches the requirements makes setup reuse the environment and stop.
    marker = workspace / "venv" / ".podsmith-requirements"
    marker.parent.mkdir()
    marker.write_text((workspace / "config" / "requirements.txt").read_text())
    completed = run_script(workspace, "setup.sh")

    assert completed.returncode == 0, completed.stderr
    assert "Reusing the training environment" in completed.stdout
    assert "+ export PODSMITH_WORKSPACE" in trace_lines(completed)


def pip_calls(workspace: Path) -> list[str]:
    calls = (workspace / "python-calls.log").read_text().splitlines()
    return [call for call in calls if call.startswith("-m pip install")]


def test_setup_pip_quiet(settings, tmp_path):
    workspace = workspace_for(grpo_spec(gpu_count=0), settings, tmp_path)
    completed = run_script(workspace, "setup.sh", STUB_NO_TORCH="1")

    assert completed.returncode == 0, completed.stderr
    calls = pip_calls(workspace)
    assert calls[0].startswith("-m pip install --quiet torch==")
    assert calls[1].startswith("-m pip install --quiet -r config/requirements.txt")
    assert len(calls) == 2
    for line in ("Creating a virtual environment", "Installing torch==", "Installing the training stack: trl==",
                 "Training environment ready"):
        assert line in completed.stdout
    assert (workspace / "venv" / ".podsmith-requirements").is_file()


def test_setup_debug_pip_verbose(settings, tmp_path):
    workspace = workspace_for(grpo_spec(gpu_count=0, debug_remote=True), settings, tmp_path)
    completed = run_script(workspace, "setup.sh")
    assert completed.returncode == 0, completed.stderr
    assert pip_calls(workspace) == ["-m pip install -r config/requirements.txt"]


def test_setup_pip_error_shown(settings, tmp_path):
    workspace = workspace_for(grpo_spec(gpu_count=0), settings, tmp_path)
    error = "ERROR: No matching distribution found for trl==1.16.0"
    completed = run_script(workspace, "setup.sh", STUB_PIP_ERROR=error)

    assert completed.returncode == 1
    assert error in completed.stderr
    assert "Training environment ready" not in completed.stdout
    assert not (workspace / "venv" / ".podsmith-requirements").exists()
