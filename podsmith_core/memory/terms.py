"""Model-state terms: weights, gradients and optimizer states per GPU under DDP and ZeRO stages 1-3.

Byte counts per parameter, mixed precision (bf16 weights with fp32 master weights, as DeepSpeed keeps at
every stage): weights 2, gradients 2, fp32 master copy 4, AdamW's two fp32 moments 8. Pure bf16 training
(no master copy) keeps the moments in the parameter dtype: 2 + 2 + 4. fp32 training: 4 + 4 + 8.
"""

from __future__ import annotations

from dataclasses import dataclass

GB = 1000**3

CUDA_CONTEXT_BYTES = int(0.8 * GB)
NCCL_BYTES = int(0.5 * GB)
DEEPSPEED_BUFFER_BYTES = int(1.0 * GB)
# DeepSpeed's default `sub_group_size`: ZeRO-3 converts gradients to fp32 one sub-group at a time.
ZERO3_SUB_GROUP_PARAMS = 1_000_000_000
FRAGMENTATION = 0.10

# NF4 storage per parameter: 4 bits plus one absmax per 64 weights, fp32 (0.5625 B) or, with double
# quantization, 8-bit absmax plus one fp32 constant per 256 blocks (≈ 0.5157 B).
NF4_BYTES = 0.5 + 4 / 64
NF4_DOUBLE_QUANT_BYTES = 0.5 + 1 / 64 + 4 / (64 * 256)

# Adapter parameters under PEFT are fp32: weight 4, gradient 4, AdamW moments 8.
ADAPTER_BYTES_PER_PARAM = 16


@dataclass(frozen=True)
class StateLayout:
    """Bytes per parameter for each part of the model states."""

    weights: float
    grads: float
    master: float
    optimizer: float

    @property
    def total(self) -> float:
        return self.weights + self.grads + self.master + self.optimizer


def optimizer_state_bytes(optimizer: str, param_bytes: int, master_weights: bool) -> float:
    """Bytes per parameter of the optimizer's moments (AdamW keeps two)."""
    name = optimizer.lower()
    state_dtype = 4 if master_weights or param_bytes == 4 else param_bytes
    if "8bit" in name:
        return 2.0
    if "adafactor" in name:
        # Factored second moment: rows + columns per matrix, a small fraction of one state.
        return 0.25 * state_dtype
    if name.startswith("sgd"):
        return float(state_dtype)
    return 2.0 * state_dtype


def full_layout(param_bytes: int, optimizer: str, master_weights: bool) -> StateLayout:
    master = 4.0 if master_weights and param_bytes < 4 else 0.0
    return StateLayout(
        weights=param_bytes,
        grads=param_bytes,
        master=master,
        optimizer=optimizer_state_bytes(optimizer, param_bytes, master_weights),
    )


@dataclass(frozen=True)
class ModelStates:
    weights: int
    grads: int
    optimizer: int


def shard_states(params: int, layout: StateLayout, stage: int, gpus: int) -> ModelStates:
    """Per-GPU model states: stage 1 shards optimizer states, 2 adds gradients, 3 adds weights."""
    n = max(gpus, 1)
    optimizer = (layout.master + layout.optimizer) * params
    grads = layout.grads * params
    weights = layout.weights * params
    if stage >= 1:
        optimizer /= n
    if stage >= 2:
        grads /= n
    if stage >= 3:
        weights /= n
    return ModelStates(weights=int(weights), grads=int(grads), optimizer=int(optimizer))


def step_gradient_copy(params: int, stage: int, gpus: int, master_weights: bool) -> int:
    """fp32 copy of the gradient partition DeepSpeed makes for the optimizer step (0 without DeepSpeed)."""
    if stage == 0 or not master_weights:
        return 0
    partition = params // max(gpus, 1)
    if stage >= 3:
        partition = min(partition, ZERO3_SUB_GROUP_PARAMS)
    return 4 * partition


def qlora_weight_bytes(linear_params: int, other_params: int, double_quant: bool) -> int:
    """NF4 block linears plus the rest upcast to fp32 by PEFT's `prepare_model_for_kbit_training`."""
    per_param = NF4_DOUBLE_QUANT_BYTES if double_quant else NF4_BYTES
    return int(linear_params * per_param + other_params * 4)


def overhead_bytes(training_gpus: int, stage: int) -> dict[str, int]:
    terms = {"CUDA context": CUDA_CONTEXT_BYTES}
    if training_gpus > 1:
        terms["NCCL buffers"] = NCCL_BYTES
    if stage >= 1:
        terms["DeepSpeed buckets"] = DEEPSPEED_BUFFER_BYTES
    return terms
