"""Lay out a Pod workspace on this machine: plan files, a matching Open R1 environment, stand-ins on PATH."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from podsmith_core.models import TrainerPlan

STANDINS = Path(__file__).parent / "standins"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_plan(workspace: Path, plan: TrainerPlan) -> None:
    for planned in plan.files:
        path = workspace / planned.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(planned.content)
        path.chmod(planned.mode)


def make_env(workspace: Path, plan: TrainerPlan, env_name: str = "openr1-env") -> Path:
    """Create an environment whose marker matches the plan: a real (empty) venv and Open R1's script paths."""
    env_dir = workspace / env_name
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir / "venv")], check=True)
    scripts = env_dir / "open-r1" / "src" / "open_r1"
    scripts.mkdir(parents=True)
    (scripts / "grpo.py").write_text("")
    (scripts / "sft.py").write_text("")
    marker = next(planned.content for planned in plan.files if planned.path == "openr1/stack.txt")
    (env_dir / ".podsmith-stack").write_text(marker)
    return env_dir


def standin_environ(record_dir: Path, gpu_count: int, **extra: str) -> dict[str, str]:
    record_dir.mkdir(parents=True, exist_ok=True)
    environ = {key: value for key, value in os.environ.items() if not key.startswith(("HF_", "WANDB_", "NCCL_"))}
    environ.update(
        {
            "PATH": f"{STANDINS}{os.pathsep}{environ.get('PATH', '')}",
            "STANDIN_RECORD_DIR": str(record_dir),
            "STANDIN_GPU_COUNT": str(gpu_count),
            "HF_HUB_OFFLINE": "1",
            **extra,
        }
    )
    return environ


def write_secret(workspace: Path, name: str, value: str) -> None:
    secrets = workspace / "secrets"
    secrets.mkdir(mode=0o700, exist_ok=True)
    path = secrets / name
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(value)
