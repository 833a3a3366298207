"""prepare_run for trl-grpo and trl-sft: recipes parsed by TRL's own parser, scripts linted, no secrets."""

from __future__ import annotations

import importlib
import shutil
import subprocess

import pytest
import yaml

from trl_support import HF_TOKEN_VALUE, WANDB_KEY_VALUE, grpo_spec, model_facts, sft_spec
from podsmith_core.errors import PlanError
from podsmith_trl.plugin import grpo, sft


def plan_for(spec, facts=None, settings=None):
    plugin = grpo if spec.trainer == "trl-grpo" else sft
    return plugin.prepare_run(spec=spec, facts=facts or model_facts(), settings=settings)


def file_of(plan, path):
    matches = [item.content for item in plan.files if item.path == path]
    assert matches, f"{path} not in {[item.path for item in plan.files]}"
    return matches[0]


def parse_with_trl(plan, tmp_path):
    """Parse the recipe with the parser of TRL's own script, which rejects unknown keys."""
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(file_of(plan, "config/recipe.yaml"))
    script = importlib.import_module(f"trl.scripts.{plan.summary['method']}")
    # This machine has no GPU, so bf16 is switched off on the command line; every key still goes through.
    overrides = [] if plan.summary["device"] == "cpu" else ["--bf16", "false"]
    return script.make_parser().parse_args_and_config(args=["--config", str(recipe), *overrides])


MATRIX = [
    ("grpo", dict(gpu_count=1, method="full")),
    ("grpo", dict(gpu_count=1, method="lora", lora_target_modules=["q_proj", "v_proj"])),
    ("grpo", dict(gpu_count=1, method="full", vllm_mode="colocate", answer_tag="<answer>", answer_end_tag="</answer>")),
    ("grpo", dict(gpu_count=1, use_vllm=False, reward_funcs=["accuracy", "think_format_reward"], reward_weights=[1.0, 0.2])),
    ("grpo", dict(gpu_count=0, method="lora")),
    ("grpo", dict(gpu_count=0, method="full", system_prompt="Think first.", dataset_fraction=0.5)),
    ("sft", dict(gpu_count=1, method="qlora")),
    ("sft", dict(gpu_count=1, method="full", revision="main", dataset_config="default")),
    ("sft", dict(gpu_count=0)),
    ("sft", dict(gpu_count=0, method="full", push_to_hub=False)),
]


@pytest.mark.parametrize(("method", "options"), MATRIX)
def test_recipe_parsed_by_trl(method, options, settings, tmp_path):
    spec = (grpo_spec if method == "grpo" else sft_spec)(**options)
    plan = plan_for(spec, settings=settings)
    script_args, training_args, model_args, *_ = parse_with_trl(plan, tmp_path)

    assert model_args.model_name_or_path == "org/tiny-model"
    assert training_args.output_dir == plan.summary["output_dir"]
    assert training_args.use_cpu == (spec.gpu_count == 0)
    assert model_args.use_peft == (plan.summary["training"] in ("lora", "qlora"))
    assert model_args.load_in_4bit == (plan.summary["training"] == "qlora")
    assert training_args.push_to_hub == spec.push_to_hub
    if spec.push_to_hub:
        assert training_args.hub_model_id == spec.hub_model_id
        assert training_args.hub_private_repo is True
    if method == "grpo":
        assert training_args.num_generations == plan.summary["num_generations"]
        recipe = yaml.safe_load(file_of(plan, "config/recipe.yaml"))
        assert script_args.reward_funcs == recipe["reward_funcs"]
        assert [name.removeprefix("podsmith_rewards.") for name in recipe["reward_funcs"]] == plan.summary["reward_funcs"]
        assert training_args.use_vllm == plan.summary["use_vllm"]
    else:
        assert training_args.max_length == spec.max_prompt_length + spec.max_completion_length


def test_grpo_vllm_mode_explicit(settings):
    recipe = yaml.safe_load(file_of(plan_for(grpo_spec(), settings=settings), "config/recipe.yaml"))
    assert recipe["use_vllm"] is True
    assert recipe["vllm_mode"] == "colocate"
    assert recipe["vllm_gpu_memory_utilization"] == 0.3


def test_grpo_cpu_recipe(settings):
    plan = plan_for(grpo_spec(gpu_count=0), settings=settings)
    recipe = yaml.safe_load(file_of(plan, "config/recipe.yaml"))
    accelerate = yaml.safe_load(file_of(plan, "config/accelerate.yaml"))
    assert recipe["use_cpu"] is True
    assert recipe["bf16"] is False
    assert recipe["dtype"] == "float32"
    assert recipe["use_vllm"] is False
    assert "vllm_mode" not in recipe
    assert accelerate["use_cpu"] is True
    assert accelerate["distributed_type"] == "NO"
    assert "deepspeed_config" not in accelerate
    assert "vLLM is off on a CPU; completions are generated with transformers." in plan.notices
    assert "deepspeed" not in file_of(plan, "config/requirements.txt")


def test_accelerate_multi_gpu_zero3(settings):
    plan = plan_for(grpo_spec(gpu_count=4, gradient_accumulation_steps=4), settings=settings)
    accelerate = yaml.safe_load(file_of(plan, "config/accelerate.yaml"))
    assert accelerate["distributed_type"] == "DEEPSPEED"
    assert accelerate["num_processes"] == 4
    assert accelerate["deepspeed_config"]["zero_stage"] == 3
    assert accelerate["deepspeed_config"]["zero3_init_flag"] is True
    assert accelerate["mixed_precision"] == "bf16"
    assert plan.summary["num_generations"] == 16
    assert "deepspeed==" in file_of(plan, "config/requirements.txt")


def test_sft_qlora_zero3_uses_zero2(settings):
    plan = plan_for(sft_spec(gpu_count=2, deepspeed_stage=3), settings=settings)
    accelerate = yaml.safe_load(file_of(plan, "config/accelerate.yaml"))
    assert plan.summary["training"] == "qlora"
    assert accelerate["deepspeed_config"]["zero_stage"] == 2
    assert any("ZeRO-2 used instead of ZeRO-3" in notice for notice in plan.notices)
    requirements = file_of(plan, "config/requirements.txt")
    assert "bitsandbytes==" in requirements
    assert "peft==" in requirements


def test_vllm_server_needs_two_gpus(settings):
    with pytest.raises(PlanError) as caught:
        plan_for(grpo_spec(gpu_count=1, vllm_mode="server"), settings=settings)
    assert "--vllm-mode server" in caught.value.message
    assert "--gpu-count 2" in caught.value.fix


def test_vllm_server_layout(settings):
    plan = plan_for(grpo_spec(gpu_count=4, vllm_mode="server", gradient_accumulation_steps=4), settings=settings)
    recipe = yaml.safe_load(file_of(plan, "config/recipe.yaml"))
    assert recipe["vllm_mode"] == "server"
    assert plan.summary["num_processes"] == 3
    assert "CUDA_VISIBLE_DEVICES=0 " in plan.launch_script
    assert "export CUDA_VISIBLE_DEVICES=1,2,3" in plan.launch_script
    assert "wait-vllm" in plan.launch_script


def test_batch_one_rejected(settings):
    with pytest.raises(PlanError) as caught:
        plan_for(grpo_spec(per_device_train_batch_size=1, gradient_accumulation_steps=1), settings=settings)
    assert caught.value.fix == "Set --gradient-accumulation-steps 2."


def test_generations_adjusted_notice(settings):
    plan = plan_for(grpo_spec(gradient_accumulation_steps=4), settings=settings)
    assert plan.summary["num_generations"] == 4
    assert any(notice.startswith("num_generations adjusted from 16 to 4") for notice in plan.notices)


def test_explicit_generations_rejected(settings):
    with pytest.raises(PlanError) as caught:
        plan_for(grpo_spec(gradient_accumulation_steps=4, num_generations=16), settings=settings)
    assert "--num-generations 16" in caught.value.message


def test_fallback_template_shipped(settings):
    facts = model_facts(has_chat_template=False, chat_template=None, eos_token="<eos>")
    plan = plan_for(grpo_spec(), facts=facts, settings=settings)
    template = file_of(plan, "chat_template.jinja")
    assert "eos_token" in template
    recipe = yaml.safe_load(file_of(plan, "config/recipe.yaml"))
    assert recipe["model_name_or_path"] == "prepared/model"
    assert "podsmith_job.py prepare-model" in plan.launch_script
    assert plan.summary["chat_template"] == "fallback"
    assert any("Fallback chat template injected" in notice for notice in plan.notices)


def test_sft_fallback_uses_chat_template_path(settings):
    facts = model_facts(has_chat_template=False, chat_template=None, eos_token="<eos>")
    plan = plan_for(sft_spec(), facts=facts, settings=settings)
    recipe = yaml.safe_load(file_of(plan, "config/recipe.yaml"))
    assert recipe["chat_template_path"] == "chat_template.jinja"
    assert recipe["model_name_or_path"] == "org/tiny-model"
    assert "prepare-model" not in plan.launch_script


def test_template_path_typo(settings, tmp_path):
    with pytest.raises(PlanError) as caught:
        plan_for(grpo_spec(chat_template=str(tmp_path / "tmpl.jnja")), settings=settings)
    assert caught.value.message.startswith("chat template file not found:")


def test_dependency_injection_rejected(settings):
    for text in ("foo; rm -rf /", "$(id)"):
        with pytest.raises(PlanError) as caught:
            plan_for(grpo_spec(custom_dependencies=[text]), settings=settings)
        assert "--custom-dependencies" in caught.value.message


def test_custom_dependencies_quoted(settings):
    plan = plan_for(grpo_spec(custom_dependencies=["liger-kernel>=0.5"]), settings=settings)
    assert "CUSTOM_DEPENDENCIES=('liger-kernel>=0.5')" in plan.setup_script
    assert "liger-kernel>=0.5" in plan.summary["requirements"]


def test_wandb_without_key(settings):
    with pytest.raises(PlanError) as caught:
        plan_for(grpo_spec(report_to="wandb"), settings=settings)
    assert "WANDB_API_KEY" in caught.value.fix


def test_wandb_key_forwarded_as_secret(make_settings):
    settings = make_settings(HF_TOKEN=HF_TOKEN_VALUE, WANDB_API_KEY=WANDB_KEY_VALUE)
    plan = plan_for(grpo_spec(report_to="wandb"), settings=settings)
    assert plan.secrets == ["HF_TOKEN", "WANDB_API_KEY"]
    assert 'WANDB_API_KEY="$(cat "secrets/WANDB_API_KEY")"' in plan.launch_script


def test_push_needs_token(make_settings):
    with pytest.raises(PlanError) as caught:
        plan_for(grpo_spec(), settings=make_settings())
    assert "HF_TOKEN" in caught.value.message


def test_public_repo(settings):
    recipe = yaml.safe_load(file_of(plan_for(grpo_spec(public=True), settings=settings), "config/recipe.yaml"))
    assert recipe["hub_private_repo"] is False


def test_missing_dataset(settings):
    with pytest.raises(PlanError) as caught:
        plan_for(grpo_spec(dataset_name=None), settings=settings)
    assert "--dataset-name" in caught.value.fix


def test_skip_setup(settings):
    plan = plan_for(grpo_spec(skip_setup=True), settings=settings)
    assert plan.setup_script is None


def test_summary_fields(settings):
    plan = plan_for(grpo_spec(answer_tag="<answer>", answer_end_tag="</answer>", gradient_accumulation_steps=16), settings=settings)
    summary = plan.summary
    assert summary["method"] == "grpo"
    assert summary["reward_funcs"] == ["accuracy_reward", "format_reward", "tag_count_reward"]
    assert summary["num_generations"] == 16
    assert summary["zero_stage"] == 0
    assert summary["dataset"] == "org/arithmetic"
    assert summary["hub_model_id"] == "someone/tiny-grpo"
    assert summary["output_dir"] == "outputs/tiny-model-grpo"


def test_model_card_shipped(settings):
    plan = plan_for(grpo_spec(), settings=settings)
    card = file_of(plan, "config/model_card.md")
    assert "someone/tiny-grpo" in card
    assert "push-card" in plan.launch_script


SCRIPT_CASES = [
    grpo_spec(gpu_count=0),
    grpo_spec(gpu_count=4, vllm_mode="server", gradient_accumulation_steps=4, report_to="wandb"),
    grpo_spec(gpu_count=1, system_prompt="It's \"quoted\" $(id)", attn_implementation="flash_attention_2",
              custom_dependencies=["liger-kernel>=0.5"]),
    sft_spec(gpu_count=2, options={"venv": "/opt/my venv", "python": "/usr/bin/python3.11"}),
    grpo_spec(gpu_count=4, vllm_mode="server", gradient_accumulation_steps=4, report_to="wandb", debug_remote=True),
]


@pytest.mark.parametrize("spec", SCRIPT_CASES, ids=["grpo-cpu", "grpo-server", "grpo-quoting", "sft-venv", "grpo-debug"])
def test_scripts_lint_clean(spec, make_settings, tmp_path):
    settings = make_settings(HF_TOKEN=HF_TOKEN_VALUE, WANDB_API_KEY=WANDB_KEY_VALUE)
    facts = model_facts(has_chat_template=False, eos_token="</s>")
    plan = plan_for(spec, facts=facts, settings=settings)
    for name, script in (("setup.sh", plan.setup_script), ("launch.sh", plan.launch_script)):
        path = tmp_path / name
        path.write_text(script)
        syntax = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
        assert syntax.returncode == 0, syntax.stderr
        if shutil.which("shellcheck"):
            lint = subprocess.run(["shellcheck", "-S", "style", str(path)], capture_output=True, text=True)
            assert lint.returncode == 0, lint.stdout


def test_no_secret_in_plan(make_settings):
    settings = make_settings(HF_TOKEN=HF_TOKEN_VALUE, WANDB_API_KEY=WANDB_KEY_VALUE)
    plan = plan_for(grpo_spec(report_to="wandb"), settings=settings)
    texts = [item.content for item in plan.files] + [plan.setup_script, plan.launch_script, repr(plan.summary), *plan.notices]
    for text in texts:
        assert HF_TOKEN_VALUE not in text
        assert WANDB_KEY_VALUE not in text
    assert 'HF_TOKEN="$(cat "secrets/HF_TOKEN")"' in plan.launch_script
    assert "trap remove_secrets EXIT" in plan.launch_script
