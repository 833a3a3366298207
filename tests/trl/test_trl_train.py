"""Real training on the CPU: `podsmith run --provider local` with the demo model, then the saved model is loaded."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

FLAGS = [
    "--provider", "local",
    "--no-push",
    "-y",
    "--max-steps", "2",
    "--per-device-train-batch-size", "2",
    "--gradient-accumulation-steps", "1",
    "--learning-rate", "1e-4",
    "--max-prompt-length", "32",
    "--max-completion-length", "8",
    "--method", "full",
]


def podsmith_run(tmp_path: Path, *flags: str) -> tuple[subprocess.CompletedProcess, Path]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = dict(os.environ)
    env.update(
        PODSMITH_HOME=str(tmp_path / "podsmith-home"),
        HOME=str(home),
        HF_ENDPOINT="http://127.0.0.1:9",
        HF_HUB_OFFLINE="1",
        PIP_NO_INDEX="1",
    )
    for key in ("HF_TOKEN", "HUGGINGFACE_HUB_TOKEN", "WANDB_API_KEY", "PROGRESS_WEBHOOK_URL", "DISCORD_WEBHOOK_URL"):
        env.pop(key, None)
    completed = subprocess.run(
        [sys.executable, "-m", "podsmith_core.cli", "run", *FLAGS, *flags],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=900,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output[-4000:]
    match = re.search(r"Output: (\S+?)\.?$", output, re.MULTILINE)
    assert match, output[-2000:]
    return completed, Path(match.group(1))


def read_result(output_dir: Path) -> dict:
    workspace = output_dir.parents[1]
    return json.loads((workspace / "results" / "result.json").read_text())


def test_sft_trains_on_cpu(tmp_path, demo_assets):
    completed, output_dir = podsmith_run(
        tmp_path, "--trainer", "trl-sft", "--repo-id", str(demo_assets.model), "--dataset-name", str(demo_assets.sft_dataset)
    )
    result = read_result(output_dir)
    assert result["steps"] == 2
    assert isinstance(result["final_loss"], float)
    assert result["output_dir"] == str(output_dir)
    assert "[setup] Creating a virtual environment" in completed.stdout
    assert "[setup] Installing the training stack" in completed.stdout
    # pip runs with --quiet: packages the base environment already has are not listed one by one.
    assert "Requirement already satisfied" not in completed.stdout + completed.stderr
    assert "[train] Training finished." in completed.stdout

    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(output_dir)
    assert model.config.num_hidden_layers == 2
    assert AutoTokenizer.from_pretrained(output_dir).chat_template is not None

    # A second setup with unchanged requirements reuses the environment.
    workspace = output_dir.parents[1]
    rerun = subprocess.run(["bash", str(workspace / "scripts" / "setup.sh")], capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert "Reusing the training environment" in rerun.stdout
    assert not (workspace / "secrets").exists()


def test_grpo_trains_with_fallback_template(tmp_path, demo_assets):
    completed, output_dir = podsmith_run(
        tmp_path,
        "--trainer", "trl-grpo",
        "--repo-id", str(demo_assets.model_without_chat_template),
        "--dataset-name", str(demo_assets.grpo_dataset),
        "--num-generations", "2",
    )
    result = read_result(output_dir)
    assert result["steps"] == 2
    assert isinstance(result["final_loss"], float)
    assert "Fallback chat template injected" in completed.stdout + completed.stderr
    assert "rewards/accuracy_reward/mean" in completed.stdout

    from transformers import AutoModelForCausalLM, AutoTokenizer

    from podsmith_trl.render import source

    AutoModelForCausalLM.from_pretrained(output_dir)
    tokenizer = AutoTokenizer.from_pretrained(output_dir)
    assert tokenizer.chat_template == source("chat/fallback.jinja")
    rendered = tokenizer.apply_chat_template(
        [{"role": "user", "content": "1 + 1?"}, {"role": "assistant", "content": "2"}], tokenize=False
    )
    assert rendered.endswith("2" + tokenizer.eos_token + "\n\n")
