"""Choices for a TRL run: device, training method, ZeRO stage, vLLM, output names, options SFT ignores."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from podsmith_core.errors import PlanError
from podsmith_core.models import ModelFacts, RunSpec


@dataclass
class Hardware:
    """Device and parallel layout the recipe is rendered for; `gpu_count` 0 means a CPU run."""

    use_cpu: bool
    gpu_count: int
    num_processes: int
    zero_stage: int
    method: str
    use_vllm: bool
    vllm_server: bool
    dtype: str
    attn_implementation: str
    notices: list[str] = field(default_factory=list)


def is_cpu_run(spec: RunSpec) -> bool:
    """Return whether training runs on a CPU: asked for, or the local provider on a machine without GPUs."""
    if spec.gpu_count == 0 or (spec.gpu_type or "").lower() == "cpu":
        return True
    if spec.provider == "local" and spec.gpu_count is None:
        from podsmith_core.providers.local import local_gpus

        return not local_gpus()
    return False


def choose_method(spec: RunSpec, use_cpu: bool, notices: list[str]) -> str:
    """Return full, lora or qlora. Unless requested, GRPO trains fully and SFT uses QLoRA (LoRA on a CPU)."""
    if spec.method is not None:
        if spec.method == "qlora" and use_cpu:
            raise PlanError(
                "--method qlora needs a GPU: bitsandbytes 4-bit loading does not run on a CPU.",
                "Use --method lora on a CPU.",
            )
        return spec.method
    if spec.is_grpo:
        return "full"
    if use_cpu:
        notices.append("SFT uses LoRA on a CPU because QLoRA's 4-bit loading needs a GPU.")
        return "lora"
    return "qlora"


def choose_zero_stage(spec: RunSpec, method: str, use_cpu: bool, gpu_count: int, notices: list[str]) -> int:
    """Return the DeepSpeed ZeRO stage: none on a CPU or one GPU unless asked, never 3 with 4-bit loading."""
    if use_cpu:
        if spec.deepspeed_stage:
            notices.append(f"--deepspeed-stage {spec.deepspeed_stage} is ignored on a CPU: DeepSpeed needs GPUs.")
        return 0
    stage = spec.deepspeed_stage
    if stage is None:
        if gpu_count <= 1:
            return 0
        stage = 3 if method == "full" else 2
    if stage == 3 and method == "qlora":
        notices.append(
            "ZeRO-2 used instead of ZeRO-3 because 4-bit loading (QLoRA) passes a device_map, "
            "which DeepSpeed ZeRO-3 does not accept."
        )
        return 2
    return stage


def choose_hardware(spec: RunSpec) -> Hardware:
    """Decide device, method, ZeRO stage and the vLLM layout, raising PlanError for layouts that cannot run."""
    notices: list[str] = []
    use_cpu = is_cpu_run(spec)
    gpu_count = 0 if use_cpu else (spec.gpu_count or 1)
    method = choose_method(spec, use_cpu, notices)
    zero_stage = choose_zero_stage(spec, method, use_cpu, gpu_count, notices)

    use_vllm = spec.is_grpo and spec.use_vllm
    if use_vllm and use_cpu:
        notices.append("vLLM is off on a CPU; completions are generated with transformers.")
        use_vllm = False
    if use_vllm and method == "qlora":
        raise PlanError(
            "--method qlora cannot be combined with vLLM generation: vLLM cannot load the 4-bit weights it syncs.",
            "Pass --no-vllm, or use --method lora.",
        )

    vllm_server = use_vllm and spec.vllm_mode == "server"
    num_processes = max(gpu_count, 1)
    if vllm_server:
        if gpu_count < spec.vllm_server_gpus + 1:
            raise PlanError(
                f"--vllm-mode server needs a GPU for training besides the {spec.vllm_server_gpus} vLLM GPU(s); "
                f"the run has {gpu_count if spec.gpu_count else 'an unset number of'} GPU(s).",
                f"Pass --gpu-count {spec.vllm_server_gpus + 1} or more, or --vllm-mode colocate.",
            )
        num_processes = gpu_count - spec.vllm_server_gpus

    dtype = spec.torch_dtype
    attn = spec.attn_implementation
    if use_cpu:
        dtype = "float32"
        if attn.startswith("flash_attention"):
            notices.append(f"--attn-implementation {attn} needs a GPU; sdpa is used on a CPU.")
            attn = "sdpa"
    return Hardware(
        use_cpu=use_cpu,
        gpu_count=gpu_count,
        num_processes=num_processes,
        zero_stage=zero_stage,
        method=method,
        use_vllm=use_vllm,
        vllm_server=vllm_server,
        dtype=dtype,
        attn_implementation=attn,
        notices=notices,
    )


def model_basename(repo_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", repo_id.rstrip("/").split("/")[-1]) or "model"


def choose_hub_model_id(spec: RunSpec, facts: ModelFacts | None, method: str) -> str | None:
    """Return the repository to push to: the user's, the Hub plugin's default, or USER/<model>-<method>."""
    if not spec.push_to_hub:
        return None
    # The Hub plugin's value is already resolved: a bare name gets the token owner's namespace.
    if facts is not None and facts.hub_model_id:
        return facts.hub_model_id
    if spec.hub_model_id:
        if "/" not in spec.hub_model_id and facts is not None and facts.token_user:
            return f"{facts.token_user}/{spec.hub_model_id}"
        return spec.hub_model_id
    suffix = f"{model_basename(spec.repo_id)}-{method}"
    if facts is not None and facts.token_user:
        return f"{facts.token_user}/{suffix}"
    return suffix


def choose_output_dir(spec: RunSpec, trainer_method: str) -> str:
    """Return the output directory, relative to the Pod workspace unless the user gave an absolute path."""
    if spec.output_dir:
        return spec.output_dir
    return f"outputs/{model_basename(spec.repo_id)}-{trainer_method}"


# RunSpec fields that only trl-grpo reads, with the flag that sets each. trl-sft also leaves the dataset as it is,
# so the dataset preparation options count here too.
GRPO_ONLY_OPTIONS = {
    "num_generations": "--num-generations",
    "reward_funcs": "--reward-funcs",
    "reward_weights": "--reward-weights",
    "beta": "--beta",
    "use_vllm": "--no-vllm",
    "vllm_mode": "--vllm-mode",
    "vllm_server_gpus": "--vllm-server-gpus",
    "vllm_gpu_memory_utilization": "--vllm-gpu-memory-utilization",
    "reasoning_tag": "--reasoning-tag",
    "reasoning_end_tag": "--reasoning-end-tag",
    "answer_tag": "--answer-tag",
    "answer_end_tag": "--answer-end-tag",
    "system_prompt": "--system-prompt",
    "dataset_prompt_column": "--dataset-prompt-column",
    "dataset_fraction": "--dataset-fraction",
    "dataset_seed": "--dataset-seed",
}


def ignored_grpo_options(spec: RunSpec) -> list[str]:
    """Return the flags of GRPO-only options whose values differ from the RunSpec defaults."""
    fields = RunSpec.model_fields
    return [
        flag
        for name, flag in GRPO_ONLY_OPTIONS.items()
        if getattr(spec, name) != fields[name].get_default(call_default_factory=True)
    ]
