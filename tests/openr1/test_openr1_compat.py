"""The compatibility rules: each rejected combination names the flag and the change that works."""

from __future__ import annotations

import pytest
import yaml

from podsmith_core.errors import PlanError

from openr1_support import build_plan, file_text


@pytest.mark.parametrize(
    ("trainer", "fields", "message", "fix"),
    [
        ("openr1-grpo", {"method": "qlora"}, "QLoRA (4-bit) cannot be used with vLLM", "--no-vllm"),
        ("openr1-sft", {"method": "qlora", "shard_model": True}, "--shard-model with --method qlora", "--method full"),
        ("openr1-sft", {"shard_model": True, "deepspeed_stage": 2}, "--shard-model needs ZeRO-3", "--deepspeed-stage 3"),
        ("openr1-grpo", {"gpu_count": 3, "tensor_parallel_size": 2}, "--tensor-parallel-size 2 does not divide", "divides 3"),
        (
            "openr1-grpo",
            {"gpu_count": 4, "vllm_mode": "server", "vllm_server_gpus": 3, "tensor_parallel_size": 2},
            "does not divide --vllm-server-gpus 3",
            "divides 3",
        ),
        ("openr1-grpo", {"gpu_count": 2, "vllm_mode": "server", "vllm_server_gpus": 2}, "leaves no GPU", "between 1 and 1"),
        ("openr1-grpo", {"reward_weights": [1.0, 2.0]}, "--reward-weights has 2 values", "Pass 1 weights"),
        ("openr1-grpo", {"reward_funcs": ["accuracy", "bogus"]}, "--reward-funcs bogus", "tag_count"),
        ("openr1-grpo", {"reward_funcs": ["format"]}, "needs answer tags", "--answer-tag '<answer>'"),
        (
            "openr1-grpo",
            {"reasoning_tag": "<r>", "reasoning_end_tag": "</r>", "reward_funcs": ["accuracy", "tag_count"]},
            "--reward-funcs tag_count",
            "use the default tags",
        ),
        ("openr1-grpo", {"answer_tag": "<answer>"}, "Answer tags must be given as a pair", "--answer-end-tag"),
        ("openr1-sft", {"method": "full", "merge_model": True}, "--merge-model has nothing to merge", "--method lora"),
        ("openr1-grpo", {"vllm_gpu_memory_utilization": 1.5}, "outside (0, 1]", "0.3"),
        ("openr1-grpo", {"transformers_version": "latest"}, "--transformers-version 'latest'", "4.52.3"),
        ("openr1-grpo", {"options": {"openr1_commit": "main"}}, "openr1_commit='main'", "40-character"),
    ],
)
def test_rejected_combination(trainer, fields, message, fix):
    fields = {"gpu_count": 1, **fields}
    with pytest.raises(PlanError) as caught:
        build_plan(trainer, **fields)
    assert message in caught.value.message
    assert fix in caught.value.fix


def test_qlora_grpo_without_vllm_allowed():
    plan = build_plan("openr1-grpo", gpu_count=1, method="qlora", use_vllm=False)
    recipe = yaml.safe_load(file_text(plan, "openr1/recipe.yaml"))
    assert recipe["use_vllm"] is False
    assert "vllm_mode" not in recipe
    assert plan.summary["zero_stage"] == 2


def test_shard_model_full_zero3():
    plan = build_plan("openr1-sft", gpu_count=4, shard_model=True)
    accelerate = yaml.safe_load(file_text(plan, "openr1/accelerate.yaml"))
    recipe = yaml.safe_load(file_text(plan, "openr1/recipe.yaml"))
    assert plan.summary["method"] == "full"
    assert accelerate["deepspeed_config"]["zero_stage"] == 3
    assert accelerate["deepspeed_config"]["zero3_init_flag"] is True
    assert accelerate["num_processes"] == 4
    assert "use_peft" not in recipe
    assert "load_in_4bit" not in recipe


def test_ddp_without_deepspeed():
    plan = build_plan("openr1-grpo", gpu_count=2, deepspeed_stage=0)
    accelerate = yaml.safe_load(file_text(plan, "openr1/accelerate.yaml"))
    assert accelerate["distributed_type"] == "MULTI_GPU"
    assert "deepspeed_config" not in accelerate


def test_custom_tags_accuracy_only():
    plan = build_plan("openr1-grpo", gpu_count=1, reasoning_tag="<reason>", reasoning_end_tag="</reason>")
    recipe = yaml.safe_load(file_text(plan, "openr1/recipe.yaml"))
    assert recipe["reward_funcs"] == ["accuracy"]
    assert "<reason>" in recipe["system_prompt"]
    assert any("only the accuracy reward" in notice for notice in plan.notices)


def test_default_answer_tags_format_rewards():
    plan = build_plan("openr1-grpo", gpu_count=1, answer_tag="<answer>", answer_end_tag="</answer>")
    recipe = yaml.safe_load(file_text(plan, "openr1/recipe.yaml"))
    assert recipe["reward_funcs"] == ["accuracy", "format", "tag_count"]
    assert "<think>\n...\n</think>\n<answer>\n...\n</answer>" in recipe["system_prompt"]


def test_sft_ignores_grpo_options():
    plan = build_plan("openr1-sft", gpu_count=1, num_generations=8, vllm_mode="server")
    assert any("GRPO-only options are ignored for SFT: --num-generations, --vllm-mode" in n for n in plan.notices)


def test_unknown_key_rejected():
    from podsmith_openr1.keys import check_recipe_keys

    with pytest.raises(PlanError) as caught:
        check_recipe_keys({"max_seq_lenght": 10, "dataset_mixture": {"datasets": [{"id": "x", "wieght": 1}]}}, "sft")
    assert "max_seq_lenght" in caught.value.message
    assert "dataset_mixture.datasets[0].wieght" in caught.value.message


def test_grpo_only_keys_rejected_in_sft():
    from podsmith_openr1.keys import unknown_keys

    assert unknown_keys({"num_generations": 4, "reward_funcs": ["accuracy"], "wandb_project": "p"}, "sft") == [
        "num_generations",
        "reward_funcs",
        "wandb_project",
    ]
    assert unknown_keys({"num_generations": 4, "max_length": 10}, "grpo") == ["max_length"]


def test_gpu_count_unset_notice():
    plan = build_plan("openr1-sft")
    assert plan.summary["gpu_count"] == 1
    assert "Planned for 1 GPU(s) until the GPU selection sets --gpu-count." in plan.notices


def test_sft_no_notice_for_default_options():
    from podsmith_core.models import RunSpec

    # The CLI sets every field, defaults included; only values that differ deserve the notice.
    every_field = {
        name: field.get_default(call_default_factory=True)
        for name, field in RunSpec.model_fields.items()
        if name not in ("repo_id", "trainer")
    }
    every_field["gpu_count"] = 1
    plan = build_plan("openr1-sft", **every_field)
    assert not any("GRPO-only options" in notice for notice in plan.notices)


def test_relative_dataset_made_absolute(tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    monkeypatch.chdir(tmp_path)
    plan = build_plan("openr1-grpo", gpu_count=1, dataset_name="./data")
    recipe = yaml.safe_load(file_text(plan, "openr1/recipe.yaml"))
    assert recipe["dataset_mixture"]["datasets"][0]["id"] == str((tmp_path / "data").resolve())


def test_cpu_run_rejected():
    with pytest.raises(PlanError) as caught:
        build_plan("openr1-grpo", gpu_count=0)
    assert "trains on GPUs only" in caught.value.message
    assert "--trainer trl-grpo" in caught.value.fix


def test_local_dataset_without_solution(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "train.jsonl").write_text('{"prompt": "What is 2+2?", "answer": "4"}\n')
    with pytest.raises(PlanError) as caught:
        build_plan("openr1-grpo", gpu_count=1, dataset_name=str(data))
    assert "solution" in caught.value.message
    assert "train.jsonl" in caught.value.message
    good = tmp_path / "good"
    good.mkdir()
    (good / "train.jsonl").write_text('{"prompt": "What is 2+2?", "solution": "4"}\n')
    plan = build_plan("openr1-grpo", gpu_count=1, dataset_name=str(good))
    assert plan.summary["dataset"] == str(good.resolve())
