"""Shared helpers for the Open R1 trainer tests: model facts, settings and a plan builder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from podsmith_core.models import ModelFacts, RunSpec, TrainerPlan
from podsmith_core.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[2]
TRL018_PYTHON = REPO_ROOT / ".venv-trl018" / "bin" / "python"
HF_TOKEN_VALUE = "hf_test_secret_value_123"
WANDB_KEY_VALUE = "wandb_test_secret_value_456"

CHATML = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + "
    "'\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
# A DeepSeek-R1-Distill style template: the generation prompt already opens <think>.
PREFILL_THINK = CHATML.replace("'<|im_start|>assistant\\n'", "'<|im_start|>assistant\\n<think>\\n'")

GEMMA_FACTS = ModelFacts(repo_id="unsloth/gemma-2b", has_chat_template=False, eos_token="<eos>")
QWEN_FACTS = ModelFacts(
    repo_id="Qwen/Qwen2.5-0.5B-Instruct", has_chat_template=True, chat_template=CHATML, eos_token="<|im_end|>"
)


def make_settings(tmp_path: Path, **environ: str) -> Settings:
    return Settings.load(environ={"HF_TOKEN": HF_TOKEN_VALUE, **environ}, project_dir=tmp_path)


def build_plan(
    trainer: str, facts: ModelFacts | None = GEMMA_FACTS, settings: Settings | None = None, **fields: object
) -> TrainerPlan:
    from podsmith_openr1.plugin import grpo, sft

    repo_id = fields.pop("repo_id", facts.repo_id if facts else "unsloth/gemma-2b")
    spec = RunSpec(repo_id=repo_id, trainer=trainer, **fields)
    plugin = grpo if trainer == "openr1-grpo" else sft
    if settings is None:
        settings = Settings.load(environ={"HF_TOKEN": HF_TOKEN_VALUE}, project_dir=REPO_ROOT / "tests" / "openr1")
    return plugin.prepare_run(spec=spec, facts=facts, settings=settings)


def file_text(plan: TrainerPlan, path: str) -> str:
    matches = [planned.content for planned in plan.files if planned.path == path]
    assert matches, f"{path} is not in the plan: {[planned.path for planned in plan.files]}"
    return matches[0]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


def require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed")
    return path
