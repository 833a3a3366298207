"""--report-to integrations: the setup installs and import-checks wandb and tensorboard only when a run reports there."""

from __future__ import annotations

import re

import pytest

from trl_support import HF_TOKEN_VALUE, WANDB_KEY_VALUE, grpo_spec, model_facts, sft_spec
from podsmith_trl import stack
from podsmith_trl.plugin import grpo, sft

WANDB_PIN = stack.REPORTING_PACKAGES["wandb"][0]
TENSORBOARD_PIN = stack.REPORTING_PACKAGES["tensorboard"][0]


@pytest.fixture
def reporting_settings(make_settings):
    return make_settings(HF_TOKEN=HF_TOKEN_VALUE, WANDB_API_KEY=WANDB_KEY_VALUE)


def plan_for(spec, settings):
    plugin = grpo if spec.trainer == "trl-grpo" else sft
    return plugin.prepare_run(spec=spec, facts=model_facts(), settings=settings)


def requirement_lines(plan) -> list[str]:
    [content] = [item.content for item in plan.files if item.path == "config/requirements.txt"]
    return content.splitlines()


def verified_imports(plan) -> list[str]:
    """Return the modules the setup script imports to check the installed stack."""
    match = re.search(r"-c 'import (trl,[^;]+);", plan.setup_script)
    assert match, plan.setup_script
    return [name.strip() for name in match.group(1).split(",")]


CASES = [
    ("none", [], []),
    ("wandb", [WANDB_PIN], ["wandb"]),
    ("tensorboard", [TENSORBOARD_PIN], ["tensorboard"]),
    ("wandb, tensorboard", [WANDB_PIN, TENSORBOARD_PIN], ["wandb", "tensorboard"]),
    ("all", [WANDB_PIN, TENSORBOARD_PIN], ["wandb", "tensorboard"]),
]


@pytest.mark.parametrize("make_spec", [grpo_spec, sft_spec], ids=["grpo", "sft"])
@pytest.mark.parametrize("report_to, pins, modules", CASES, ids=[case[0] for case in CASES])
def test_reporting_packages_installed(make_spec, report_to, pins, modules, reporting_settings):
    plan = plan_for(make_spec(gpu_count=0, report_to=report_to), reporting_settings)
    lines = requirement_lines(plan)
    imports = verified_imports(plan)

    for pin in (WANDB_PIN, TENSORBOARD_PIN):
        assert (pin in lines) == (pin in pins), lines
        assert (pin in plan.summary["requirements"]) == (pin in pins)
    for module in ("wandb", "tensorboard"):
        assert (module in imports) == (module in modules), imports
    assert imports[:4] == ["trl", "transformers", "accelerate", "datasets"]


def test_reporting_pins_exact():
    for pin, module in stack.REPORTING_PACKAGES.values():
        assert re.fullmatch(rf"{module}==\d+\.\d+\.\d+", pin)


def test_reporting_packages_unknown_target():
    assert stack.reporting_packages("mlflow") == []
    assert stack.reporting_packages(" wandb ,mlflow") == [stack.REPORTING_PACKAGES["wandb"]]
