"""Time `podsmith --help` and `podsmith plugins` against `python -c pass`, side by side in one run.

Usage: .venv/bin/python benchmarks/startup.py [--runs N]
Prints a Markdown table of min / median / max wall time per command and the overhead over bare Python.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "podsmith --help": [sys.executable, "-m", "podsmith_core.cli", "--help"],
    "podsmith plugins": [sys.executable, "-m", "podsmith_core.cli", "plugins"],
}
HEAVY_MODULES = ("runpod", "torch", "transformers", "huggingface_hub", "fabric", "paramiko", "httpx", "rich", "pydantic")


def time_once(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def heavy_modules_loaded(command: str) -> list[str]:
    probe = (
        "import sys, runpy; sys.argv = ['podsmith'] + %r\n"
        "try:\n    runpy.run_module('podsmith_core.cli', run_name='__main__')\nexcept SystemExit:\n    pass\n"
        "print('HEAVY=' + ','.join(sorted({m.split('.')[0] for m in sys.modules} & set(%r))))"
    ) % (command.split()[1:], HEAVY_MODULES)
    output = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True).stdout
    line = next((line for line in output.splitlines() if line.startswith("HEAVY=")), "HEAVY=")
    return [name for name in line[len("HEAVY="):].split(",") if name]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()

    samples: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(args.runs):
        # Interleaved, so drift in machine load affects every command alike.
        for name, argv in COMMANDS.items():
            samples[name].append(time_once(argv))

    baseline = statistics.median(samples["python -c pass"])
    print("| command | min s | median s | max s | median - python s | heavy modules imported |")
    print("|---|---|---|---|---|---|")
    for name, values in samples.items():
        heavy = "-" if name.startswith("python") else (", ".join(heavy_modules_loaded(name)) or "none")
        median = statistics.median(values)
        print(f"| {name} | {min(values):.3f} | {median:.3f} | {max(values):.3f} | {median - baseline:.3f} | {heavy} |")


if __name__ == "__main__":
    main()
