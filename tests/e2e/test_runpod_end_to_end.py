"""The main job for real: runpod SDK → Runpod emulator → a Pod that is a real sshd → SSH → TRL training on
the CPU → push to the Hub emulator → Pod terminated.

The emulated Pod runs on this machine, so its "image" Python is the interpreter running the tests
(`--opt python=...`), and the emulator offers a GPU type with id `cpu` so the trainer plans CPU training.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from emulators.runpod_schema import GpuTypeEntry

HF_TOKEN = "hf_e2eWriteToken_0123456789abcdef"
WANDB_KEY = "wandb_e2e_key_0123456789"


def cli_environ(tmp_path: Path, runpod_emulator, hub_emulator, client_key) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    environ = {key: value for key, value in os.environ.items() if not key.startswith(("HF_", "RUNPOD_", "PODSMITH_"))}
    environ.update(
        {
            "HOME": str(home),
            "PODSMITH_HOME": str(tmp_path / "podsmith-home"),
            "RUNPOD_API_BASE_URL": runpod_emulator.url,
            "RUNPOD_API_KEY": runpod_emulator.api_key,
            "PODSMITH_RUNPOD_POLL_INTERVAL_S": "0.05",
            "HF_ENDPOINT": hub_emulator.url,
            "HF_TOKEN": HF_TOKEN,
            "WANDB_API_KEY": WANDB_KEY,
            "SSH_PUBLIC_KEY": client_key.public_key,
            "SSH_PRIVATE_KEY_PATH": str(client_key.private_path),
            "COLUMNS": "200",
        }
    )
    return environ


def podsmith(args: list[str], environ: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "podsmith_core.cli", *args],
        capture_output=True, text=True, env=environ, cwd=cwd, timeout=900,
    )


@pytest.mark.slow
def test_runpod_sft_pushes_and_terminates(tmp_path, runpod_emulator, hub_emulator, e2e_client_key, demo_assets):
    hub_emulator.add_local_repo("demo-org/tiny-llama", demo_assets.model)
    # A remote Pod cannot read a directory on this machine, so the dataset comes from the Hub too.
    hub_emulator.add_local_repo("demo-org/tiny-sft-data", demo_assets.sft_dataset, repo_type="dataset")
    hub_emulator.add_token(HF_TOKEN, "alice", role="write")
    runpod_emulator.gpu_types["cpu"] = GpuTypeEntry("cpu", "CPU test Pod", 24, 0.10, 0.05)
    environ = cli_environ(tmp_path, runpod_emulator, hub_emulator, e2e_client_key)

    result = podsmith(
        [
            "run", "--provider", "runpod", "--trainer", "trl-sft",
            "--repo-id", "demo-org/tiny-llama", "--dataset-name", "demo-org/tiny-sft-data",
            "--gpu-type", "cpu", "--gpu-count", "1", "--method", "full",
            "--max-steps", "2", "--per-device-train-batch-size", "2", "--gradient-accumulation-steps", "1",
            "--max-prompt-length", "32", "--max-completion-length", "16", "--learning-rate", "5e-4",
            "--hub-model-id", "tiny-sft", "--volume-gb", "20", "--ssh-timeout-min", "2",
            "--opt", f"python={sys.executable}", "-y",
        ],
        environ,
        tmp_path,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]

    assert "[train]" in output
    assert "terminated." in output
    assert runpod_emulator.live_pods() == []
    assert runpod_emulator.count("podFindAndDeployOnDemand") == 1
    assert runpod_emulator.count("podTerminate") >= 1

    assert hub_emulator.has_repo("alice/tiny-sft")
    assert hub_emulator.repo_private("alice/tiny-sft") is True
    files = hub_emulator.repo_files("alice/tiny-sft")
    assert "config.json" in files
    assert any(name.endswith(".safetensors") for name in files)
    card = files["README.md"].decode()
    assert "base_model: demo-org/tiny-llama" in card
    assert json.loads(files["config.json"])["model_type"] == "llama"

    request_log = runpod_emulator.log_text()
    assert HF_TOKEN not in request_log
    assert WANDB_KEY not in request_log
    assert HF_TOKEN not in output
    assert runpod_emulator.api_key not in output


def test_runpod_plan_without_key_uses_catalogue(tmp_path, runpod_emulator, hub_emulator, e2e_client_key, demo_assets):
    hub_emulator.add_token(HF_TOKEN, "alice", role="write")
    environ = cli_environ(tmp_path, runpod_emulator, hub_emulator, e2e_client_key)
    del environ["RUNPOD_API_KEY"]

    result = podsmith(
        ["plan", "--provider", "runpod", "--trainer", "openr1-grpo", "--repo-id", "unsloth/gemma-2b", "--gpu-count", "1"],
        environ,
        tmp_path,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "bundled catalogue" in output
    assert "has no chat template: podsmith's fallback template is injected; it ends assistant turns with the EOS token" in output
    assert "reward_funcs: ['accuracy']" in output
    assert "num_generations adjusted from 16 to 4" in output
    assert "num_generations: 4" in output
    assert "zero_stage:" in output
    assert "vLLM colocate reservation" in output
    l40s = next(line for line in output.splitlines() if "│ L40S" in line)
    assert "│ no " in l40s
    assert "openr1/recipe.yaml" in output
    assert "openr1/launch.sh" in output
    assert "Plan: 1x A100 SXM" in output
    assert runpod_emulator.requests == []
    assert HF_TOKEN not in output
