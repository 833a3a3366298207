"""vLLM memory for GRPO generation: the colocated reservation and the needs of a separate server."""

from __future__ import annotations

from podsmith_core.memory.activations import kv_cache_bytes_per_token
from podsmith_core.memory.shape import ModelShape

GB = 1000**3
# vLLM's own CUDA graphs, sampler buffers and activation workspace beside weights and KV cache.
VLLM_OVERHEAD_BYTES = int(1.5 * GB)


def colocate_reservation(utilization: float, card_bytes: int) -> int:
    """vLLM in colocate mode takes `utilization` × the card's total memory when it starts."""
    return int(utilization * card_bytes)


def vllm_need_bytes(
    shape: ModelShape, params: int, dtype_bytes: int, tensor_parallel: int, max_model_len: int, sequences: int
) -> int:
    """Weights split over tensor-parallel GPUs, KV cache for `sequences` full-length sequences, overhead."""
    tp = max(tensor_parallel, 1)
    weights = params * dtype_bytes // tp
    kv = kv_cache_bytes_per_token(shape, dtype_bytes) * max_model_len * max(sequences, 1) // tp
    return weights + kv + VLLM_OVERHEAD_BYTES
