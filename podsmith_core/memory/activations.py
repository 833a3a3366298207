"""Activation, logits and KV-cache sizes for a Llama-style block.

Per token and layer a block saves for backward about (22h + 6·kv_dim + 8I) bytes in bf16 with a
memory-efficient attention kernel (SDPA or FlashAttention): the RMSNorm inputs in fp32 and their outputs,
q/k/v and the attention output, and four I-wide tensors of the gated MLP. The formula below scales that by
the compute dtype and separates q_dim from h for models whose heads × head_dim differ from h.
"""

from __future__ import annotations

from podsmith_core.memory.shape import ModelShape

# Model types whose modeling code (remote code) computes the cross-entropy on logits in the compute
# dtype: Qwen (v1) keeps the bf16 logits, a shifted contiguous copy and the bf16 log-softmax.
# NOTE: read from Qwen (v1)'s modeling_qwen.py and consistent with its published profiling table, not
# measured here.
LOSS_IN_COMPUTE_DTYPE = frozenset({"qwen"})

# transformers' ForCausalLMLoss upcasts logits to fp32: bf16 logits 2 + fp32 copy 4 + fp32 log-softmax 4
# in the forward pass, plus fp32 gradients in the backward pass, about 16 bytes per logit at the peak.
HF_LOSS_BYTES_PER_LOGIT = 16


def layer_activation_bytes_per_token(
    shape: ModelShape,
    dtype_bytes: int,
    attn_implementation: str,
    seq_len: int,
    lora_dropout_features: int = 0,
    lora_rank_outputs: int = 0,
) -> float:
    """Bytes one block saves for backward per token (no checkpointing)."""
    e = dtype_bytes
    h, q, kv = shape.hidden, shape.q_dim, shape.kv_dim
    attention = 6 * e * h + 5 * e * q + 3 * e * kv

    if shape.is_moe:
        width = shape.moe_intermediate * shape.experts_per_token + shape.shared_expert_intermediate
        mlp = 4 * e * width + e * shape.experts
    else:
        mlp = (4 if shape.gated_mlp else 3) * e * shape.intermediate

    eager = 0
    if attn_implementation == "eager":
        # The eager path stores the softmax output and its dropout result: heads × s per token.
        eager = 2 * e * shape.heads * seq_len

    # LoRA with dropout keeps a dropped copy of each wrapped layer's input and a 1-byte mask.
    lora = (e + 1) * lora_dropout_features + e * lora_rank_outputs
    return attention + mlp + eager + lora


def activation_bytes(
    shape: ModelShape,
    stacks: list[tuple[int, int]],
    seq_len: int,
    dtype_bytes: int,
    gradient_checkpointing: bool,
    attn_implementation: str,
    lora_dropout_features: int = 0,
    lora_rank_outputs: int = 0,
) -> tuple[int, str]:
    """Return the activation bytes on one GPU for `stacks`, a list of (tokens, blocks) pairs.

    A decoder-only model is one stack (all tokens through every block); an encoder-decoder is two, the
    input tokens through the encoder blocks and the target tokens through the decoder blocks.
    """
    layer = layer_activation_bytes_per_token(
        shape, dtype_bytes, attn_implementation, seq_len, lora_dropout_features, lora_rank_outputs
    )
    token_blocks = sum(tokens * blocks for tokens, blocks in stacks)
    widest = max(tokens for tokens, _ in stacks)
    if gradient_checkpointing:
        # Each block's input is kept; during backward one block is recomputed in full.
        total = token_blocks * dtype_bytes * shape.hidden + widest * layer
        return int(total), f"checkpointed block inputs + 1 block recomputed, {token_blocks:,} token-blocks"
    return int(token_blocks * layer), f"{token_blocks:,} token-blocks"


def logits_bytes(shape: ModelShape, tokens: int, dtype_bytes: int, grpo: bool) -> tuple[int, str]:
    """Peak bytes of the logits, the loss and their gradients for `tokens` scored tokens."""
    if grpo:
        # TRL's per-token log-probabilities: the logits, the temperature-scaled copy and the row-wise
        # log-softmax outputs, all in the compute dtype.
        per_logit = 3 * dtype_bytes
        return int(per_logit * tokens * shape.vocab), f"GRPO completion logits: {tokens} tokens × {per_logit} B × V"
    if shape.model_type in LOSS_IN_COMPUTE_DTYPE:
        per_logit = 5 * dtype_bytes
    else:
        per_logit = HF_LOSS_BYTES_PER_LOGIT
    return int(per_logit * tokens * shape.vocab), f"{tokens} tokens × {per_logit} B × V={shape.vocab}"


def kv_cache_bytes_per_token(shape: ModelShape, dtype_bytes: int = 2) -> int:
    """K and V for every layer: 2 × L × kv_heads × head_dim × bytes."""
    return 2 * shape.total_layers * shape.kv_dim * dtype_bytes
