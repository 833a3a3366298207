"""Model dimensions read from a `config.json`, and parameter counts computed from them.

Field names follow transformers' configs: Llama-style decoders (`hidden_size`, `num_key_value_heads`,
`head_dim`), GPT-2 style (`n_embd`, `n_layer`), T5 encoder-decoders (`d_model`, `d_ff`, `d_kv`) and the
MoE fields (`num_experts` / `num_local_experts` / `n_routed_experts`, `num_experts_per_tok`,
`moe_intermediate_size`, shared experts).
"""

from __future__ import annotations

from dataclasses import dataclass

from podsmith_core.errors import UsageError
from podsmith_core.models import ModelFacts

DTYPE_BYTES = {
    "float32": 4,
    "fp32": 4,
    "float": 4,
    "bfloat16": 2,
    "bf16": 2,
    "float16": 2,
    "fp16": 2,
    "half": 2,
}

# MLPs with a single up-projection (no gate); every other model type is treated as gated (SwiGLU/GeGLU).
NON_GATED_MODEL_TYPES = frozenset({"gpt2", "gpt_neox", "gptj", "opt", "bloom", "falcon", "phi", "gpt_bigcode"})


@dataclass(frozen=True)
class ModelShape:
    """Dimensions of a transformer, enough to count parameters and size activations."""

    model_type: str
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    intermediate: int
    vocab: int
    tied_embeddings: bool
    gated_mlp: bool
    checkpoint_dtype_bytes: int
    decoder_layers: int = 0
    experts: int = 0
    experts_per_token: int = 0
    moe_intermediate: int = 0
    shared_expert_intermediate: int = 0
    dense_layers: int = 0
    qkv_bias: bool = False

    @property
    def q_dim(self) -> int:
        return self.heads * self.head_dim

    @property
    def kv_dim(self) -> int:
        return self.kv_heads * self.head_dim

    @property
    def is_moe(self) -> bool:
        return self.experts > 0

    @property
    def moe_layers(self) -> int:
        return max(self.layers - self.dense_layers, 0) if self.is_moe else 0

    @property
    def total_layers(self) -> int:
        """Encoder plus decoder blocks (just the decoder blocks for decoder-only models)."""
        return self.layers + self.decoder_layers

    def mlp_matrices(self) -> int:
        return 3 if self.gated_mlp else 2

    def attention_params(self) -> int:
        params = self.hidden * self.q_dim * 2 + self.hidden * self.kv_dim * 2
        if self.qkv_bias:
            params += self.q_dim + 2 * self.kv_dim
        return params

    def dense_mlp_params(self) -> int:
        return self.mlp_matrices() * self.hidden * self.intermediate

    def moe_mlp_params(self) -> int:
        experts = self.experts * 3 * self.hidden * self.moe_intermediate
        router = self.hidden * self.experts
        shared = 3 * self.hidden * self.shared_expert_intermediate
        return experts + router + shared

    def decoder_layer_params(self, moe: bool) -> int:
        mlp = self.moe_mlp_params() if moe else self.dense_mlp_params()
        return self.attention_params() + mlp + 2 * self.hidden

    def embedding_params(self) -> int:
        return self.vocab * self.hidden

    def lm_head_params(self) -> int:
        return 0 if self.tied_embeddings else self.vocab * self.hidden

    def block_linear_params(self) -> int:
        """Parameters of all linear layers inside the blocks: the part QLoRA quantizes."""
        if self.decoder_layers:
            attention = self.hidden * self.q_dim * 4
            return self.layers * (attention + self.dense_mlp_params()) + self.decoder_layers * (
                2 * attention + self.dense_mlp_params()
            )
        dense = self.layers - self.moe_layers
        linear = self.attention_params() - (self.q_dim + 2 * self.kv_dim if self.qkv_bias else 0)
        moe_linear = self.experts * 3 * self.hidden * self.moe_intermediate
        moe_linear += 3 * self.hidden * self.shared_expert_intermediate
        return dense * (linear + self.dense_mlp_params()) + self.moe_layers * (linear + moe_linear)

    def parameter_count(self) -> int:
        if self.decoder_layers:
            return self.block_linear_params() + self.embedding_params() + self.lm_head_params()
        dense = self.layers - self.moe_layers
        blocks = dense * self.decoder_layer_params(False) + self.moe_layers * self.decoder_layer_params(True)
        return blocks + self.embedding_params() + self.lm_head_params() + self.hidden

    def largest_layer_params(self) -> int:
        """Parameters of the largest single block (the unit ZeRO-3 gathers under checkpointing)."""
        if self.decoder_layers:
            return self.hidden * self.q_dim * 8 + self.dense_mlp_params()
        return self.decoder_layer_params(self.is_moe)


def _int(facts: ModelFacts, *names: str, default: int | None = None) -> int | None:
    value = facts.config_value(*names, default=default)
    return int(value) if value is not None else None


def dtype_bytes(name: str | None, default: int = 2) -> int:
    if not name:
        return default
    return DTYPE_BYTES.get(str(name).replace("torch.", "").lower(), default)


def model_shape(facts: ModelFacts) -> ModelShape:
    """Read the dimensions from `facts.config`; raise UsageError when a required field is missing."""
    model_type = str(facts.config_value("model_type", default="") or "")
    hidden = _int(facts, "hidden_size", "d_model", "n_embd", "dim")
    layers = _int(facts, "num_hidden_layers", "num_layers", "n_layer", "n_layers")
    heads = _int(facts, "num_attention_heads", "num_heads", "n_head")
    vocab = _int(facts, "vocab_size", "padded_vocab_size")
    missing = [
        name
        for name, value in (("hidden_size", hidden), ("num_hidden_layers", layers), ("num_attention_heads", heads), ("vocab_size", vocab))
        if not value
    ]
    if missing:
        raise UsageError(
            f"config.json of {facts.repo_id} has no {', '.join(missing)}, so its memory cannot be estimated.",
            fix="Choose the GPU yourself with --gpu-type and --gpu-count, or use a model with a standard config.",
        )
    assert hidden and layers and heads and vocab

    kv_heads = _int(facts, "num_key_value_heads", "multi_query_group_num", default=heads) or heads
    head_dim = _int(facts, "head_dim", "d_kv", "kv_channels") or hidden // heads
    intermediate = _int(facts, "intermediate_size", "d_ff", "n_inner", "ffn_dim") or 4 * hidden
    if model_type == "qwen":
        # Qwen (v1) stores twice the MLP width in `intermediate_size`; w1 and w2 are each half of it.
        intermediate //= 2

    decoder_layers = 0
    if facts.config_value("is_encoder_decoder", default=False) or model_type in {"t5", "mt5", "umt5"}:
        decoder_layers = _int(facts, "num_decoder_layers", default=layers) or layers

    gated = model_type not in NON_GATED_MODEL_TYPES
    projection = str(facts.config_value("feed_forward_proj", default="") or "")
    if decoder_layers and projection and not projection.startswith("gated"):
        gated = False

    experts = _int(facts, "num_experts", "num_local_experts", "n_routed_experts", "moe_num_experts", default=0) or 0
    moe_intermediate = 0
    shared = 0
    dense_layers = 0
    if experts:
        moe_intermediate = _int(facts, "moe_intermediate_size", default=intermediate) or intermediate
        shared = _int(facts, "shared_expert_intermediate_size", default=0) or 0
        shared += (_int(facts, "n_shared_experts", "num_shared_experts", default=0) or 0) * moe_intermediate
        dense_layers = _int(facts, "first_k_dense_replace", default=0) or 0

    tied = facts.config_value("tie_word_embeddings", default=None)
    if tied is None:
        tied = model_type not in {"t5", "mt5", "umt5", "qwen"}
    checkpoint_dtype = facts.config_value("torch_dtype", "dtype", default="bfloat16")

    return ModelShape(
        model_type=model_type,
        hidden=hidden,
        layers=layers,
        heads=heads,
        kv_heads=kv_heads,
        head_dim=head_dim,
        intermediate=intermediate,
        vocab=vocab,
        tied_embeddings=bool(tied),
        gated_mlp=gated,
        checkpoint_dtype_bytes=dtype_bytes(checkpoint_dtype),
        decoder_layers=decoder_layers,
        experts=experts,
        experts_per_token=_int(facts, "num_experts_per_tok", "moe_topk", default=0) or (2 if experts else 0),
        moe_intermediate=moe_intermediate,
        shared_expert_intermediate=shared,
        dense_layers=dense_layers,
        qkv_bias=bool(facts.config_value("attention_bias", "qkv_bias", default=model_type in {"qwen", "qwen2"})),
    )


def parameter_count(facts: ModelFacts, shape: ModelShape) -> int:
    """Use the count from the weight files unless the repo stores packed quantized weights."""
    if facts.config_value("quantization_config") is not None:
        # bitsandbytes packs two 4-bit values per U8 and GPTQ/AWQ eight per I32, so file counts undercount.
        return shape.parameter_count()
    return facts.parameter_count or shape.parameter_count()
