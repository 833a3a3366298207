"""The Open R1 recipe (the YAML passed with `--config`) for GRPO and SFT, built from the run spec."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from podsmith_core.models import ModelFacts, RunSpec

from podsmith_openr1.layout import GpuLayout
from podsmith_openr1.method import MethodPlan

# Used when --dataset-name is not given: a math set with `problem` and `solution` columns for GRPO, and a
# chat set with a `messages` column for SFT.
DEFAULT_GRPO_DATASET = ("open-r1/OpenR1-Math-220k", "default", "problem")
DEFAULT_SFT_DATASET = ("open-r1/Mixture-of-Thoughts", "math")

VLLM_SERVER_HOST = "127.0.0.1"
VLLM_SERVER_PORT = 8000


@dataclass(frozen=True)
class RecipeInputs:
    """Decisions made before the recipe is written: layout, method, rewards, prompt, template, names."""

    layout: GpuLayout
    method: MethodPlan
    hub_model_id: str
    output_dir: str
    num_generations: int | None = None
    reward_funcs: tuple[str, ...] = ()
    reward_weights: tuple[float, ...] | None = None
    system_prompt: str | None = None
    chat_template: str | None = None
    server_port: int = VLLM_SERVER_PORT


def model_short_name(repo_id: str) -> str:
    return repo_id.rstrip("/").split("/")[-1]


def default_hub_model_id(spec: RunSpec, facts: ModelFacts | None, kind: str) -> str:
    """Return the Hub plugin's resolved id, --hub-model-id, or `<model>-openr1-<kind>` under the token owner."""
    # The Hub plugin's value is already resolved: a bare name gets the token owner's namespace.
    if facts is not None and facts.hub_model_id:
        return facts.hub_model_id
    if spec.hub_model_id:
        if "/" not in spec.hub_model_id and facts is not None and facts.token_user:
            return f"{facts.token_user}/{spec.hub_model_id}"
        return spec.hub_model_id
    return f"{model_short_name(spec.repo_id)}-openr1-{kind}"


def default_output_dir(spec: RunSpec, kind: str) -> str:
    """Return --output-dir or `output/<model>-<kind>`, relative to the Pod workspace (the job's directory)."""
    return spec.output_dir or f"output/{model_short_name(spec.repo_id)}-openr1-{kind}"


def dataset_choice(spec: RunSpec, is_grpo: bool) -> tuple[str, str | None, str, bool]:
    """Return (dataset id, config, prompt column, whether the default dataset is used)."""
    if spec.dataset_name:
        from podsmith_trl.local_dataset import resolve_dataset_path

        # Open R1 runs in the Pod workspace, so a local path relative to this directory must become absolute.
        name = resolve_dataset_path(spec.dataset_name) or spec.dataset_name
        return name, spec.dataset_config, spec.dataset_prompt_column, False
    if is_grpo:
        name, config, column = DEFAULT_GRPO_DATASET
        return name, config, column, True
    name, config = DEFAULT_SFT_DATASET
    return name, config, spec.dataset_prompt_column, True


def _dataset_mixture(spec: RunSpec, name: str, config: str | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": name, "split": spec.dataset_train_split}
    if config:
        entry["config"] = config
    # Open R1 subsamples a dataset to `weight` × its length after shuffling with the mixture seed.
    entry["weight"] = spec.dataset_fraction
    return {"datasets": [entry], "seed": spec.dataset_seed}


def _model_section(spec: RunSpec, inputs: RecipeInputs) -> dict[str, Any]:
    section: dict[str, Any] = {
        "model_name_or_path": spec.repo_id,
        "torch_dtype": spec.torch_dtype,
        "attn_implementation": spec.attn_implementation,
        "trust_remote_code": spec.trust_remote_code,
    }
    if spec.revision:
        section["model_revision"] = spec.revision
    if inputs.method.uses_peft:
        section.update(
            {
                "use_peft": True,
                "lora_r": spec.lora_r,
                "lora_alpha": spec.lora_alpha,
                "lora_dropout": spec.lora_dropout,
                "lora_target_modules": spec.lora_target_modules or "all-linear",
            }
        )
    if inputs.method.method == "qlora":
        section.update({"load_in_4bit": True, "bnb_4bit_quant_type": "nf4", "use_bnb_nested_quant": True})
    return section


def _training_section(spec: RunSpec, inputs: RecipeInputs) -> dict[str, Any]:
    report_to = [item.strip() for item in spec.report_to.split(",") if item.strip()] or ["none"]
    section: dict[str, Any] = {
        "output_dir": inputs.output_dir,
        "overwrite_output_dir": True,
        "num_train_epochs": spec.num_train_epochs,
        "max_steps": spec.max_steps,
        "per_device_train_batch_size": spec.per_device_train_batch_size,
        "gradient_accumulation_steps": spec.gradient_accumulation_steps,
        "learning_rate": spec.learning_rate,
        "lr_scheduler_type": "cosine",
        "warmup_ratio": 0.1,
        "optim": spec.optimizer,
        "gradient_checkpointing": spec.gradient_checkpointing,
        "gradient_checkpointing_kwargs": {"use_reentrant": False},
        "bf16": spec.torch_dtype == "bfloat16",
        "seed": spec.seed,
        "logging_steps": spec.logging_steps,
        "logging_first_step": True,
        "save_strategy": "steps",
        "save_steps": spec.save_steps,
        # Checkpoints with DeepSpeed optimizer state can exceed 100 GB: keep one, weights only.
        "save_total_limit": 1,
        "save_only_model": True,
        "report_to": report_to,
        "push_to_hub": spec.push_to_hub,
        "hub_model_id": inputs.hub_model_id,
        "hub_private_repo": not spec.public,
    }
    return section


def build_recipe(spec: RunSpec, facts: ModelFacts | None, inputs: RecipeInputs, is_grpo: bool) -> dict[str, Any]:
    """Return the recipe as a dict whose keys are fields of the pinned Open R1 / TRL 0.18 dataclasses."""
    name, config, prompt_column, _default = dataset_choice(spec, is_grpo)
    recipe: dict[str, Any] = {}
    recipe.update(_model_section(spec, inputs))
    # A mixture always yields one split named "train", whatever split each dataset is read from.
    recipe["dataset_mixture"] = _dataset_mixture(spec, name, config)
    recipe["dataset_train_split"] = "train"
    if inputs.chat_template is not None:
        recipe["chat_template"] = inputs.chat_template
    recipe.update(_training_section(spec, inputs))

    if is_grpo:
        recipe.update(_grpo_section(spec, inputs, prompt_column))
    else:
        # TRL 0.18 names the SFT sequence limit `max_length`, and `max_seq_length` is a deprecated alias.
        recipe["max_length"] = spec.max_prompt_length + spec.max_completion_length
    return recipe


def _grpo_section(spec: RunSpec, inputs: RecipeInputs, prompt_column: str) -> dict[str, Any]:
    layout = inputs.layout
    section: dict[str, Any] = {
        "dataset_prompt_column": prompt_column,
        "system_prompt": inputs.system_prompt,
        "reward_funcs": list(inputs.reward_funcs),
        "num_generations": inputs.num_generations,
        "max_prompt_length": spec.max_prompt_length,
        "max_completion_length": spec.max_completion_length,
        "beta": spec.beta,
        "use_vllm": layout.use_vllm,
        "log_completions": True,
    }
    if inputs.reward_weights is not None:
        section["reward_weights"] = list(inputs.reward_weights)
    if layout.backend == "colocate":
        # vllm_mode is always written: its default changed between TRL releases.
        section.update(
            {
                "vllm_mode": "colocate",
                "vllm_gpu_memory_utilization": spec.vllm_gpu_memory_utilization,
                "vllm_tensor_parallel_size": layout.tensor_parallel_size,
            }
        )
    elif layout.backend == "server":
        section.update(
            {
                "vllm_mode": "server",
                "vllm_server_host": VLLM_SERVER_HOST,
                "vllm_server_port": inputs.server_port,
                "vllm_server_timeout": 900,
            }
        )
    return section
