"""The training stack installed on the Pod: pinned versions, chosen by what the recipe uses.

Versions are the ones podsmith's tests train with on a CPU (trl 1.16.0, transformers 5.25.0, accelerate
1.16.0, datasets 5.2.0, peft 0.21.2, math-verify 0.9.0). wandb and tensorboard are the newest releases on PyPI
when they were pinned. vLLM is pinned to the newest release inside TRL
1.16's `vllm` extra (>=0.22.0,<=0.31.0) and brings its own torch.
"""

from __future__ import annotations

BASE_PINS = {
    "trl": "1.16.0",
    "transformers": "5.25.0",
    "accelerate": "1.16.0",
    "datasets": "5.2.0",
}
PEFT_PIN = "peft==0.21.2"
MATH_VERIFY_PIN = "math-verify==0.9.0"
BITSANDBYTES_PIN = "bitsandbytes==0.50.2"
DEEPSPEED_PIN = "deepspeed==0.19.8"
VLLM_PIN = "vllm==0.31.0"

# Packages that transformers' reporting callbacks import, by --report-to target, with the module setup imports to
# check each one. "all" makes transformers report to every integration that is installed, so it gets both.
REPORTING_PACKAGES = {
    "wandb": ("wandb==0.31.0", "wandb"),
    "tensorboard": ("tensorboard==2.21.0", "tensorboard"),
}

# The setup script reuses a torch the base interpreter imports when it is at least TORCH_MINIMUM. Otherwise it
# installs TORCH_PIN, from the CPU wheel index on a CPU machine.
TORCH_MINIMUM = "2.6"
TORCH_PIN = "torch==2.13.0"
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def requirements(
    *,
    peft: bool,
    quantized: bool,
    math_verify: bool,
    deepspeed: bool,
    vllm: bool,
    custom: list[str],
    reporting: list[str] | None = None,
) -> list[str]:
    """Return the pinned requirement lines for the Pod followed by `custom` (already validated as PEP 508).

    `reporting` contains the pins from `reporting_packages` for the --report-to integrations.

    flash-attn is not listed: the setup script builds it against the installed torch with
    --no-build-isolation.
    """
    lines = [f"{name}=={version}" for name, version in BASE_PINS.items()]
    if peft:
        lines.append(PEFT_PIN)
    if quantized:
        lines.append(BITSANDBYTES_PIN)
    if math_verify:
        lines.append(MATH_VERIFY_PIN)
    if deepspeed:
        lines.append(DEEPSPEED_PIN)
    if vllm:
        lines.append(VLLM_PIN)
    lines.extend(reporting or [])
    lines.extend(custom)
    return lines


def reporting_packages(report_to: str) -> list[tuple[str, str]]:
    """Return (requirement, import name) for each reporting integration that `report_to` names."""
    targets = {item.strip() for item in report_to.split(",") if item.strip()}
    if "all" in targets:
        targets.update(REPORTING_PACKAGES)
    return [package for target, package in REPORTING_PACKAGES.items() if target in targets]
