"""LoRA target modules: which linear layers an adapter wraps, and how many parameters it adds.

A LoRA adapter on a linear layer (d_in → d_out) adds r × (d_in + d_out) parameters, so a run adds
r × Σ over wrapped layers of (d_in + d_out).
"""

from __future__ import annotations

from podsmith_core.memory.shape import ModelShape

ALL_LINEAR = "all-linear"

# PEFT's default targets when `lora_target_modules` is not set (its per-architecture mapping).
DEFAULT_TARGETS = {
    "qwen": ("c_attn",),
    "t5": ("q", "v"),
    "mt5": ("q", "v"),
    "gpt2": ("c_attn",),
    "gpt_neox": ("query_key_value",),
    "falcon": ("query_key_value",),
    "bloom": ("query_key_value",),
}
FALLBACK_TARGETS = ("q_proj", "v_proj")


def linear_layers(shape: ModelShape) -> dict[str, list[tuple[int, int, int]]]:
    """Map each module name to (d_in, d_out, copies per block) entries for one decoder block.

    Several entries under one name mean the name matches more than one layer in the block (Qwen's
    `c_proj` is both the attention output and the MLP down projection).
    """
    h, q, kv, ffn = shape.hidden, shape.q_dim, shape.kv_dim, shape.intermediate
    if shape.is_moe:
        mlp_width, mlp_copies = shape.moe_intermediate, shape.experts
    else:
        mlp_width, mlp_copies = ffn, 1
    up = [(h, mlp_width, mlp_copies)]
    down = [(mlp_width, h, mlp_copies)]
    return {
        "q_proj": [(h, q, 1)],
        "k_proj": [(h, kv, 1)],
        "v_proj": [(h, kv, 1)],
        "o_proj": [(q, h, 1)],
        "gate_proj": up,
        "up_proj": up,
        "down_proj": down,
        "w1": up,
        "w3": up,
        "w2": [(h, ffn, 1)] if shape.model_type == "qwen" else down,
        "c_attn": [(h, q + 2 * kv, 1)],
        "c_proj": [(q, h, 1), (ffn, h, 1)],
        "c_fc": [(h, ffn, 1)],
        "query_key_value": [(h, q + 2 * kv, 1)],
        "dense": [(q, h, 1)],
        "dense_h_to_4h": [(h, ffn, 1)],
        "dense_4h_to_h": [(ffn, h, 1)],
        "q": [(h, q, 1)],
        "k": [(h, q, 1)],
        "v": [(h, q, 1)],
        "o": [(q, h, 1)],
        "wi_0": [(h, ffn, 1)],
        "wi_1": [(h, ffn, 1)],
        "wo": [(ffn, h, 1)],
    }


def all_linear_names(shape: ModelShape) -> tuple[str, ...]:
    if shape.model_type == "qwen":
        return ("c_attn", "c_proj", "w1", "w2")
    if shape.decoder_layers:
        return ("q", "k", "v", "o", "wi_0", "wi_1", "wo") if shape.gated_mlp else ("q", "k", "v", "o", "wi", "wo")
    if shape.model_type == "gpt2":
        return ("c_attn", "c_proj", "c_fc")
    mlp = ("gate_proj", "up_proj", "down_proj") if shape.gated_mlp else ("up_proj", "down_proj")
    return ("q_proj", "k_proj", "v_proj", "o_proj", *mlp)


def resolve_targets(shape: ModelShape, targets: list[str] | None) -> tuple[tuple[str, ...], list[str]]:
    """Return the target names to count and the names that match no known layer."""
    if not targets:
        return DEFAULT_TARGETS.get(shape.model_type, FALLBACK_TARGETS), []
    if any(name == ALL_LINEAR for name in targets):
        return all_linear_names(shape), []
    known = linear_layers(shape)
    if shape.decoder_layers:
        known["wi"] = [(shape.hidden, shape.intermediate, 1)]
    matched = tuple(name for name in targets if name in known)
    unknown = [name for name in targets if name not in known]
    return matched, unknown


def lora_parameter_count(shape: ModelShape, rank: int, targets: list[str] | None) -> int:
    """r × Σ (d_in + d_out) over every wrapped layer in every block."""
    names, _ = resolve_targets(shape, targets)
    layers = linear_layers(shape)
    if shape.decoder_layers:
        layers["wi"] = [(shape.hidden, shape.intermediate, 1)]
    per_block = 0
    for name in names:
        for d_in, d_out, copies in layers[name]:
            per_block += (d_in + d_out) * copies
    blocks = shape.total_layers
    if shape.decoder_layers:
        # Decoder blocks hold a second attention (cross-attention) with the same q/k/v/o names.
        attention = {"q", "k", "v", "o"} & set(names)
        per_block_extra = sum((d_in + d_out) for name in attention for d_in, d_out, _ in layers[name])
        return rank * (per_block * blocks + per_block_extra * shape.decoder_layers)
    return rank * per_block * blocks


def lora_input_features(shape: ModelShape, targets: list[str] | None) -> int:
    """Σ d_in over the wrapped layers of one block: the sizes of the dropout copies LoRA keeps."""
    names, _ = resolve_targets(shape, targets)
    layers = linear_layers(shape)
    if shape.decoder_layers:
        layers["wi"] = [(shape.hidden, shape.intermediate, 1)]
    total = 0
    for name in names:
        for d_in, _, copies in layers[name]:
            total += d_in * (shape.experts_per_token if copies > 1 else 1)
    return total
