"""Recipes for a matrix of flag combinations: known keys only, stable snapshots, parsed by TRL 0.18 itself."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from openr1_support import GEMMA_FACTS, QWEN_FACTS, TRL018_PYTHON, build_plan, file_text, make_settings

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE = os.environ.get("PODSMITH_UPDATE_SNAPSHOTS") == "1"
SNAPSHOT_FILES = ("openr1/recipe.yaml", "openr1/accelerate.yaml", "openr1/launch.sh", "openr1/setup.sh")

CASES: dict[str, tuple[str, dict]] = {
    "grpo_quickstart": ("openr1-grpo", {"gpu_count": 1}),
    "grpo_answer_tags_2gpu": ("openr1-grpo", {"gpu_count": 2, "answer_tag": "<answer>", "answer_end_tag": "</answer>"}),
    "grpo_server_4gpu": (
        "openr1-grpo",
        {"gpu_count": 4, "vllm_mode": "server", "nccl_p2p_disable": True, "nccl_ib_disable": True},
    ),
    "grpo_server_tp2": (
        "openr1-grpo",
        {"gpu_count": 6, "vllm_mode": "server", "vllm_server_gpus": 2, "tensor_parallel_size": 2, "revision": "r1"},
    ),
    "grpo_no_vllm_lora": ("openr1-grpo", {"gpu_count": 2, "use_vllm": False, "method": "lora", "lora_r": 8}),
    "grpo_qlora_no_vllm": ("openr1-grpo", {"gpu_count": 1, "use_vllm": False, "method": "qlora"}),
    "grpo_custom_tags": ("openr1-grpo", {"gpu_count": 1, "reasoning_tag": "<reason>", "reasoning_end_tag": "</reason>"}),
    "grpo_wandb_weights": (
        "openr1-grpo",
        {
            "gpu_count": 2,
            "report_to": "wandb",
            "answer_tag": "<answer>",
            "answer_end_tag": "</answer>",
            "reward_funcs": ["accuracy", "format", "tag_count"],
            "reward_weights": [1.0, 0.5, 0.5],
            "debug_remote": True,
        },
    ),
    "grpo_all_options": (
        "openr1-grpo",
        {
            "gpu_count": 8,
            "dataset_name": "org/math-set",
            "dataset_config": "hard",
            "dataset_train_split": "train[:90%]",
            "dataset_prompt_column": "question",
            "dataset_fraction": 0.25,
            "dataset_seed": 7,
            "num_train_epochs": 2.0,
            "max_steps": 100,
            "per_device_train_batch_size": 2,
            "gradient_accumulation_steps": 8,
            "learning_rate": 3e-6,
            "max_prompt_length": 256,
            "max_completion_length": 2048,
            "num_generations": 8,
            "vllm_gpu_memory_utilization": 0.4,
            "hub_model_id": "me/gemma-r1",
            "output_dir": "runs/gemma",
            "trust_remote_code": True,
            "attn_implementation": "flash_attention_2",
            "public": True,
            "skip_setup": True,
        },
    ),
    "sft_quickstart": ("openr1-sft", {"gpu_count": 1}),
    "sft_qlora_stage3": ("openr1-sft", {"gpu_count": 2, "deepspeed_stage": 3}),
    "sft_shard_model": ("openr1-sft", {"gpu_count": 4, "shard_model": True, "max_steps": 10}),
    "sft_merge_lora": ("openr1-sft", {"gpu_count": 1, "method": "lora", "merge_model": True, "hub_model_id": "me/g"}),
    "sft_extras": (
        "openr1-sft",
        {
            "gpu_count": 1,
            "attn_implementation": "flash_attention_2",
            "custom_dependencies": ["liger-kernel>=0.5"],
            "transformers_version": "4.52.4",
            "dataset_name": "org/chat",
        },
    ),
}
# Cases whose model has its own chat template.
QWEN_CASES = {"grpo_answer_tags_2gpu", "sft_shard_model"}


def case_plan(name: str, tmp_path: Path):
    trainer, fields = CASES[name]
    facts = QWEN_FACTS if name in QWEN_CASES else GEMMA_FACTS
    settings = make_settings(tmp_path, WANDB_API_KEY="wandb-key")
    return build_plan(trainer, facts=facts, settings=settings, **dict(fields))


def snapshot_text(plan) -> str:
    parts = ["## notices", *plan.notices, "## summary", json.dumps(plan.summary, indent=1, sort_keys=True)]
    for path in SNAPSHOT_FILES:
        if any(planned.path == path for planned in plan.files):
            parts += [f"## {path}", file_text(plan, path)]
    return "\n".join(parts) + "\n"


@pytest.mark.parametrize("name", sorted(CASES))
def test_recipe_keys_known(name, tmp_path):
    from podsmith_openr1.keys import unknown_keys

    plan = case_plan(name, tmp_path)
    kind = "grpo" if CASES[name][0] == "openr1-grpo" else "sft"
    recipe = yaml.safe_load(file_text(plan, "openr1/recipe.yaml"))
    assert unknown_keys(recipe, kind) == []


@pytest.mark.parametrize("name", sorted(CASES))
def test_recipe_snapshot(name, tmp_path):
    text = snapshot_text(case_plan(name, tmp_path))
    path = SNAPSHOTS / f"{name}.txt"
    if UPDATE or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        if not UPDATE:
            pytest.fail(f"Snapshot {path.name} was missing and has been written; rerun to compare.")
    assert text == path.read_text(), f"{path.name} changed; rerun with PODSMITH_UPDATE_SNAPSHOTS=1 if intended."


def test_recipes_parse_with_trl018(tmp_path):
    """TRL 0.18's TrlParser consumes every key, and the values arrive as planned."""
    if not TRL018_PYTHON.exists():
        pytest.skip(
            "no TRL 0.18 venv at .venv-trl018 (create it: python3.11 -m venv .venv-trl018 && .venv-trl018/bin/pip "
            "install trl==0.18.0 transformers==4.52.3 torch accelerate)"
        )
    jobs, plans = [], {}
    for name in sorted(CASES):
        plan = case_plan(name, tmp_path)
        plans[name] = plan
        path = tmp_path / f"{name}.yaml"
        path.write_text(file_text(plan, "openr1/recipe.yaml"))
        kind = "grpo" if CASES[name][0] == "openr1-grpo" else "sft"
        jobs.append({"kind": kind, "path": str(path), "world_size": plan.summary["num_processes"]})
    jobs_file = tmp_path / "jobs.json"
    jobs_file.write_text(json.dumps(jobs))

    completed = subprocess.run(
        [str(TRL018_PYTHON), str(Path(__file__).parent / "trl018_parse.py"), str(jobs_file)],
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "HF_ENDPOINT": "http://127.0.0.1:9"},
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    results = dict(zip(sorted(CASES), json.loads(completed.stdout.splitlines()[-1])))

    for name, parsed in results.items():
        recipe = yaml.safe_load(file_text(plans[name], "openr1/recipe.yaml"))
        assert parsed["trl_version"] == "0.18.0"
        assert parsed["remaining"] == [], name
        assert parsed["hub_model_id"] == recipe["hub_model_id"], name
        assert parsed["dataset_mixture"] == recipe["dataset_mixture"], name
        assert parsed["chat_template"] == recipe.get("chat_template"), name
        if "num_generations" in recipe:
            assert parsed["num_generations"] == recipe["num_generations"], name
            assert parsed["reward_funcs"] == recipe["reward_funcs"], name
            assert parsed["vllm_mode"] == recipe.get("vllm_mode", parsed["vllm_mode"]), name
        else:
            assert parsed["max_length"] == recipe["max_length"], name

    assert results["sft_quickstart"]["load_in_4bit"] is True
    assert results["sft_quickstart"]["max_length"] == 512 + 1024
    assert results["grpo_server_4gpu"]["vllm_mode"] == "server"
    assert results["grpo_all_options"]["generation_batch_size"] == 2 * 8 * 8
