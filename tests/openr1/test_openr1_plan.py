"""The plan for the original tool's quick start, and config mistakes that failed runs in the field."""

from __future__ import annotations

import yaml

import pytest

from podsmith_core.errors import PlanError

from openr1_support import GEMMA_FACTS, PREFILL_THINK, QWEN_FACTS, build_plan, file_text, make_settings


def recipe_of(plan) -> dict:
    return yaml.safe_load(file_text(plan, "openr1/recipe.yaml"))


def test_quickstart_plan_gemma():
    plan = build_plan("openr1-grpo", gpu_count=1)
    notices = "\n".join(plan.notices)

    assert "unsloth/gemma-2b has no chat template" in notices
    assert "'<eos>'" in notices
    assert "num_generations adjusted from 16 to 4" in notices
    assert plan.summary["reward_funcs"] == ["accuracy"]
    assert plan.summary["num_generations"] == 4
    assert plan.summary["zero_stage"] == 3
    assert plan.summary["chat_template"] == "fallback"
    assert plan.summary["files"] == [
        "openr1/recipe.yaml",
        "openr1/accelerate.yaml",
        "openr1/stack.txt",
        "openr1/overrides.txt",
        "openr1/check_stack.py",
        "openr1/setup.sh",
        "openr1/launch.sh",
        "openr1/manifest.json",
    ]
    assert plan.setup_script == "openr1/setup.sh"
    assert plan.launch_script == "openr1/launch.sh"
    assert plan.secrets == ["HF_TOKEN"]


def test_fallback_template_ends_with_eos():
    from podsmith_openr1.chat import fallback_source, render_sample, sample_messages

    recipe = recipe_of(build_plan("openr1-grpo", gpu_count=1))
    assert recipe["chat_template"] == fallback_source()
    rendered = render_sample(recipe["chat_template"], sample_messages("sys", "<think>\nx\n</think>\n5"), "<eos>", False)
    assert rendered.endswith("5<eos>\n\n")
    prompt = render_sample(recipe["chat_template"], sample_messages("sys", "")[:-1], "<eos>", True)
    assert prompt.endswith("Assistant:")


def test_model_template_kept():
    plan = build_plan("openr1-grpo", facts=QWEN_FACTS, gpu_count=1)
    assert "chat_template" not in recipe_of(plan)
    assert plan.summary["chat_template"] == "model"


def test_chat_template_file_used(tmp_path):
    template = tmp_path / "tmpl.jinja"
    template.write_text(QWEN_FACTS.chat_template or "")
    plan = build_plan("openr1-grpo", facts=QWEN_FACTS, gpu_count=1, chat_template=str(template))
    assert recipe_of(plan)["chat_template"] == QWEN_FACTS.chat_template
    assert plan.summary["chat_template"] == "file"


def test_chat_template_typo_rejected(tmp_path):
    """a mistyped path is an error, never the template text itself."""
    missing = tmp_path / "tmpl.jnja"
    with pytest.raises(PlanError) as caught:
        build_plan("openr1-grpo", gpu_count=1, chat_template=str(missing))
    assert str(missing) in caught.value.message
    assert "not found" in caught.value.message


def test_chat_template_without_eos_warned(tmp_path):
    template = tmp_path / "no_eos.jinja"
    template.write_text("{% for m in messages %}{{ m['content'] }}\n{% endfor %}")
    plan = build_plan("openr1-grpo", gpu_count=1, chat_template=str(template))
    assert any("does not put the EOS token '<eos>'" in notice for notice in plan.notices)


def test_chat_template_broken_rejected(tmp_path):
    template = tmp_path / "broken.jinja"
    template.write_text("{% for m in messages %}{{ m['content'] }")
    with pytest.raises(PlanError) as caught:
        build_plan("openr1-grpo", gpu_count=1, chat_template=str(template))
    assert "fails to render a sample conversation" in caught.value.message


def test_prefilled_think_warned():
    facts = QWEN_FACTS.model_copy(update={"chat_template": PREFILL_THINK})
    plan = build_plan(
        "openr1-grpo", facts=facts, gpu_count=1, answer_tag="<answer>", answer_end_tag="</answer>"
    )
    assert any("format rewards score 0" in notice for notice in plan.notices)


def test_grpo_g_one_rejected():
    """batch 1 × accumulation 1 × 1 GPU leaves no valid num_generations."""
    with pytest.raises(PlanError) as caught:
        build_plan("openr1-grpo", gpu_count=1, per_device_train_batch_size=1, gradient_accumulation_steps=1)
    assert "generation batch of 1" in caught.value.message
    assert "--gradient-accumulation-steps 2" in caught.value.fix


def test_grpo_g_adjusted_with_notice():
    """G unset is adjusted to 4 with a notice; an explicit G is never changed."""
    plan = build_plan("openr1-grpo", gpu_count=1, per_device_train_batch_size=1, gradient_accumulation_steps=4)
    assert recipe_of(plan)["num_generations"] == 4
    assert any("adjusted from 16 to 4" in notice for notice in plan.notices)

    with pytest.raises(PlanError) as caught:
        build_plan(
            "openr1-grpo", gpu_count=1, per_device_train_batch_size=1, gradient_accumulation_steps=4, num_generations=16
        )
    assert "--num-generations 16" in caught.value.message
    assert "--gradient-accumulation-steps 16" in caught.value.fix


def test_grpo_server_g_uses_training_gpus():
    """In server mode the generation batch counts only the training processes."""
    plan = build_plan(
        "openr1-grpo", gpu_count=4, vllm_mode="server", per_device_train_batch_size=2, gradient_accumulation_steps=4
    )
    assert plan.summary["num_processes"] == 3
    assert recipe_of(plan)["num_generations"] == 12


def test_sft_qlora_zero3_forced_to_zero2():
    """SFT with QLoRA and --deepspeed-stage 3 runs ZeRO-2, with a notice giving the reason."""
    plan = build_plan("openr1-sft", gpu_count=2, deepspeed_stage=3)
    accelerate = yaml.safe_load(file_text(plan, "openr1/accelerate.yaml"))
    assert accelerate["deepspeed_config"]["zero_stage"] == 2
    assert accelerate["num_processes"] == 2
    assert plan.summary["method"] == "qlora"
    assert any("ZeRO-2 used instead of ZeRO-3" in notice and "device_map" in notice for notice in plan.notices)
    recipe = recipe_of(plan)
    assert recipe["load_in_4bit"] is True
    assert recipe["use_peft"] is True


def test_server_mode_one_gpu_rejected():
    """server mode on a 1-GPU Pod is rejected before any Pod exists."""
    with pytest.raises(PlanError) as caught:
        build_plan("openr1-grpo", gpu_count=1, vllm_mode="server")
    assert "--vllm-mode server needs at least 2 GPUs" in caught.value.message
    assert "--gpu-count 2" in caught.value.fix


def test_wandb_without_key_rejected(tmp_path):
    """--report-to wandb without WANDB_API_KEY is rejected; with it, the key is a secret."""
    with pytest.raises(PlanError) as caught:
        build_plan("openr1-grpo", gpu_count=1, report_to="wandb", settings=make_settings(tmp_path))
    assert "WANDB_API_KEY" in caught.value.message
    assert "--report-to none" in caught.value.fix

    plan = build_plan(
        "openr1-grpo", gpu_count=1, report_to="wandb", settings=make_settings(tmp_path, WANDB_API_KEY="k")
    )
    assert plan.secrets == ["HF_TOKEN", "WANDB_API_KEY"]
    assert recipe_of(plan)["report_to"] == ["wandb"]
    assert "load_secret WANDB_API_KEY" in file_text(plan, "openr1/launch.sh")


@pytest.mark.parametrize("requirement", ["foo; rm -rf /", "$(id)", "`id`", "pkg @ https://example.invalid/x.whl"])
def test_custom_dependency_rejected(requirement):
    """anything that is not a plain requirement specifier is rejected."""
    with pytest.raises(PlanError) as caught:
        build_plan("openr1-grpo", gpu_count=1, custom_dependencies=[requirement])
    assert repr(requirement) in caught.value.message


def test_custom_dependency_quoted():
    plan = build_plan("openr1-grpo", gpu_count=1, custom_dependencies=["liger-kernel>=0.5", "math-verify[antlr4_13_2]"])
    setup = file_text(plan, "openr1/setup.sh")
    assert "uv pip install 'liger-kernel>=0.5' 'math-verify[antlr4_13_2]' --override" in setup
