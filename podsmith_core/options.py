"""Command-line options shared by `run`, `plan` and `check`, and their conversion into a RunSpec.

The original tool's flag names are kept (`--repo-id`, `--gpu-count`, `--sft`, `--image`, `--skip-setup`,
`--no-vllm`, ...). Only click is imported here so that `podsmith --help` stays fast.
"""

from __future__ import annotations

from typing import Any, Callable

import click

GPU_COUNTS = ("0", "1", "2", "4", "6", "8")


def _options(repo_id_required: bool) -> list[Callable]:
    o = click.option
    return [
        o("--repo-id", required=repo_id_required,
          help="Base model: org/name, org/name@revision, a Hub URL, or a local directory."),
        o("--trainer", default="openr1-grpo", show_default=True, help="Trainer plugin (see `podsmith plugins`)."),
        o("--provider", default="runpod", show_default=True, help="Provider plugin: runpod, local, ssh, ..."),
        o("--sft", is_flag=True, help="Supervised fine-tuning: selects the trainer's -sft variant."),
        o("--project", default="podsmith", show_default=True, help="Project name sent with every event."),
        o("--env-file", type=click.Path(dir_okay=False), help="Read settings from this file instead of ./.env."),
        o("--host", help="For --provider ssh: the machine as user@host[:port]."),
        # GPU choice
        o("--gpu-count", type=click.Choice(GPU_COUNTS), help="GPUs per Pod (1, 2, 4, 6, 8; 0 trains on the CPU of a local or ssh machine); chosen from the estimate when omitted."),
        o("--gpu-type", help="Force one GPU type by provider id, e.g. 'NVIDIA H100 80GB HBM3'."),
        o("--gpu-policy", type=click.Choice(["prefer", "cheapest"]), default="prefer", show_default=True,
          help="prefer: L40S, then A100 SXM, then H100 SXM; cheapest: lowest $/h that fits."),
        o("--cloud-type", type=click.Choice(["ALL", "SECURE", "COMMUNITY"]), default="ALL", show_default=True,
          help="Runpod cloud: SECURE data centers, COMMUNITY hosts, or ALL."),
        o("--max-price", "max_price_per_hour", type=float, help="Maximum price of the Pod in $/h."),
        # Pod
        o("--image", help="Container image of the Pod."),
        o("--skip-setup", is_flag=True, help="Skip installing the training stack (the image has it)."),
        o("--volume-gb", type=click.IntRange(10, 10000), default=300, show_default=True, help="Volume size in GB."),
        o("--container-disk-gb", type=click.IntRange(5, 2000), default=50, show_default=True,
          help="Container disk in GB (the volume holds models and caches)."),
        o("--ssh-timeout-min", type=click.FloatRange(0.1, 120), default=20.0, show_default=True,
          help="Minutes to wait for the Pod's SSH port."),
        o("--keep-pod", is_flag=True, help="Keep the Pod after the run, also after Ctrl-C (you pay until `podsmith down`)."),
        # Method
        o("--method", type=click.Choice(["full", "lora", "qlora"]), help="Fine-tuning method (trainer default when omitted)."),
        o("--deepspeed-stage", type=click.Choice(["0", "2", "3"]), help="DeepSpeed ZeRO stage (0 = DDP)."),
        o("--shard-model", is_flag=True, help="Full fine-tuning sharded with ZeRO-3."),
        o("--no-gradient-checkpointing", is_flag=True, help="Turn gradient checkpointing off (faster, more memory)."),
        o("--attn-implementation", default="sdpa", show_default=True, help="sdpa, eager or flash_attention_2."),
        o("--lora-r", type=click.IntRange(1, 1024), default=16, show_default=True, help="LoRA rank."),
        o("--lora-alpha", type=click.IntRange(1, 4096), default=32, show_default=True, help="LoRA scaling alpha."),
        o("--lora-target-modules", help="Comma-separated module names, or all-linear."),
        o("--beta", type=float, default=0.0, show_default=True, help="GRPO KL coefficient (a reference model when > 0)."),
        # Data and hyperparameters
        o("--dataset-name", help="Dataset on the Hub (org/name) or a local directory."),
        o("--dataset-config", help="Dataset configuration (subset) name."),
        o("--dataset-train-split", default="train", show_default=True, help="Split used for training."),
        o("--dataset-prompt-column", default="prompt", show_default=True, help="GRPO: column with the prompt."),
        o("--dataset-fraction", type=click.FloatRange(0, 1, min_open=True), default=1.0, show_default=True,
          help="Fraction of the training split to use."),
        o("--dataset-seed", type=int, default=42, show_default=True, help="Seed for sampling --dataset-fraction."),
        o("--num-train-epochs", type=click.FloatRange(0, min_open=True), default=1.0, show_default=True,
          help="Training epochs (--max-steps wins when set)."),
        o("--max-steps", type=int, default=-1, show_default=True, help="Stop after this many steps (-1: epochs decide)."),
        o("--per-device-train-batch-size", "--batch-size", type=click.IntRange(1), default=1, show_default=True,
          help="Micro-batch per training process."),
        o("--gradient-accumulation-steps", type=click.IntRange(1), default=4, show_default=True,
          help="Micro-batches per optimizer step."),
        o("--learning-rate", type=click.FloatRange(0, min_open=True), default=1e-6, show_default=True,
          help="Peak learning rate."),
        o("--max-prompt-length", type=click.IntRange(1), default=512, show_default=True,
          help="Prompt tokens (SFT: max length is prompt + completion)."),
        o("--max-completion-length", type=click.IntRange(1), default=1024, show_default=True,
          help="Completion tokens generated (GRPO) or kept (SFT)."),
        o("--num-generations", type=click.IntRange(1), help="GRPO completions per prompt (16, adjusted, when omitted)."),
        o("--save-steps", type=click.IntRange(1), default=500, show_default=True, help="Steps between checkpoints."),
        o("--seed", type=int, default=42, show_default=True, help="Training seed."),
        # GRPO generation and rewards
        o("--no-vllm", is_flag=True, help="GRPO: generate with transformers instead of vLLM."),
        o("--vllm-server-gpus", type=click.IntRange(1, 7), default=1, show_default=True,
          help="GRPO server mode: GPUs given to `trl vllm-serve`; training uses the rest."),
        o("--tensor-parallel-size", type=click.IntRange(1, 8), default=1, show_default=True,
          help="vLLM tensor parallel size in server mode."),
        o("--nccl-p2p-disable", is_flag=True, help="Set NCCL_P2P_DISABLE=1 (a common fix for NCCL hangs)."),
        o("--nccl-ib-disable", is_flag=True, help="Set NCCL_IB_DISABLE=1."),
        o("--vllm-mode", type=click.Choice(["colocate", "server"]), default="colocate", show_default=True,
          help="GRPO: vLLM shares the training GPUs (colocate) or runs on its own GPU (server, needs 2+ GPUs)."),
        o("--vllm-gpu-memory-utilization", type=click.FloatRange(0.05, 0.95), default=0.3, show_default=True,
          help="GRPO colocate: fraction of each GPU vLLM reserves."),
        o("--reasoning-tag", default="<think>", show_default=True, help="GRPO: tag that opens the reasoning."),
        o("--reasoning-end-tag", default="</think>", show_default=True, help="GRPO: tag that closes the reasoning."),
        o("--answer-tag", help="Enable answer tags, e.g. '<answer>'."),
        o("--answer-end-tag", help="e.g. '</answer>'."),
        o("--reward-funcs", help="Comma-separated reward functions (the trainer's default set when omitted)."),
        o("--reward-weights", help="Comma-separated weights, one per reward function."),
        o("--system-prompt", help="GRPO: system message put before each prompt."),
        # Chat template, setup, output
        o("--chat-template", type=click.Path(), help="Chat template FILE for models without one."),
        o("--custom-dependencies", help="Extra pip requirements for the Pod, comma-separated."),
        o("--transformers-version", help="Pin transformers on the Pod."),
        o("--report-to", default="none", show_default=True, help="none, wandb or tensorboard."),
        o("--hub-model-id", help="Target repo for the result (bare name → your namespace)."),
        o("--no-push", is_flag=True, help="Train without pushing to the Hub."),
        o("--public", is_flag=True, help="Make the pushed repo public (private by default)."),
        o("--merge-model", is_flag=True, help="After LoRA/QLoRA, push the merged model to <hub id>-merged."),
        o("--output-dir", help="Output directory on the Pod."),
        o("--trust-remote-code", is_flag=True, help="Allow the model's own code from the Hub to run on the Pod."),
        o("--debug-remote", is_flag=True, help="Trace the remote scripts (set -x); secret lines are never traced."),
        o("--discord-webhook-url", help="Discord webhook URL (or DISCORD_WEBHOOK_URL)."),
        o("--opt", "options", multiple=True, help="key=value for third-party plugins; repeatable."),
    ]


def run_options(function: Callable) -> Callable:
    for option in reversed(_options(repo_id_required=True)):
        function = option(function)
    return function


def check_options(function: Callable) -> Callable:
    """Add the options of `run` with --repo-id optional: without it, `check` shows only the settings."""
    for option in reversed(_options(repo_id_required=False)):
        function = option(function)
    return function


def _split(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [item.strip() for item in value.split(",") if item.strip()]


def _sft_trainer(trainer: str) -> str:
    from podsmith_core.errors import UsageError

    if trainer.endswith("-sft"):
        return trainer
    if trainer.endswith("-grpo"):
        return trainer[: -len("-grpo")] + "-sft"
    raise UsageError(f"--sft has no SFT variant of trainer {trainer!r}.", "Pass an -sft trainer with --trainer.")


def _zero_stage(stage: str | None, shard: bool) -> int | None:
    """Return the ZeRO stage: as given, 3 for --shard-model, otherwise None (the trainer decides)."""
    if stage is not None:
        return int(stage)
    return 3 if shard else None


def build_spec(params: dict[str, Any]):
    """Turn parsed options into a validated RunSpec; invalid values raise UsageError naming the option."""
    from pydantic import ValidationError

    from podsmith_core.errors import UsageError
    from podsmith_core.models import RunSpec

    params = dict(params)
    for key in ("env_file", "discord_webhook_url"):
        params.pop(key, None)
    trainer = params["trainer"]
    if params.pop("sft"):
        trainer = _sft_trainer(trainer)
    weights = _split(params.pop("reward_weights"))
    try:
        reward_weights = [float(weight) for weight in weights] if weights else None
    except ValueError as exc:
        raise UsageError(f"Invalid --reward-weights {weights!r}: {exc}.", "Pass numbers separated by commas.") from exc
    options: dict[str, str] = {}
    for item in params.pop("options"):
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"Invalid --opt {item!r}.", "Write it as key=value.")
        options[key] = value
    shard = params["shard_model"]
    stage = params.pop("deepspeed_stage")
    flags = {name: params.pop(name) for name in ("no_gradient_checkpointing", "no_vllm", "no_push")}
    values = {
        **params,
        "trainer": trainer,
        "gpu_count": int(params["gpu_count"]) if params["gpu_count"] is not None else None,
        "deepspeed_stage": _zero_stage(stage, shard),
        "method": params["method"] or ("full" if shard else None),
        "gradient_checkpointing": not flags["no_gradient_checkpointing"],
        "use_vllm": not flags["no_vllm"],
        "push_to_hub": not flags["no_push"],
        "lora_target_modules": _split(params["lora_target_modules"]),
        "reward_funcs": _split(params["reward_funcs"]),
        "reward_weights": reward_weights,
        "custom_dependencies": _split(params["custom_dependencies"]) or [],
        "options": options,
    }
    try:
        return RunSpec(**values)
    except ValidationError as exc:
        error = exc.errors()[0]
        field = "--" + str(error["loc"][0]).replace("_", "-")
        raise UsageError(
            f"Invalid {field} {error.get('input')!r}: {error['msg']}.",
            f"Pass a valid {field}; `podsmith run --help` lists the accepted values.",
        ) from exc


def cli_settings(params: dict[str, Any]) -> dict[str, str | None]:
    """Return settings given as options, which rank above `.env` and the environment."""
    return {"DISCORD_WEBHOOK_URL": params.get("discord_webhook_url")}
