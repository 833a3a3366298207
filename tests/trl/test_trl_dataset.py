"""Local datasets in prepare_run: paths made absolute, missing paths rejected before any Pod."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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
def test_missing_dataset_path_made_absolute(name, settings, tmp_path, monkeypatch):
    # The Hugging Face plugin reports a missing path; on an ssh host the directory may exist only there.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    plan = plan_for(grpo_spec(dataset_name=name), settings)
    dataset = yaml.safe_load(file_of(plan, "config/recipe.yaml"))["dataset_name"]
    assert dataset == str(Path(name).expanduser().absolute())
    assert dataset.startswith("/")


def test_hub_dataset_unchanged(settings, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    plan = plan_for(grpo_spec(dataset_name="org/arithmetic"), settings)
    assert yaml.safe_load(file_of(plan, "config/recipe.yaml"))["dataset_name"] == "org/arithmetic"


def plan_error(spec, settings):
    with pytest.raises(PlanError) as caught:
        plan_for(spec, settings)
    return caught.value


def test_grpo_missing_solution(settings, tmp_path):
    data_file = tmp_path / "ds" / "train.jsonl"
    write_jsonl(data_file, [{"prompt": "1 + 1?", "answer": "2"}])
    error = plan_error(grpo_spec(dataset_name=str(tmp_path / "ds")), settings)
    assert "'solution'" in error.message
    assert str(data_file) in error.message
    assert "prompt, answer" in error.message
    assert "accuracy_reward" in error.message
    assert "--reward-funcs" in error.fix


def test_grpo_rewards_without_solution(settings, tmp_path):
    write_jsonl(tmp_path / "ds" / "train.jsonl", [{"prompt": "1 + 1?"}])
    spec = grpo_spec(dataset_name=str(tmp_path / "ds"), reward_funcs=["format", "tag_count"])
    plan = plan_for(spec, settings)
    assert plan.summary["reward_funcs"] == ["format_reward", "tag_count_reward"]


def test_grpo_missing_prompt_column(settings, tmp_path):
    data_file = tmp_path / "ds" / "train.jsonl"
    write_jsonl(data_file, [{"problem": "1 + 1?", "solution": "2"}])
    error = plan_error(grpo_spec(dataset_name=str(tmp_path / "ds"), dataset_prompt_column="question"), settings)
    assert "'question'" in error.message
    assert str(data_file) in error.message
    assert "problem, solution" in error.message
    assert "--dataset-prompt-column" in error.fix


def test_grpo_default_prompt_missing(settings, tmp_path):
    write_jsonl(tmp_path / "ds" / "train.jsonl", [{"problem": "1 + 1?", "solution": "2"}])
    error = plan_error(grpo_spec(dataset_name=str(tmp_path / "ds")), settings)
    assert "'prompt'" in error.message


def test_grpo_custom_prompt_column(settings, tmp_path):
    write_jsonl(tmp_path / "ds" / "train.jsonl", [{"problem": "1 + 1?", "solution": "2"}])
    plan = plan_for(grpo_spec(dataset_name=str(tmp_path / "ds"), dataset_prompt_column="problem"), settings)
    assert "prepare-dataset" in plan.launch_script


def test_json_list_file_checked(settings, tmp_path):
    data_file = tmp_path / "ds" / "train.json"
    data_file.parent.mkdir()
    data_file.write_text(json.dumps([{"prompt": "1 + 1?"}, {"prompt": "2 + 2?"}], indent=2))
    error = plan_error(grpo_spec(dataset_name=str(tmp_path / "ds")), settings)
    assert "'solution'" in error.message
    assert str(data_file) in error.message


def test_parquet_schema_checked(settings, tmp_path):
    pyarrow = pytest.importorskip("pyarrow")
    import pyarrow.parquet

    data_file = tmp_path / "ds" / "data" / "train-00000-of-00001.parquet"
    data_file.parent.mkdir(parents=True)
    pyarrow.parquet.write_table(pyarrow.table({"prompt": ["1 + 1?"]}), data_file)
    error = plan_error(grpo_spec(dataset_name=str(tmp_path / "ds")), settings)
    assert "'solution'" in error.message
    assert str(data_file) in error.message


def test_split_file_chosen(settings, tmp_path):
    write_jsonl(tmp_path / "ds" / "test.jsonl", [{"prompt": "1 + 1?"}])
    write_jsonl(tmp_path / "ds" / "train.jsonl", [GRPO_ROW])
    (tmp_path / "ds" / "dataset_info.json").write_text(json.dumps({"description": ""}))
    plan_for(grpo_spec(dataset_name=str(tmp_path / "ds")), settings)

    error = plan_error(grpo_spec(dataset_name=str(tmp_path / "ds"), dataset_train_split="test"), settings)
    assert str(tmp_path / "ds" / "test.jsonl") in error.message


def test_single_file_dataset(settings, tmp_path, monkeypatch):
    write_jsonl(tmp_path / "rows.jsonl", [{"prompt": "1 + 1?"}])
    monkeypatch.chdir(tmp_path)
    error = plan_error(grpo_spec(dataset_name="./rows.jsonl"), settings)
    assert str(tmp_path / "rows.jsonl") in error.message


def test_unreadable_file_skipped(settings, tmp_path):
    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "train.jsonl").write_text("{not json\n")
    plan = plan_for(grpo_spec(dataset_name=str(tmp_path / "ds")), settings)
    assert plan.summary["dataset"] == str(tmp_path / "ds")


@pytest.mark.parametrize(
    "row",
    [SFT_ROW, {"text": "1 + 1 = 2"}, {"prompt": "1 + 1?", "completion": "2"}],
    ids=["messages", "text", "prompt-completion"],
)
def test_sft_columns_accepted(row, settings, tmp_path):
    write_jsonl(tmp_path / "ds" / "train.jsonl", [row])
    plan = plan_for(sft_spec(dataset_name=str(tmp_path / "ds")), settings)
    assert plan.summary["dataset"] == str(tmp_path / "ds")


@pytest.mark.parametrize("row", [{"question": "1 + 1?", "answer": "2"}, {"prompt": "1 + 1?"}], ids=["qa", "prompt-only"])
def test_sft_columns_missing(row, settings, tmp_path):
    data_file = tmp_path / "ds" / "train.jsonl"
    write_jsonl(data_file, [row])
    error = plan_error(sft_spec(dataset_name=str(tmp_path / "ds")), settings)
    assert str(data_file) in error.message
    assert ", ".join(row) in error.message
    assert "'messages'" in error.fix
    assert "'text'" in error.fix


IMPORT_PROBE = """
import sys
from pathlib import Path
from trl_support import grpo_spec, model_facts
from podsmith_core.settings import Settings
from podsmith_trl.plugin import grpo
settings = Settings.load(environ={"HF_TOKEN": "x", "HF_ENDPOINT": "http://127.0.0.1:9"}, project_dir=Path(sys.argv[1]))
grpo.prepare_run(spec=grpo_spec(dataset_name=sys.argv[1]), facts=model_facts(), settings=settings)
print(",".join(name for name in ("datasets", "transformers", "torch") if name in sys.modules))
"""


def test_column_check_stays_light(tmp_path):
    write_jsonl(tmp_path / "ds" / "train.jsonl", [GRPO_ROW])
    probe = subprocess.run(
        [sys.executable, "-c", IMPORT_PROBE, str(tmp_path / "ds")],
        capture_output=True, text=True, cwd=Path(__file__).parent, env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
        timeout=60,
    )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip() == ""
