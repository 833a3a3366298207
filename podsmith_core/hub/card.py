"""Model cards for the repositories podsmith pushes, rendered from `templates/hub/model_card.md.j2`."""

from __future__ import annotations

from typing import Any

from podsmith_core.hub.checks import is_local_dataset
from podsmith_core.hub.client import DEFAULT_ENDPOINT
from podsmith_core.hub.repo_ids import merged_repo_id, method_of
from podsmith_core.models import ModelFacts, RunSpec

__all__ = ["merged_repo_id", "podsmith_version", "render_model_card"]

METHOD_TITLES = {"grpo": "GRPO (Group Relative Policy Optimization)", "sft": "supervised fine-tuning (SFT)"}


def podsmith_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("podsmith")
    except PackageNotFoundError:
        return "unknown"


def _hyperparameters(spec: RunSpec) -> list[tuple[str, Any]]:
    method = method_of(spec.trainer)
    rows: list[tuple[str, Any]] = [
        ("training method", spec.method or "full"),
        ("learning rate", spec.learning_rate),
        ("epochs", spec.num_train_epochs),
    ]
    if spec.max_steps > 0:
        rows.append(("max steps", spec.max_steps))
    rows += [
        ("per-device batch size", spec.per_device_train_batch_size),
        ("gradient accumulation steps", spec.gradient_accumulation_steps),
        ("optimizer", spec.optimizer),
        ("dtype", spec.torch_dtype),
        ("gradient checkpointing", spec.gradient_checkpointing),
    ]
    if spec.deepspeed_stage:
        rows.append(("DeepSpeed ZeRO stage", spec.deepspeed_stage))
    if spec.method in ("lora", "qlora"):
        rows += [("LoRA rank", spec.lora_r), ("LoRA alpha", spec.lora_alpha), ("LoRA dropout", spec.lora_dropout)]
        if spec.lora_target_modules:
            rows.append(("LoRA target modules", ", ".join(spec.lora_target_modules)))
    if method == "grpo":
        rows += [
            ("max prompt length", spec.max_prompt_length),
            ("max completion length", spec.max_completion_length),
            ("generations per prompt", spec.num_generations if spec.num_generations is not None else "trainer default"),
            ("KL coefficient (beta)", spec.beta),
        ]
        if spec.reward_funcs:
            rows.append(("reward functions", ", ".join(spec.reward_funcs)))
    rows.append(("seed", spec.seed))
    return rows


def _front_matter(spec: RunSpec, facts: ModelFacts, base_is_local: bool, dataset_on_hub: bool) -> str:
    import yaml

    method = method_of(spec.trainer)
    metadata: dict[str, Any] = {}
    if not base_is_local:
        metadata["base_model"] = facts.repo_id
    metadata["library_name"] = "peft" if spec.method in ("lora", "qlora") and not spec.merge_model else "transformers"
    if facts.license:
        metadata["license"] = facts.license
    tags = ["podsmith", f"podsmith/{method}", method, "trl"]
    if spec.method in ("lora", "qlora"):
        tags.append(spec.method)
    metadata["tags"] = tags
    if spec.dataset_name and dataset_on_hub:
        metadata["datasets"] = [spec.dataset_name]
    metadata["pipeline_tag"] = "text-generation"
    return yaml.safe_dump(metadata, sort_keys=False, allow_unicode=True)


def render_model_card(
    spec: RunSpec,
    facts: ModelFacts,
    run_id: str,
    hub_model_id: str,
    merged: bool = False,
    endpoint: str = DEFAULT_ENDPOINT,
) -> str:
    """Render the README.md pushed with the trained model; `merged` renders the card of `<id>-merged`."""
    from podsmith_core.templates import render

    method = method_of(spec.trainer)
    base_is_local = facts.local_path is not None
    dataset_on_hub = bool(spec.dataset_name) and not is_local_dataset(spec.dataset_name or "")
    repo_id = merged_repo_id(hub_model_id) if merged else hub_model_id
    card_spec = spec.model_copy(update={"merge_model": merged or spec.merge_model})
    return render(
        "hub/model_card.md.j2",
        front_matter=_front_matter(card_spec if merged else spec, facts, base_is_local, dataset_on_hub),
        hub_model_id=repo_id,
        adapter_repo=hub_model_id,
        merged=merged,
        adapter_only=spec.method in ("lora", "qlora") and not merged,
        base_model=facts.repo_id,
        base_model_name=(facts.local_path or facts.repo_id),
        base_model_local=base_is_local,
        base_revision=facts.revision,
        method_title=METHOD_TITLES.get(method, method),
        dataset=spec.dataset_name,
        dataset_on_hub=dataset_on_hub,
        dataset_config=spec.dataset_config,
        dataset_split=spec.dataset_train_split,
        hyperparameters=_hyperparameters(spec),
        podsmith_version=podsmith_version(),
        run_id=run_id,
        trainer=spec.trainer,
        endpoint=endpoint.rstrip("/"),
    )
