"""Assemble a TrainerPlan for trl-sft or trl-grpo: decide, render every file and script, summarise."""

from __future__ import annotations

import json
import shlex
from typing import Any

from podsmith_core.errors import PlanError
from podsmith_core.models import ModelFacts, PlannedFile, RunSpec, TrainerPlan
from podsmith_core.settings import Settings

from podsmith_trl import stack
from podsmith_trl.chat import FALLBACK_TEMPLATE, ChatTemplateChoice, choose_chat_template
from podsmith_trl.decisions import (
    Hardware,
    choose_hardware,
    choose_hub_model_id,
    choose_output_dir,
    ignored_grpo_options,
)
from podsmith_trl.local_dataset import check_grpo_columns, check_sft_columns, resolve_dataset_path
from podsmith_trl.render import render, source
from podsmith_trl.rules import (
    SOLUTION_REWARDS,
    check_report_to,
    resolve_num_generations,
    select_rewards,
    validate_dependencies,
)

JOB_CONFIG = "config/job.json"
RECIPE = "config/recipe.yaml"
ACCELERATE = "config/accelerate.yaml"
REQUIREMENTS = "config/requirements.txt"
CHAT_TEMPLATE = "chat_template.jinja"
MODEL_CARD = "config/model_card.md"
PREPARED_MODEL = "prepared/model"
PREPARED_DATASET = "prepared/dataset"
RESULT_FILE = "results/result.json"
SETUP_SCRIPT = "scripts/setup.sh"
LAUNCH_SCRIPT = "scripts/launch.sh"
VLLM_SERVER_PORT = 8000
DEFAULT_VENV = "venv"
DEFAULT_PYTHON = "python3"


def _chat_template(spec: RunSpec, facts: ModelFacts | None) -> ChatTemplateChoice:
    # Facts without a config mean the Hub plugin could not read the model and reports that itself.
    if facts is None or not facts.config:
        return choose_chat_template(spec.chat_template, False, None, source(FALLBACK_TEMPLATE), model_known=False)
    return choose_chat_template(
        spec.chat_template, facts.has_chat_template, facts.eos_token, source(FALLBACK_TEMPLATE)
    )


def _needs_dataset_preparation(spec: RunSpec) -> bool:
    return spec.dataset_prompt_column != "prompt" or bool(spec.system_prompt) or spec.dataset_fraction < 1.0


def accelerate_config(hardware: Hardware, num_processes: int | None = None) -> str:
    """Render the Accelerate config; run_remote re-renders it when the Pod has another GPU count."""
    return render(
        "trl/accelerate.yaml.j2",
        use_cpu=hardware.use_cpu,
        zero_stage=hardware.zero_stage,
        num_processes=num_processes or hardware.num_processes,
        mixed_precision="bf16" if hardware.dtype == "bfloat16" else "no",
    )


RUN_ID_PLACEHOLDER = "@@PODSMITH_RUN_ID@@"


def _model_card(
    spec: RunSpec, facts: ModelFacts | None, hub_model_id: str, resolved: dict[str, Any], settings: Settings
) -> str | None:
    """Render the model card with the resolved method and generations; run_remote fills in the run id."""
    try:
        from podsmith_core.hub.card import render_model_card
    except ImportError:
        # NOTE: the core's model card renderer is optional; without it the trainer's own card stays.
        return None
    card_spec = spec.model_copy(update=resolved)
    card_facts = facts or ModelFacts(repo_id=spec.repo_id, revision=spec.revision)
    endpoint = settings.get("HF_ENDPOINT") or "https://huggingface.co"
    return render_model_card(card_spec, card_facts, RUN_ID_PLACEHOLDER, hub_model_id, endpoint=endpoint)


def build_plan(trainer: str, method: str, spec: RunSpec, facts: ModelFacts | None, settings: Settings) -> TrainerPlan:
    """Decide everything for `trainer` ("trl-sft" or "trl-grpo") and render the files it ships to the Pod."""
    grpo = method == "grpo"
    if not spec.dataset_name:
        raise PlanError(f"{trainer} needs a dataset.", "Pass --dataset-name with a Hub dataset id or a directory.")
    local_dataset = resolve_dataset_path(spec.dataset_name)
    if local_dataset is not None:
        # TRL's scripts run in the Pod workspace, so a path relative to the current directory would not resolve there.
        spec = spec.model_copy(update={"dataset_name": local_dataset})

    hardware = choose_hardware(spec)
    notices = list(hardware.notices)
    secrets = check_report_to(spec.report_to, settings.get("WANDB_API_KEY"))
    custom_quoted = validate_dependencies(spec.custom_dependencies)
    custom_plain = [shlex.split(item)[0] for item in custom_quoted]
    chat = _chat_template(spec, facts)
    notices.extend(chat.notices)

    hub_model_id = choose_hub_model_id(spec, facts, method)
    if spec.push_to_hub and not settings.hf_token:
        raise PlanError("Pushing to the Hub needs HF_TOKEN, which is not set.", "Set HF_TOKEN, or pass --no-push.")
    needs_token = spec.push_to_hub or (facts is not None and (facts.private or bool(facts.gated)))
    if needs_token and settings.hf_token:
        secrets.insert(0, "HF_TOKEN")

    num_generations = None
    rewards = None
    if grpo:
        num_generations, notice = resolve_num_generations(
            spec.num_generations,
            spec.per_device_train_batch_size,
            hardware.num_processes,
            spec.gradient_accumulation_steps,
        )
        if notice:
            notices.append(notice)
        rewards = select_rewards(
            (spec.reasoning_tag, spec.reasoning_end_tag),
            (spec.answer_tag, spec.answer_end_tag),
            spec.reward_funcs,
            spec.reward_weights,
        )
        notices.extend(rewards.notices)
        if local_dataset is not None:
            needs_solution = [short for name, short in zip(rewards.funcs, rewards.short_names) if name in SOLUTION_REWARDS]
            check_grpo_columns(local_dataset, spec.dataset_train_split, spec.dataset_prompt_column, needs_solution)
    else:
        if local_dataset is not None:
            check_sft_columns(local_dataset, spec.dataset_train_split)
        ignored = ignored_grpo_options(spec)
        if ignored:
            notices.append(f"{trainer} ignores these options, which only GRPO uses: {', '.join(ignored)}.")

    prepare_model = grpo and chat.text is not None
    prepare_dataset = grpo and _needs_dataset_preparation(spec)
    model_path = spec.repo_id
    if facts is not None and facts.local_path:
        model_path = facts.local_path
    if prepare_model:
        model_path = PREPARED_MODEL
    output_dir = choose_output_dir(spec, method)
    venv = spec.options.get("venv", DEFAULT_VENV)
    base_python = spec.options.get("python", DEFAULT_PYTHON)

    summary: dict[str, Any] = {
        "trainer": trainer,
        "method": method,
        "training": hardware.method,
        "device": "cpu" if hardware.use_cpu else "gpu",
        "gpu_count": hardware.gpu_count,
        "num_processes": hardware.num_processes,
        "zero_stage": hardware.zero_stage,
        "dataset": spec.dataset_name,
        "output_dir": output_dir,
        "hub_model_id": hub_model_id,
        "chat_template": chat.source,
        "trl_version": stack.BASE_PINS["trl"],
    }
    if grpo:
        assert rewards is not None
        summary.update(
            reward_funcs=rewards.short_names,
            reward_weights=rewards.weights,
            num_generations=num_generations,
            use_vllm=hardware.use_vllm,
            vllm_mode=spec.vllm_mode if hardware.use_vllm else None,
        )
    else:
        summary["max_length"] = spec.max_prompt_length + spec.max_completion_length

    context = _recipe_context(spec, hardware, model_path, output_dir, hub_model_id, chat, prepare_dataset)
    job_config = _job_config(spec, model_path, output_dir, hub_model_id, prepare_dataset)
    files = [
        PlannedFile(path=ACCELERATE, content=accelerate_config(hardware)),
        PlannedFile(path=JOB_CONFIG, content=json.dumps(job_config, indent=2) + "\n"),
        PlannedFile(path="podsmith_job.py", content=source("trl/podsmith_job.py")),
    ]
    if grpo:
        assert rewards is not None
        context.update(
            reward_funcs=rewards.funcs,
            reward_weights=rewards.weights,
            num_generations=num_generations,
            max_completion_length=spec.max_completion_length,
            beta=spec.beta,
            use_vllm=hardware.use_vllm,
            vllm_mode=spec.vllm_mode,
            vllm_gpu_memory_utilization=spec.vllm_gpu_memory_utilization,
            vllm_server_port=VLLM_SERVER_PORT,
        )
        files.append(PlannedFile(path=f"{RECIPE}", content=render("trl/grpo.yaml.j2", **context)))
        files.append(PlannedFile(path="podsmith_rewards.py", content=source("trl/podsmith_rewards.py")))
    else:
        context.update(
            max_length=spec.max_prompt_length + spec.max_completion_length,
            chat_template_path=CHAT_TEMPLATE if chat.text is not None else None,
        )
        files.append(PlannedFile(path=RECIPE, content=render("trl/sft.yaml.j2", **context)))
    if chat.text is not None:
        files.append(PlannedFile(path=CHAT_TEMPLATE, content=chat.text))

    card = None
    if hub_model_id is not None:
        resolved: dict[str, Any] = {"method": hardware.method, "deepspeed_stage": hardware.zero_stage or None}
        if grpo:
            assert rewards is not None
            resolved.update(num_generations=num_generations, reward_funcs=rewards.short_names)
        card = _model_card(spec, facts, hub_model_id, resolved, settings)
    if card is not None:
        files.append(PlannedFile(path=MODEL_CARD, content=card))

    reporting = stack.reporting_packages(spec.report_to)
    requirements = stack.requirements(
        peft=hardware.method in ("lora", "qlora"),
        quantized=hardware.method == "qlora",
        math_verify=bool(rewards and rewards.needs_math_verify),
        deepspeed=hardware.zero_stage > 0,
        vllm=hardware.use_vllm,
        custom=[],
        reporting=[pin for pin, _module in reporting],
    )
    files.append(PlannedFile(path=REQUIREMENTS, content="\n".join(requirements) + "\n"))

    shell = {
        "trainer": trainer,
        "method": method,
        "venv_q": shlex.quote(venv),
        "base_python_q": shlex.quote(base_python),
        "num_processes": hardware.num_processes,
        "debug_remote": spec.debug_remote,
    }
    setup_script = None
    if not spec.skip_setup:
        imports = ["trl", "transformers", "accelerate", "datasets"]
        imports += ["peft"] if hardware.method in ("lora", "qlora") else []
        imports += ["bitsandbytes"] if hardware.method == "qlora" else []
        imports += [module for _pin, module in reporting]
        setup_script = render(
            "trl/setup.sh.j2",
            **shell,
            use_cpu=hardware.use_cpu,
            custom_dependencies_q=custom_quoted,
            torch_minimum_q=shlex.quote(stack.TORCH_MINIMUM),
            torch_pin=stack.TORCH_PIN,
            torch_pin_q=shlex.quote(stack.TORCH_PIN),
            torch_cpu_index_q=shlex.quote(stack.TORCH_CPU_INDEX),
            flash_attention=hardware.attn_implementation.startswith("flash_attention"),
            verify_imports=imports,
        )
    summary["requirements"] = requirements + custom_plain

    launch_script = render(
        "trl/launch.sh.j2",
        **shell,
        secrets=secrets,
        report_to_wandb="WANDB_API_KEY" in secrets,
        project_q=shlex.quote(spec.project),
        prepare_dataset=prepare_dataset,
        prepare_model=prepare_model,
        vllm_server=hardware.vllm_server,
        vllm_gpus=",".join(str(i) for i in range(spec.vllm_server_gpus)),
        training_gpus=",".join(str(i) for i in range(spec.vllm_server_gpus, hardware.gpu_count)),
        vllm_model_q=shlex.quote(model_path),
        vllm_server_port=VLLM_SERVER_PORT,
        vllm_server_gpus=spec.vllm_server_gpus,
        vllm_gpu_memory_utilization=0.9,
        push_model_card=card is not None,
    )
    return TrainerPlan(
        trainer=trainer,
        files=files,
        setup_script=setup_script,
        launch_script=launch_script,
        notices=notices,
        summary=summary,
        secrets=secrets,
    )


def _recipe_context(
    spec: RunSpec,
    hardware: Hardware,
    model_path: str,
    output_dir: str,
    hub_model_id: str | None,
    chat: ChatTemplateChoice,
    prepare_dataset: bool,
) -> dict[str, Any]:
    local_model = model_path != spec.repo_id
    report_to = [item.strip() for item in spec.report_to.split(",") if item.strip()] or ["none"]
    return {
        "trl_version": stack.BASE_PINS["trl"],
        "model_name_or_path": model_path,
        "model_revision": None if local_model else spec.revision,
        "dtype": hardware.dtype,
        "attn_implementation": hardware.attn_implementation,
        "trust_remote_code": spec.trust_remote_code,
        "use_peft": hardware.method in ("lora", "qlora"),
        "lora_r": spec.lora_r,
        "lora_alpha": spec.lora_alpha,
        "lora_dropout": spec.lora_dropout,
        "lora_target_modules": spec.lora_target_modules,
        "load_in_4bit": hardware.method == "qlora",
        "dataset_name": PREPARED_DATASET if prepare_dataset else spec.dataset_name,
        "dataset_config": None if prepare_dataset else spec.dataset_config,
        "dataset_train_split": "train" if prepare_dataset else spec.dataset_train_split,
        "output_dir": output_dir,
        "num_train_epochs": spec.num_train_epochs,
        "max_steps": spec.max_steps,
        "per_device_train_batch_size": spec.per_device_train_batch_size,
        "gradient_accumulation_steps": spec.gradient_accumulation_steps,
        "learning_rate": spec.learning_rate,
        "optim": spec.optimizer,
        "seed": spec.seed,
        "logging_steps": spec.logging_steps,
        "save_steps": spec.save_steps,
        "gradient_checkpointing": spec.gradient_checkpointing,
        "bf16": hardware.dtype == "bfloat16" and not hardware.use_cpu,
        "use_cpu": hardware.use_cpu,
        "report_to": report_to,
        "push_to_hub": spec.push_to_hub,
        "hub_model_id": hub_model_id,
        "hub_private_repo": not spec.public,
    }


def _job_config(
    spec: RunSpec, model_path: str, output_dir: str, hub_model_id: str | None, prepare_dataset: bool
) -> dict[str, Any]:
    """Return the values podsmith_job.py and podsmith_rewards.py read on the Pod."""
    return {
        "model": {
            "name_or_path": spec.repo_id if model_path == PREPARED_MODEL else model_path,
            "revision": spec.revision,
            "trust_remote_code": spec.trust_remote_code,
            "chat_template_file": CHAT_TEMPLATE,
            "prepared_dir": PREPARED_MODEL,
        },
        "dataset": {
            "name": spec.dataset_name,
            "config": spec.dataset_config,
            "split": spec.dataset_train_split,
            "prompt_column": spec.dataset_prompt_column,
            "system_prompt": spec.system_prompt,
            "fraction": spec.dataset_fraction,
            "seed": spec.dataset_seed,
            "prepared_dir": PREPARED_DATASET,
        },
        "rewards": {
            "reasoning": [spec.reasoning_tag, spec.reasoning_end_tag],
            "answer": [spec.answer_tag, spec.answer_end_tag],
        },
        "vllm_server": {"port": VLLM_SERVER_PORT, "timeout_s": 900},
        "output_dir": output_dir,
        "result_file": RESULT_FILE,
        "push_to_hub": spec.push_to_hub,
        "hub_model_id": hub_model_id,
        "model_card": MODEL_CARD,
    }
