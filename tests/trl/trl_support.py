"""Fixtures for the TRL trainer tests: settings without ambient secrets, specs, model facts, demo assets."""

from __future__ import annotations

from pathlib import Path

import pytest

from podsmith_core.models import ModelFacts, RunSpec
from podsmith_core.settings import Settings

HF_TOKEN_VALUE = "hf_trlTestSecretToken0123456789"
WANDB_KEY_VALUE = "wandb_trlTestSecretKey0123456789"


@pytest.fixture
def make_settings(tmp_path: Path):
    def make(**environ: str) -> Settings:
        return Settings.load(environ=environ, project_dir=tmp_path)

    return make


@pytest.fixture
def settings(make_settings) -> Settings:
    return make_settings(HF_TOKEN=HF_TOKEN_VALUE, HF_ENDPOINT="http://127.0.0.1:9")


def grpo_spec(**overrides) -> RunSpec:
    values = dict(
        repo_id="org/tiny-model",
        trainer="trl-grpo",
        provider="runpod",
        gpu_count=1,
        dataset_name="org/arithmetic",
        hub_model_id="someone/tiny-grpo",
    )
    values.update(overrides)
    return RunSpec(**values)


def sft_spec(**overrides) -> RunSpec:
    return grpo_spec(trainer="trl-sft", hub_model_id="someone/tiny-sft", **overrides)


def model_facts(**overrides) -> ModelFacts:
    # A non-empty config marks facts the Hub plugin could read; the chat template decision relies on that.
    values = dict(
        repo_id="org/tiny-model",
        config={"model_type": "qwen2", "num_hidden_layers": 2},
        has_chat_template=True,
        chat_template="{{ x }}",
        eos_token="</s>",
    )
    values.update(overrides)
    return ModelFacts(**values)


@pytest.fixture(scope="session")
def demo_assets(tmp_path_factory):
    from podsmith_core.demo import ensure_demo_assets

    return ensure_demo_assets(tmp_path_factory.mktemp("demo"))
