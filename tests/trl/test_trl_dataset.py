"""Local datasets in prepare_run: paths made absolute, missing paths rejected before any Pod."""

from __future__ import annotations

import json

import pytest
import yaml

from trl_support import grpo_spec, model_facts, sft_spec
from podsmith_core.errors import PlanError
from podsmith_trl.plugin import grpo, sft


def plan_for(spec, settings):
    plugin = grpo if spec.trainer == "trl-grpo" else sft
    return plugin.prepare_run(spec=spec, facts=model_facts(), settings=settings)


def file_of(plan, path):
    return next(item.content for item in plan.files if item.path == path)


def write_jsonl(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


GRPO_ROW = {"prompt": [{"role": "user", "content": "1 + 1?"}], "solution": "2"}
SFT_ROW = {"messages": [{"role": "user", "content": "1 + 1?"}, {"role": "assistant", "content": "2"}]}


@pytest.mark.parametrize("make_spec", [grpo_spec, sft_spec], ids=["grpo", "sft"])
def test_relative_dataset_made_absolute(make_spec, settings, tmp_path, monkeypatch):
    write_jsonl(tmp_path / "ds" / "train.jsonl", [GRPO_ROW | SFT_ROW])
    monkeypatch.chdir(tmp_path)
    plan = plan_for(make_spec(dataset_name="./ds"), settings)
    expected = str((tmp_path / "ds").resolve())
    assert yaml.safe_load(file_of(plan, "config/recipe.yaml"))["dataset_name"] == expected
    assert json.loads(file_of(plan, "config/job.json"))["dataset"]["name"] == expected
    assert plan.summary["dataset"] == expected


def test_prepared_dataset_reads_absolute(settings, tmp_path, monkeypatch):
    write_jsonl(tmp_path / "ds" / "train.jsonl", [GRPO_ROW])
    monkeypatch.chdir(tmp_path)
    plan = plan_for(grpo_spec(dataset_name="ds", system_prompt="Think first."), settings)
    assert yaml.safe_load(file_of(plan, "config/recipe.yaml"))["dataset_name"] == "prepared/dataset"
    assert json.loads(file_of(plan, "config/job.json"))["dataset"]["name"] == str((tmp_path / "ds").resolve())


def test_home_dataset_expanded(settings, tmp_path, monkeypatch):
    write_jsonl(tmp_path / "data" / "train.jsonl", [GRPO_ROW])
    monkeypatch.setenv("HOME", str(tmp_path))
    plan = plan_for(grpo_spec(dataset_name="~/data"), settings)
    assert yaml.safe_load(file_of(plan, "config/recipe.yaml"))["dataset_name"] == str((tmp_path / "data").resolve())


@pytest.mark.parametrize("name", ["./missing", "../missing", "/no/such/dir", "~/missing"])
def test_missing_dataset_path(name, settings, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(PlanError) as caught:
        plan_for(grpo_spec(dataset_name=name), settings)
    assert repr(name) in caught.value.message
    assert "not found" in caught.value.message
    assert "existing directory" in caught.value.fix
    assert "Hub dataset id" in caught.value.fix


def test_hub_dataset_unchanged(settings, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    plan = plan_for(grpo_spec(dataset_name="org/arithmetic"), settings)
    assert yaml.safe_load(file_of(plan, "config/recipe.yaml"))["dataset_name"] == "org/arithmetic"
