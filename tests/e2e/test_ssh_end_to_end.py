"""The demo's trl-sft run with `--provider ssh`: real SSH to a real sshd, real training on the CPU, a push
to the Hub emulator, and the secrets gone from the machine afterwards."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from test_runpod_end_to_end import HF_TOKEN, cli_environ, podsmith


@pytest.mark.slow
def test_ssh_sft_trains_and_pushes(tmp_path, runpod_emulator, hub_emulator, e2e_client_key, demo_assets, ssh_machine):
    hub_emulator.add_local_repo("demo-org/tiny-llama", demo_assets.model)
    hub_emulator.add_token(HF_TOKEN, "alice", role="write")
    environ = cli_environ(tmp_path, runpod_emulator, hub_emulator, e2e_client_key)
    host = f"{ssh_machine.user}@127.0.0.1:{ssh_machine.port}"

    result = podsmith(
        [
            "run", "--provider", "ssh", "--host", host, "--trainer", "trl-sft",
            "--repo-id", "demo-org/tiny-llama", "--dataset-name", str(demo_assets.sft_dataset),
            "--method", "full", "--max-steps", "2", "--per-device-train-batch-size", "2",
            "--gradient-accumulation-steps", "1", "--max-prompt-length", "32", "--max-completion-length", "16",
            "--hub-model-id", "tiny-sft-ssh", "--opt", f"python={sys.executable}", "-y",
        ],
        environ,
        tmp_path,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]

    assert "[setup]" in output
    assert "[train]" in output
    files = hub_emulator.repo_files("alice/tiny-sft-ssh")
    assert "config.json" in files
    assert hub_emulator.repo_private("alice/tiny-sft-ssh") is True

    workspaces = list(Path(ssh_machine.home).glob("podsmith/podsmith-*"))
    assert len(workspaces) == 1
    workspace = workspaces[0]
    assert not (workspace / "secrets").exists()
    assert (workspace / "logs" / "train.log").is_file()
    assert HF_TOKEN not in (workspace / "logs" / "train.log").read_text()
    assert HF_TOKEN not in output
