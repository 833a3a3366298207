"""Build the Open R1 trainer plan: every decision, notice and file, before any Pod exists."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Literal

from packaging.version import InvalidVersion, Version

from podsmith_core.errors import PlanError
from podsmith_core.models import ModelFacts, PlannedFile, RunSpec, TrainerPlan
from podsmith_core.settings import Settings
from podsmith_trl.rules import check_report_to, resolve_num_generations, validate_dependencies

from podsmith_openr1 import files
from podsmith_openr1.chat import resolve_chat_template
from podsmith_openr1.keys import check_recipe_keys, check_vllm_serve_options, trl_fields
from podsmith_openr1.layout import GpuLayout, plan_layout
from podsmith_openr1.method import MethodPlan, plan_method
from podsmith_openr1.pins import BITSANDBYTES_REQUIREMENT, FLASH_ATTN_VERSION, PEFT_REQUIREMENT, StackPins
from podsmith_openr1.recipe import (
    VLLM_SERVER_HOST,
    VLLM_SERVER_PORT,
    RecipeInputs,
    build_recipe,
    dataset_choice,
    default_hub_model_id,
    default_output_dir,
)
from podsmith_openr1.rewards import RewardPlan, plan_rewards, sample_completion, system_prompt

Kind = Literal["grpo", "sft"]

SERVER_MEMORY_DEFAULT = 0.9
SERVER_WAIT_S = 900
SERVER_POLL_S = 5


def stack_pins(spec: RunSpec) -> StackPins:
    pins = StackPins()
    if spec.transformers_version:
        try:
            Version(spec.transformers_version)
        except InvalidVersion as exc:
            raise PlanError(
                f"--transformers-version {spec.transformers_version!r} is not a version number.",
                "Pass a release such as 4.52.3.",
            ) from exc
        pins = StackPins(transformers=spec.transformers_version)
    commit = spec.options.get("openr1_commit")
    if commit:
        if not (len(commit) == 40 and all(char in "0123456789abcdef" for char in commit)):
            raise PlanError(
                f"--opt openr1_commit={commit!r} is not a full commit id.", "Pass the 40-character commit hash."
            )
        pins = dataclasses.replace(pins, openr1_commit=commit)
    return pins


def _ignored_grpo_options(spec: RunSpec) -> list[str]:
    """Return the flags of GRPO-only options whose values differ from the defaults (the CLI sets every field)."""
    names = {
        "num_generations": "--num-generations",
        "reward_funcs": "--reward-funcs",
        "reward_weights": "--reward-weights",
        "use_vllm": "--no-vllm",
        "vllm_mode": "--vllm-mode",
        "vllm_server_gpus": "--vllm-server-gpus",
    }
    fields = RunSpec.model_fields
    return [
        flag
        for field, flag in names.items()
        if getattr(spec, field) != fields[field].get_default(call_default_factory=True)
    ]


# Open R1 rewards that compare completions with the dataset's `solution` column.
SOLUTION_REWARDS = frozenset({"accuracy", "cosine", "length"})


def _check_local_columns(path: str, spec: RunSpec, prompt_column: str, reward_funcs: list[str] | None) -> None:
    """Raise PlanError when a local dataset lacks a column the script or the rewards read (None: SFT)."""
    from podsmith_trl.local_dataset import check_grpo_columns, check_sft_columns

    if reward_funcs is None:
        check_sft_columns(path, spec.dataset_train_split)
        return
    needing = [name for name in reward_funcs if name in SOLUTION_REWARDS]
    check_grpo_columns(path, spec.dataset_train_split, prompt_column, needing)


def server_port(spec: RunSpec) -> int:
    """Return the vLLM server port: `--opt vllm_server_port=N`, or 8000."""
    text = spec.options.get("vllm_server_port")
    if text is None:
        return VLLM_SERVER_PORT
    if not text.isdigit() or not 1024 <= int(text) <= 65535:
        raise PlanError(f"--opt vllm_server_port={text!r} is not a port number.", "Pass a port between 1024 and 65535.")
    return int(text)


def _server_options(spec: RunSpec, layout: GpuLayout) -> dict[str, Any]:
    # In server mode --vllm-gpu-memory-utilization applies to the server's own GPUs, where 0.9 is usual.
    # The RunSpec default (0.3) is the colocate share, so it is only taken when given explicitly.
    memory = spec.vllm_gpu_memory_utilization
    if "vllm_gpu_memory_utilization" not in spec.model_fields_set:
        memory = SERVER_MEMORY_DEFAULT
    options: dict[str, Any] = {
        "model": spec.repo_id,
        "tensor_parallel_size": layout.tensor_parallel_size,
        "data_parallel_size": layout.data_parallel_size,
        "host": VLLM_SERVER_HOST,
        "port": server_port(spec),
        "gpu_memory_utilization": memory,
        "dtype": spec.torch_dtype,
    }
    if spec.revision:
        options["revision"] = spec.revision
    check_vllm_serve_options(options)
    return options


def _server_context(spec: RunSpec, layout: GpuLayout) -> dict[str, Any] | None:
    if layout.backend != "server":
        return None
    options = _server_options(spec, layout)
    args: list[str] = []
    for key, value in options.items():
        args += [f"--{key}", str(value)]
    return {
        "gpus": ",".join(str(gpu) for gpu in layout.server_gpus),
        "host": VLLM_SERVER_HOST,
        "port": options["port"],
        "args": args,
        "wait_s": SERVER_WAIT_S,
        "poll_s": SERVER_POLL_S,
    }


def _setup_needs(spec: RunSpec, method: MethodPlan, layout: GpuLayout) -> tuple[list[str], list[str]]:
    """Return (extra requirements to install, modules the stack check imports)."""
    extras: list[str] = []
    imports = ["open_r1", "trl", "transformers", "deepspeed"]
    if method.uses_peft:
        extras += [PEFT_REQUIREMENT, BITSANDBYTES_REQUIREMENT]
        imports += ["peft", "bitsandbytes"]
    if spec.attn_implementation == "flash_attention_2":
        imports.append("flash_attn")
    if layout.use_vllm:
        imports.append("vllm")
    return extras, imports


def prepare(spec: RunSpec, facts: ModelFacts | None, settings: Settings, kind: Kind) -> TrainerPlan:
    """Return the plan for Open R1's `kind` script, raising PlanError for settings that cannot work."""
    is_grpo = kind == "grpo"
    notices: list[str] = []
    if spec.gpu_count == 0:
        raise PlanError(
            f"openr1-{kind} trains on GPUs only (vLLM, DeepSpeed, bf16), but this run has no GPU.",
            f"Use --trainer trl-{kind} to train on a CPU, or a provider and --gpu-count with GPUs.",
        )

    server_mode = is_grpo and spec.use_vllm and spec.vllm_mode == "server"
    gpu_count = spec.gpu_count or (spec.vllm_server_gpus + 1 if server_mode else 1)
    if spec.gpu_count is None:
        notices.append(f"Planned for {gpu_count} GPU(s) until the GPU selection sets --gpu-count.")
    layout = plan_layout(spec, gpu_count, is_grpo)
    method = plan_method(spec, is_grpo, layout)
    notices += method.notices
    if spec.merge_model and not method.uses_peft:
        raise PlanError(
            f"--merge-model has nothing to merge: --method {method.method} saves the whole model, not a LoRA adapter.",
            "Drop --merge-model, or train with --method lora or --method qlora.",
        )

    rewards = RewardPlan(funcs=[])
    prompt: str | None = None
    num_generations: int | None = None
    if is_grpo:
        rewards = plan_rewards(spec)
        notices += rewards.notices
        prompt = system_prompt(spec)
        num_generations, notice = resolve_num_generations(
            spec.num_generations, spec.per_device_train_batch_size, layout.num_processes, spec.gradient_accumulation_steps
        )
        if notice:
            notices.append(notice)
    else:
        ignored = _ignored_grpo_options(spec)
        if ignored:
            notices.append(f"GRPO-only options are ignored for SFT: {', '.join(ignored)}.")

    chat = resolve_chat_template(spec, facts, prompt, sample_completion(spec))
    notices += chat.notices
    if chat.prefills_reasoning and rewards.uses_tags:
        notices.append(
            f"The chat template opens {spec.reasoning_tag!r} in the generation prompt, so completions never "
            "contain it and the format rewards score 0."
        )

    quoted_dependencies = validate_dependencies(spec.custom_dependencies)
    secrets = ["HF_TOKEN", *check_report_to(spec.report_to, settings.get("WANDB_API_KEY"))]
    pins = stack_pins(spec)

    dataset_name, dataset_config, prompt_column, default_dataset = dataset_choice(spec, is_grpo)
    if not default_dataset and Path(dataset_name).exists():
        _check_local_columns(dataset_name, spec, prompt_column, rewards.funcs if is_grpo else None)
    if default_dataset:
        notices.append(
            f"--dataset-name not set: using {dataset_name}"
            + (f" ({dataset_config})" if dataset_config else "")
            + (f" with prompt column {prompt_column!r}." if is_grpo else ".")
        )

    inputs = RecipeInputs(
        layout=layout,
        method=method,
        hub_model_id=default_hub_model_id(spec, facts, kind),
        output_dir=default_output_dir(spec, kind),
        num_generations=num_generations,
        reward_funcs=tuple(rewards.funcs),
        reward_weights=tuple(rewards.weights) if rewards.weights is not None else None,
        system_prompt=prompt,
        chat_template=chat.template,
        server_port=server_port(spec),
    )
    recipe = build_recipe(spec, facts, inputs, is_grpo)
    check_recipe_keys(recipe, kind)

    extras, imports = _setup_needs(spec, method, layout)
    expected_versions = {
        "vllm": pins.vllm,
        "torch": pins.torch,
        "trl": pins.trl,
        "transformers": pins.transformers,
        "accelerate": pins.accelerate,
        "deepspeed": pins.deepspeed,
    }
    merged_repo = f"{inputs.hub_model_id}-merged"
    planned = _render_files(
        spec, kind, pins, layout, method, recipe, extras, imports, quoted_dependencies, secrets, inputs, merged_repo,
        expected_versions, settings.get("HF_ENDPOINT"),
    )

    summary: dict[str, Any] = {
        "trainer": f"openr1-{kind}",
        "method": method.method,
        "zero_stage": method.zero_stage,
        "gpu_count": gpu_count,
        "layout": layout.describe(),
        "num_processes": layout.num_processes,
        "generation": layout.backend if is_grpo else None,
        "num_generations": num_generations,
        "reward_funcs": rewards.funcs,
        "reward_weights": rewards.weights,
        "chat_template": chat.source,
        "dataset": dataset_name,
        "hub_model_id": inputs.hub_model_id,
        "merged_hub_model_id": merged_repo if spec.merge_model else None,
        "output_dir": inputs.output_dir,
        "pins": pins.as_dict(),
        "recipe_checked_against": f"trl {trl_fields()['trl_version']}",
        "files": [item.path for item in planned],
    }
    planned.append(files.manifest({key: value for key, value in summary.items() if key != "files"}))
    summary["files"].append(files.MANIFEST)
    return TrainerPlan(
        trainer=f"openr1-{kind}",
        files=planned,
        setup_script=None if spec.skip_setup else files.SETUP_SCRIPT,
        launch_script=files.LAUNCH_SCRIPT,
        notices=notices,
        summary=summary,
        secrets=secrets,
    )


def _render_files(
    spec: RunSpec,
    kind: Kind,
    pins: StackPins,
    layout: GpuLayout,
    method: MethodPlan,
    recipe: dict[str, Any],
    extras: list[str],
    imports: list[str],
    quoted_dependencies: list[str],
    secrets: list[str],
    inputs: RecipeInputs,
    merged_repo: str,
    expected_versions: dict[str, str],
    hf_endpoint: str | None = None,
) -> list[PlannedFile]:
    shell = files.shell_context(pins, spec.debug_remote)
    environment: dict[str, str] = {}
    if hf_endpoint and hf_endpoint.rstrip("/") != "https://huggingface.co":
        # The Pod talks to the same Hub as the checks did (a mirror or a private Hub).
        environment["HF_ENDPOINT"] = hf_endpoint.rstrip("/")
    if spec.nccl_p2p_disable:
        environment["NCCL_P2P_DISABLE"] = "1"
    if spec.nccl_ib_disable:
        environment["NCCL_IB_DISABLE"] = "1"
    if "WANDB_API_KEY" in secrets:
        environment["WANDB_PROJECT"] = spec.project

    planned = [
        PlannedFile(
            path=files.RECIPE,
            content=files.recipe_yaml(
                recipe, f"Open R1 {kind.upper()} recipe for {spec.repo_id}, generated by podsmith for TRL {pins.trl}."
            ),
        ),
        PlannedFile(
            path=files.ACCELERATE_CONFIG,
            content=files.render(
                "accelerate.yaml.j2",
                num_processes=layout.num_processes,
                zero_stage=method.zero_stage,
                mixed_precision="bf16" if spec.torch_dtype == "bfloat16" else "no",
            ),
        ),
        *files.stack_files(pins, expected_versions, imports),
    ]
    if not spec.skip_setup:
        planned.append(
            PlannedFile(
                path=files.SETUP_SCRIPT,
                mode=0o755,
                content=files.render(
                    "setup.sh.j2",
                    **shell,
                    extras=extras,
                    flash_attn=FLASH_ATTN_VERSION if spec.attn_implementation == "flash_attention_2" else None,
                    custom_dependencies=quoted_dependencies,
                ),
            )
        )
    server = _server_context(spec, layout)
    planned.append(
        PlannedFile(
            path=files.LAUNCH_SCRIPT,
            mode=0o755,
            content=files.render(
                "launch.sh.j2",
                **shell,
                kind=kind,
                layout_text=layout.describe(),
                check_stack=spec.skip_setup,
                environment=environment,
                secrets=secrets,
                gpu_count=layout.gpu_count,
                server=server,
                train_gpus=",".join(str(gpu) for gpu in layout.train_gpus),
                num_processes=layout.num_processes,
                merge=spec.merge_model,
            ),
        )
    )
    if spec.merge_model:
        planned.append(
            PlannedFile(
                path=files.MERGE_SCRIPT,
                content=files.render(
                    "merge.py.j2",
                    output_dir=inputs.output_dir,
                    merged_dir=f"{inputs.output_dir}-merged",
                    merged_repo=merged_repo,
                    push=spec.push_to_hub,
                    private=not spec.public,
                    trust_remote_code=spec.trust_remote_code,
                ),
            )
        )
    return planned
