"""Setup and launch scripts: syntax, shellcheck, and launch runs against stand-in nvidia-smi, trl, accelerate."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from openr1_support import HF_TOKEN_VALUE, WANDB_KEY_VALUE, build_plan, file_text, make_settings, require_tool
from test_openr1_recipes import CASES, case_plan
from workspace_helpers import free_port, make_env, standin_environ, write_plan, write_secret


def scripts_of(plan) -> list[tuple[str, str]]:
    return [(planned.path, planned.content) for planned in plan.files if planned.path.endswith(".sh")]


@pytest.mark.parametrize("name", sorted(CASES))
def test_scripts_syntax(name, tmp_path):
    plan = case_plan(name, tmp_path)
    for path, content in scripts_of(plan):
        script = tmp_path / path.replace("/", "_")
        script.write_text(content)
        result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
        assert result.returncode == 0, f"{name} {path}: {result.stderr}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_scripts_shellcheck(name, tmp_path):
    shellcheck = require_tool("shellcheck")
    plan = case_plan(name, tmp_path)
    for path, content in scripts_of(plan):
        script = tmp_path / path.replace("/", "_")
        script.write_text(content)
        result = subprocess.run([shellcheck, "-x", "-s", "bash", str(script)], capture_output=True, text=True)
        assert result.returncode == 0, f"{name} {path}:\n{result.stdout}"


def run_launch(workspace, environ, timeout=60):
    return subprocess.run(
        ["bash", str(workspace / "openr1" / "launch.sh")],
        cwd=workspace,
        env=environ,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_server_launch_splits_gpus(tmp_path):
    """Server mode: trl vllm-serve on GPU 0, training on GPUs 1-3 after the health check passed."""
    port = free_port()
    plan = build_plan(
        "openr1-grpo",
        gpu_count=4,
        vllm_mode="server",
        nccl_p2p_disable=True,
        options={"vllm_server_port": str(port)},
        settings=make_settings(tmp_path),
    )
    workspace = tmp_path / "ws"
    write_plan(workspace, plan)
    make_env(workspace, plan)
    write_secret(workspace, "HF_TOKEN", HF_TOKEN_VALUE)
    records = tmp_path / "records"
    environ = standin_environ(
        records, 4, STANDIN_HEALTH_PORT=str(port), STANDIN_TRL_DELAY="1", STANDIN_EXPECTED_HF_TOKEN=HF_TOKEN_VALUE
    )

    result = run_launch(workspace, environ)

    assert result.returncode == 0, result.stdout + result.stderr
    trl = json.loads((records / "trl.json").read_text())
    accelerate = json.loads((records / "accelerate.json").read_text())
    assert trl["args"][:3] == ["vllm-serve", "--model", "unsloth/gemma-2b"]
    assert trl["args"][trl["args"].index("--port") + 1] == str(port)
    assert trl["args"][trl["args"].index("--gpu_memory_utilization") + 1] == "0.9"
    assert trl["CUDA_VISIBLE_DEVICES"] == "0"
    assert trl["NCCL_P2P_DISABLE"] == "1"
    assert trl["HF_TOKEN_SET"] is True
    assert trl["HF_HOME"] == str(workspace / "cache" / "huggingface")
    assert accelerate["CUDA_VISIBLE_DEVICES"] == "1,2,3"
    assert accelerate["args"][accelerate["args"].index("--num_processes") + 1] == "3"
    assert accelerate["args"][accelerate["args"].index("--config_file") + 1] == str(workspace / "openr1" / "accelerate.yaml")
    assert accelerate["args"][-3].endswith("openr1-env/open-r1/src/open_r1/grpo.py")
    assert accelerate["server_healthy"] is True
    assert accelerate["NCCL_P2P_DISABLE"] == "1"
    assert accelerate["HF_TOKEN_MATCHES"] is True
    assert accelerate["secret_modes"] == {"HF_TOKEN": 0o600}
    assert accelerate["recipe_exists"] is True
    assert "[vllm-serve] stand-in vllm-serve listening" in result.stdout
    assert "vLLM server is healthy; training on GPU 1,2,3" in result.stdout
    with pytest.raises(ProcessLookupError):
        os.kill(trl["pid"], 0)
    assert not (workspace / "secrets").exists()


def test_server_exit_fails_launch(tmp_path):
    port = free_port()
    plan = build_plan(
        "openr1-grpo", gpu_count=2, vllm_mode="server", options={"vllm_server_port": str(port)}, settings=make_settings(tmp_path)
    )
    workspace = tmp_path / "ws"
    write_plan(workspace, plan)
    make_env(workspace, plan)
    records = tmp_path / "records"
    result = run_launch(workspace, standin_environ(records, 2, STANDIN_TRL_FAIL="1"))
    assert result.returncode != 0
    assert "the vLLM server exited before it became healthy" in result.stderr
    assert not (records / "accelerate.json").exists()


def test_colocate_launch_all_gpus(tmp_path):
    plan = build_plan("openr1-grpo", gpu_count=2, settings=make_settings(tmp_path))
    workspace = tmp_path / "ws"
    write_plan(workspace, plan)
    make_env(workspace, plan)
    records = tmp_path / "records"
    result = run_launch(workspace, standin_environ(records, 2))
    assert result.returncode == 0, result.stderr
    accelerate = json.loads((records / "accelerate.json").read_text())
    assert accelerate["CUDA_VISIBLE_DEVICES"] is None
    assert accelerate["args"][accelerate["args"].index("--num_processes") + 1] == "2"
    assert accelerate["ACCELERATE_LOG_LEVEL"] == "info"
    assert not (records / "trl.json").exists()


def test_too_few_gpus_fails(tmp_path):
    plan = build_plan("openr1-grpo", gpu_count=2, settings=make_settings(tmp_path))
    workspace = tmp_path / "ws"
    write_plan(workspace, plan)
    make_env(workspace, plan)
    result = run_launch(workspace, standin_environ(tmp_path / "records", 1))
    assert result.returncode != 0
    assert "this run needs 2 GPU(s) but nvidia-smi lists 1" in result.stderr


def test_mismatched_env_not_used(tmp_path):
    """An environment built with other pins is never used: the launch stops with the fix."""
    plan = build_plan("openr1-grpo", gpu_count=1, settings=make_settings(tmp_path))
    workspace = tmp_path / "ws"
    write_plan(workspace, plan)
    env_dir = make_env(workspace, plan)
    (env_dir / ".podsmith-stack").write_text("transformers=4.40.0\n")
    result = run_launch(workspace, standin_environ(tmp_path / "records", 1))
    assert result.returncode != 0
    assert "no Open R1 environment with this run's pins" in result.stderr
    assert "run without --skip-setup" in result.stderr


def test_debug_trace_hides_secrets(tmp_path):
    """--debug-remote traces the launch with set -x, but never a line holding a secret value."""
    plan = build_plan(
        "openr1-grpo",
        gpu_count=1,
        report_to="wandb",
        debug_remote=True,
        settings=make_settings(tmp_path, WANDB_API_KEY=WANDB_KEY_VALUE),
    )
    workspace = tmp_path / "ws"
    write_plan(workspace, plan)
    make_env(workspace, plan)
    write_secret(workspace, "HF_TOKEN", HF_TOKEN_VALUE)
    write_secret(workspace, "WANDB_API_KEY", WANDB_KEY_VALUE)
    records = tmp_path / "records"
    result = run_launch(workspace, standin_environ(records, 1, STANDIN_EXPECTED_HF_TOKEN=HF_TOKEN_VALUE))
    output = result.stdout + result.stderr

    assert result.returncode == 0, output
    assert "+ accelerate launch" in output
    assert "+ load_secret HF_TOKEN" in output
    assert HF_TOKEN_VALUE not in output
    assert WANDB_KEY_VALUE not in output
    accelerate = json.loads((records / "accelerate.json").read_text())
    assert accelerate["HF_TOKEN_MATCHES"] is True
    assert accelerate["WANDB_API_KEY_SET"] is True


def test_setup_reuses_matching_env(tmp_path):
    """A rerun on the same Pod reuses the environment whose marker matches, and then checks the stack."""
    plan = build_plan("openr1-grpo", gpu_count=1, settings=make_settings(tmp_path))
    workspace = tmp_path / "ws"
    write_plan(workspace, plan)
    make_env(workspace, plan)
    result = subprocess.run(
        ["bash", str(workspace / "openr1" / "setup.sh")],
        cwd=workspace,
        env=standin_environ(tmp_path / "records", 1),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert f"reusing the Open R1 environment in {workspace / 'openr1-env'}" in result.stdout
    assert "building the Open R1 environment" not in result.stdout
    # The empty venv has none of the pinned packages, so the stack check fails and names them.
    assert result.returncode == 1
    assert "vllm is not installed (expected 0.8.5.post1)" in result.stderr
    assert "trl is not installed (expected 0.18.0)" in result.stderr


def test_setup_installs_extras():
    plan = build_plan("openr1-sft", gpu_count=1, attn_implementation="flash_attention_2")
    setup = file_text(plan, "openr1/setup.sh")
    check = file_text(plan, "openr1/check_stack.py")
    assert "uv pip install 'peft>=0.14' 'bitsandbytes>=0.45' --override" in setup
    assert "uv pip install flash-attn==2.7.4.post1 --no-build-isolation" in setup
    assert '"peft", "bitsandbytes", "flash_attn"' in check
    assert 'git -C "$target" checkout --quiet e93340ea28b9358f103e148d6d2cb8cc9e12a011' in setup
    assert "archive/e93340ea28b9358f103e148d6d2cb8cc9e12a011.tar.gz" in setup


def test_skip_setup_has_no_setup_script():
    plan = build_plan("openr1-grpo", gpu_count=1, skip_setup=True)
    assert plan.setup_script is None
    assert "openr1/setup.sh" not in [planned.path for planned in plan.files]
    assert 'python "$PODSMITH_DIR/check_stack.py"' in file_text(plan, "openr1/launch.sh")
