"""A rough training-time estimate, used only to show an estimated cost next to each GPU candidate.

Time = training FLOPs / (the card's dense bf16 throughput × 35% utilization). Training FLOPs per token are
6 × params for full fine-tuning and 4 × params with LoRA/QLoRA (no weight gradients), plus 2 × params
when gradient checkpointing recomputes the forward pass. GRPO runs are multiplied by 3 for generation and
scoring. Only runs with `max_steps` set get an estimate: the dataset size is not known before the run.
"""

from __future__ import annotations

from podsmith_core.models import MemoryEstimate, RunSpec

UTILIZATION = 0.35
GRPO_FACTOR = 3.0

# Dense bf16 tensor throughput from the vendors' data sheets (without sparsity), in TFLOP/s.
BF16_TFLOPS = {
    "NVIDIA L40S": 362,
    "NVIDIA A40": 150,
    "NVIDIA A100-SXM4-80GB": 312,
    "NVIDIA A100 80GB PCIe": 312,
    "NVIDIA A100-SXM4-40GB": 312,
    "NVIDIA H100 80GB HBM3": 989,
    "NVIDIA H100 PCIe": 756,
    "NVIDIA H100 NVL": 835,
    "NVIDIA H200": 989,
    "NVIDIA B200": 2250,
    "NVIDIA RTX A6000": 155,
    "NVIDIA RTX 6000 Ada Generation": 364,
    "NVIDIA GeForce RTX 4090": 165,
    "NVIDIA L4": 121,
}
DEFAULT_TFLOPS = 150


def estimate_duration_s(spec: RunSpec, params: int, estimate: MemoryEstimate, gpu_type_id: str) -> float | None:
    """Seconds for `spec.max_steps` optimizer steps, or None when the step count is unknown."""
    if spec.max_steps <= 0 or params <= 0:
        return None
    training_gpus = max(estimate.training_gpus or estimate.gpu_count, 1)
    seq_len = spec.max_prompt_length + spec.max_completion_length
    tokens = spec.max_steps * spec.per_device_train_batch_size * spec.gradient_accumulation_steps * training_gpus * seq_len

    flops_per_token = 6 if estimate.method == "full" else 4
    if spec.gradient_checkpointing:
        flops_per_token += 2
    flops = flops_per_token * params * tokens
    if spec.is_grpo:
        flops *= GRPO_FACTOR

    throughput = BF16_TFLOPS.get(gpu_type_id, DEFAULT_TFLOPS) * 1e12 * UTILIZATION * training_gpus
    return flops / throughput
