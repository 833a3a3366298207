#!/usr/bin/env python3
"""Developer bootstrap using only the standard library; works on Linux, macOS and Windows.

    python3 dev.py setup   create .venv and install podsmith, every plugin, the test tools and the CPU
                           training stack used by the demo and the end-to-end tests
    python3 dev.py test    run the whole test suite (extra arguments go to pytest)
    python3 dev.py demo    fine-tune a tiny model on this machine with the `local` provider
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PLUGINS = ("trl_trainer", "openr1_trainer", "runpod_provider", "notifiers")
EXAMPLES = ("podsmith-file-notifier",)
# The training stack the local "Pod" and the tests train with. torch 2.13.0 is a CPU build where the
# machine provides one; the setup script of the trl trainers reuses it instead of downloading CUDA wheels.
TRAINING_STACK = (
    "torch==2.13.0",
    "transformers==5.25.0",
    "trl==1.16.0",
    "datasets==5.2.0",
    "accelerate==1.16.0",
    "peft==0.21.2",
    "math-verify==0.9.0",
)


# Open R1's pins (trl 0.18.0 and transformers 4.52.3) with the local CPU torch build.
TRL018_VENV = ROOT / ".venv-trl018"
TRL018_STACK = ("trl==0.18.0", "transformers==4.52.3", "torch==2.13.0", "accelerate")


def venv_python() -> Path:
    scripts = "Scripts" if os.name == "nt" else "bin"
    return VENV / scripts / ("python.exe" if os.name == "nt" else "python")


def venv_script(name: str) -> Path:
    scripts = "Scripts" if os.name == "nt" else "bin"
    return VENV / scripts / (f"{name}.exe" if os.name == "nt" else name)


def run(*argv: str | Path, env: dict[str, str] | None = None) -> None:
    print("+", " ".join(str(arg) for arg in argv), flush=True)
    completed = subprocess.run([str(arg) for arg in argv], cwd=ROOT, env=env)
    if completed.returncode != 0:
        sys.exit(completed.returncode)


def setup() -> None:
    if not venv_python().exists():
        venv.EnvBuilder(with_pip=True).create(VENV)
    editable = ["-e", ".[test]"]
    for plugin in PLUGINS:
        if (ROOT / "plugins" / plugin / "pyproject.toml").exists():
            editable += ["-e", f"plugins/{plugin}"]
    for example in EXAMPLES:
        if (ROOT / "examples" / example / "pyproject.toml").exists():
            editable += ["-e", f"examples/{example}"]
    run(venv_python(), "-m", "pip", "install", "--disable-pip-version-check", *editable, *TRAINING_STACK)
    setup_trl018()
    print("Setup done. Next: python3 dev.py test, or python3 dev.py demo")


def setup_trl018() -> None:
    """Create .venv-trl018 with the stack Open R1 pins, so tests parse generated recipes with TRL 0.18 itself."""
    scripts = "Scripts" if os.name == "nt" else "bin"
    python = TRL018_VENV / scripts / ("python.exe" if os.name == "nt" else "python")
    if not python.exists():
        venv.EnvBuilder(with_pip=True).create(TRL018_VENV)
    run(python, "-m", "pip", "install", "--disable-pip-version-check", "-q", *TRL018_STACK)


def test(arguments: list[str]) -> None:
    if not venv_python().exists():
        sys.exit("No .venv yet: run `python3 dev.py setup` first.")
    paths = ["tests"] + [f"examples/{e}/tests" for e in EXAMPLES if (ROOT / "examples" / e / "tests").is_dir()]
    run(venv_python(), "-m", "pytest", *(arguments or paths))


def demo(arguments: list[str]) -> None:
    if not venv_python().exists():
        sys.exit("No .venv yet: run `python3 dev.py setup` first.")
    run(venv_python(), "-m", "podsmith_core.demo_run", *arguments)


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in ("setup", "test", "demo"):
        sys.exit(__doc__)
    command, arguments = sys.argv[1], sys.argv[2:]
    if command == "setup":
        setup()
    elif command == "test":
        test(arguments)
    else:
        demo(arguments)


if __name__ == "__main__":
    main()
