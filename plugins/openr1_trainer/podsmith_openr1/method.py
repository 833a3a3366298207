"""Training method (full, LoRA, QLoRA) and the DeepSpeed ZeRO stage, with the rules that tie them together."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from podsmith_core.errors import PlanError
from podsmith_core.models import RunSpec

from podsmith_openr1.layout import GpuLayout

Method = Literal["full", "lora", "qlora"]

QLORA_ZERO3_NOTICE = (
    "ZeRO-2 used instead of ZeRO-3 because QLoRA loads the 4-bit model with a device_map, which DeepSpeed "
    "ZeRO-3 rejects (\"DeepSpeed Zero-3 is not compatible with passing a device_map\")."
)


@dataclass
class MethodPlan:
    method: Method
    zero_stage: Literal[0, 2, 3]
    notices: list[str] = field(default_factory=list)

    @property
    def uses_peft(self) -> bool:
        return self.method in ("lora", "qlora")


def plan_method(spec: RunSpec, is_grpo: bool, layout: GpuLayout) -> MethodPlan:
    """Choose the method and ZeRO stage. SFT defaults to QLoRA as the original tool did, GRPO to full."""
    notices: list[str] = []
    method: Method
    if spec.method is not None:
        method = spec.method
    elif spec.shard_model or is_grpo:
        method = "full"
    else:
        method = "qlora"
        notices.append("SFT uses QLoRA (4-bit base model + LoRA); pass --shard-model for full fine-tuning under ZeRO-3.")

    if spec.shard_model and method == "qlora":
        raise PlanError(
            "--shard-model with --method qlora cannot work: sharding needs ZeRO-3, which rejects the device_map "
            "that 4-bit loading uses.",
            "Drop --shard-model, or pass --method full or --method lora.",
        )
    if spec.shard_model and spec.deepspeed_stage not in (None, 3):
        raise PlanError(
            f"--shard-model needs ZeRO-3, but --deepspeed-stage {spec.deepspeed_stage} was given.",
            "Drop --deepspeed-stage or pass --deepspeed-stage 3.",
        )
    if method == "qlora" and is_grpo and layout.use_vllm:
        raise PlanError(
            "QLoRA (4-bit) cannot be used with vLLM generation in GRPO: the quantized weights cannot be synced "
            "into the vLLM engine.",
            "Pass --no-vllm, or --method lora.",
        )

    stage: Literal[0, 2, 3]
    if spec.shard_model:
        stage = 3
    elif spec.deepspeed_stage is not None:
        stage = spec.deepspeed_stage
    else:
        stage = 2 if method in ("lora", "qlora") else 3

    if method == "qlora" and stage == 3:
        stage = 2
        notices.append(QLORA_ZERO3_NOTICE)
    return MethodPlan(method=method, zero_stage=stage, notices=notices)
