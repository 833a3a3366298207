"""`python3 dev.py demo`: fine-tune the tiny demo model on this machine, SFT then GRPO, with the `local` provider.

Each run is a real `podsmith run` process: checks, plan, a local "Pod" workspace, the trainer's setup and
launch scripts as detached jobs, the streamed `[setup]`/`[train]` log, and cleanup. Nothing is pushed and
no credentials or network are needed. Afterwards the saved models are loaded with transformers.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from podsmith_core.demo import ensure_demo_assets

COMMON_FLAGS = [
    "--provider", "local",
    "--no-push",
    "-y",
    "--max-steps", "3",
    "--per-device-train-batch-size", "2",
    "--gradient-accumulation-steps", "1",
    "--learning-rate", "5e-4",
    "--max-prompt-length", "48",
    "--max-completion-length", "16",
    "--method", "full",
]


def demo_commands(model: Path, sft_data: Path, grpo_data: Path) -> list[tuple[str, list[str]]]:
    return [
        ("trl-sft", ["--trainer", "trl-sft", "--repo-id", str(model), "--dataset-name", str(sft_data)]),
        (
            "trl-grpo",
            ["--trainer", "trl-grpo", "--repo-id", str(model), "--dataset-name", str(grpo_data),
             "--num-generations", "2"],
        ),
    ]


def latest_output_dir() -> str | None:
    from podsmith_core.state import StateStore

    runs = StateStore().runs(limit=1)
    return runs[0].output_dir if runs else None


def load_check(output_dir: str) -> str:
    """Load the saved model with transformers and return a one-line description."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(output_dir)
    parameters = sum(parameter.numel() for parameter in model.parameters())
    return f"{type(model).__name__} with {parameters:,} parameters"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cache-dir", type=Path, help="Where the demo model and data are built (cached).")
    parser.add_argument("--only", choices=["trl-sft", "trl-grpo"], help="Run one of the two demos.")
    args = parser.parse_args(argv)

    started = time.monotonic()
    assets = ensure_demo_assets(args.cache_dir)
    print(f"Demo model: {assets.model}", flush=True)
    summaries = []
    for name, flags in demo_commands(assets.model, assets.sft_dataset, assets.grpo_dataset):
        if args.only and name != args.only:
            continue
        command = [sys.executable, "-m", "podsmith_core.cli", "run", *COMMON_FLAGS, *flags]
        print(f"\n$ podsmith run {' '.join(COMMON_FLAGS + flags)}", flush=True)
        completed = subprocess.run(command)
        if completed.returncode != 0:
            print(f"The {name} demo failed with exit status {completed.returncode}.", file=sys.stderr)
            return completed.returncode
        output_dir = latest_output_dir()
        if output_dir is None:
            print(f"The {name} demo recorded no output directory.", file=sys.stderr)
            return 1
        summaries.append(f"{name}: {output_dir} ({load_check(output_dir)})")

    print(f"\nDemo finished in {time.monotonic() - started:.0f} s. Saved models:")
    for summary in summaries:
        print(f"  {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
