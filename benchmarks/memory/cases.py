"""Ground-truth memory measurements and the model configs they need, as fixture data for score.py.

Model configs hold the published `config.json` values of each model (only the fields the estimator reads).
Measured values are peak GB per GPU as their sources report them, read as 10^9 bytes.

Sources: the Qwen (v1) README profiling table (cases 1-5); PEFT's MetaMathQA method comparison (6, 7);
PEFT's DeepSpeed guide (8); PEFT's README (9); Unsloth's published max-context table, "HF + FA2"
column (10); Open R1's demo GRPO recipe for DeepSeek-R1-Distill-Qwen-1.5B (11).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MODEL_CONFIGS: dict[str, dict[str, Any]] = {
    "Qwen/Qwen-7B": {
        "model_type": "qwen",
        "hidden_size": 4096,
        "num_hidden_layers": 32,
        "num_attention_heads": 32,
        "kv_channels": 128,
        "intermediate_size": 22016,
        "vocab_size": 151936,
        "tie_word_embeddings": False,
        "torch_dtype": "bfloat16",
    },
    "Qwen/Qwen-1_8B": {
        "model_type": "qwen",
        "hidden_size": 2048,
        "num_hidden_layers": 24,
        "num_attention_heads": 16,
        "kv_channels": 128,
        "intermediate_size": 11008,
        "vocab_size": 151936,
        "tie_word_embeddings": False,
        "torch_dtype": "bfloat16",
    },
    "meta-llama/Llama-3.2-3B": {
        "model_type": "llama",
        "hidden_size": 3072,
        "num_hidden_layers": 28,
        "num_attention_heads": 24,
        "num_key_value_heads": 8,
        "head_dim": 128,
        "intermediate_size": 8192,
        "vocab_size": 128256,
        "tie_word_embeddings": True,
        "torch_dtype": "bfloat16",
    },
    "meta-llama/Llama-2-70b-hf": {
        "model_type": "llama",
        "hidden_size": 8192,
        "num_hidden_layers": 80,
        "num_attention_heads": 64,
        "num_key_value_heads": 8,
        "intermediate_size": 28672,
        "vocab_size": 32000,
        "tie_word_embeddings": False,
        "torch_dtype": "float16",
    },
    "bigscience/T0_3B": {
        "model_type": "t5",
        "is_encoder_decoder": True,
        "d_model": 2048,
        "d_ff": 5120,
        "d_kv": 64,
        "num_heads": 32,
        "num_layers": 24,
        "num_decoder_layers": 24,
        "vocab_size": 32128,
        "feed_forward_proj": "gated-gelu",
        "tie_word_embeddings": False,
        "torch_dtype": "float32",
    },
    "meta-llama/Llama-3.1-8B-Instruct": {
        "model_type": "llama",
        "hidden_size": 4096,
        "num_hidden_layers": 32,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "head_dim": 128,
        "intermediate_size": 14336,
        "vocab_size": 128256,
        "tie_word_embeddings": False,
        "torch_dtype": "bfloat16",
    },
    "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B": {
        "model_type": "qwen2",
        "hidden_size": 1536,
        "num_hidden_layers": 28,
        "num_attention_heads": 12,
        "num_key_value_heads": 2,
        "intermediate_size": 8960,
        "vocab_size": 151936,
        "tie_word_embeddings": False,
        "torch_dtype": "bfloat16",
    },
    "unsloth/gemma-2b": {
        "model_type": "gemma",
        "hidden_size": 2048,
        "num_hidden_layers": 18,
        "num_attention_heads": 8,
        "num_key_value_heads": 1,
        "head_dim": 256,
        "intermediate_size": 16384,
        "vocab_size": 256000,
        "tie_word_embeddings": True,
        "torch_dtype": "bfloat16",
    },
}

# Parameter counts the model cards and safetensors metadata publish; the estimator's count from the
# config must match them.
PUBLISHED_PARAMETERS = {
    "Qwen/Qwen-7B": 7_721_324_544,
    "Qwen/Qwen-1_8B": 1_836_828_672,
    "meta-llama/Llama-3.2-3B": 3_212_749_824,
    "meta-llama/Llama-2-70b-hf": 68_976_648_192,
    "meta-llama/Llama-3.1-8B-Instruct": 8_030_261_248,
    "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B": 1_777_088_000,
    "unsloth/gemma-2b": 2_506_172_416,
}


@dataclass(frozen=True)
class Case:
    """One measurement: the run settings, the hardware and what was measured.

    kind "peak": `measured` is GB per GPU. kind "max_seq": `measured` is the longest sequence (tokens) that
    trained on a card of `card_gb`. kind "fits": `measured` is 1 when the run trained.
    """

    case_id: str
    model: str
    settings: str
    hardware: str
    gpu_type_id: str
    gpu_count: int
    measured: float
    spec: dict[str, Any]
    kind: str = "peak"
    estimator_options: dict[str, Any] = field(default_factory=dict)
    card_gb: float = 0.0
    note: str = ""


QWEN_LORA = {
    "trainer": "qwen-sft",
    "method": "lora",
    "lora_r": 64,
    "lora_alpha": 16,
    "lora_dropout": 0.05,
    "lora_target_modules": ["c_attn", "c_proj", "w1", "w2"],
    "deepspeed_stage": 0,
    "attn_implementation": "flash_attention_2",
    "gradient_accumulation_steps": 8,
    "max_completion_length": 0,
}
LLAMA32_PEFT = {
    "trainer": "peft-sft",
    "per_device_train_batch_size": 4,
    "max_prompt_length": 512,
    "max_completion_length": 0,
    "gradient_checkpointing": False,
    "deepspeed_stage": 0,
    "gradient_accumulation_steps": 1,
}
PEFT_LENGTH_NOTE = (
    "PEFT's benchmark drops samples over 1,300 characters and truncates at 768 tokens; scored at s=512, "
    "about the longest padded batch (1,300 characters of math text are ~450 Llama-3 tokens)."
)
T0_NOTE = (
    "PEFT's README example: twitter_complaints inputs padded to 64 tokens, targets are class names "
    "(scored as 4 tokens), b=8, fp32 weights without autocast."
)
QLORA_8B = {
    "trainer": "hf-sft",
    "method": "qlora",
    "lora_r": 32,
    "lora_dropout": 0.0,
    "lora_target_modules": ["all-linear"],
    "deepspeed_stage": 0,
    "attn_implementation": "flash_attention_2",
    "max_completion_length": 0,
}

CASES: list[Case] = [
    Case("1", "Qwen/Qwen-7B", "LoRA r64, b1, s256, ckpt, FA2", "1×A100-80G", "NVIDIA A100-SXM4-80GB", 1, 20.1,
         {**QWEN_LORA, "max_prompt_length": 256}),
    Case("2", "Qwen/Qwen-7B", "LoRA r64, b1, s8192, ckpt, FA2", "1×A100-80G", "NVIDIA A100-SXM4-80GB", 1, 36.6,
         {**QWEN_LORA, "max_prompt_length": 8192}),
    Case("3", "Qwen/Qwen-1_8B", "LoRA r64, b1, s8192, ckpt, FA2", "1×A100-80G", "NVIDIA A100-SXM4-80GB", 1, 21.8,
         {**QWEN_LORA, "max_prompt_length": 8192}),
    Case("4", "Qwen/Qwen-1_8B", "full, ZeRO-2, b1, s256, ckpt", "1×A100-80G", "NVIDIA A100-SXM4-80GB", 1, 43.5,
         {**QWEN_LORA, "method": "full", "deepspeed_stage": 2, "max_prompt_length": 256},
         note="Qwen's finetune_ds.sh runs full fine-tuning with DeepSpeed ZeRO-2, also on one GPU."),
    Case("5", "Qwen/Qwen-7B", "full, ZeRO-3, b1, s512, ckpt", "2×A100-80G", "NVIDIA A100-SXM4-80GB", 2, 74.0,
         {**QWEN_LORA, "method": "full", "deepspeed_stage": 3, "max_prompt_length": 512},
         note="Reported as 148.0 GB for both GPUs."),
    Case("6", "meta-llama/Llama-3.2-3B", "full, bf16 AdamW, b4, s≤768 (scored 512), no ckpt", "1×L40S", "NVIDIA L40S", 1, 37.35,
         {**LLAMA32_PEFT, "method": "full"}, estimator_options={"master_weights": False},
         note="Torch reserved memory, p99 over steps; bf16 weights without fp32 master copy. " + PEFT_LENGTH_NOTE),
    Case("7", "meta-llama/Llama-3.2-3B", "LoRA r32 q,v, b4, s≤768 (scored 512), no ckpt", "1×L40S", "NVIDIA L40S", 1, 20.12,
         {**LLAMA32_PEFT, "method": "lora", "lora_r": 32, "lora_dropout": 0.0, "lora_target_modules": ["q_proj", "v_proj"]},
         note=PEFT_LENGTH_NOTE),
    Case("8", "meta-llama/Llama-2-70b-hf", "LoRA r8 all-linear, ZeRO-3, b8, s2048, ckpt, FA2", "8×H100-80G",
         "NVIDIA H100 80GB HBM3", 8, 64.0,
         {"trainer": "trl-sft", "method": "lora", "lora_r": 8, "lora_dropout": 0.1, "lora_target_modules": ["all-linear"],
          "deepspeed_stage": 3, "per_device_train_batch_size": 8, "max_prompt_length": 2048, "max_completion_length": 0,
          "attn_implementation": "flash_attention_2"}),
    Case("9a", "bigscience/T0_3B", "full, fp32 AdamW, b8", "1×A100-80G", "NVIDIA A100-SXM4-80GB", 1, 47.14,
         {"trainer": "peft-sft", "method": "full", "torch_dtype": "float32", "deepspeed_stage": 0,
          "per_device_train_batch_size": 8, "max_prompt_length": 64, "max_completion_length": 4,
          "gradient_checkpointing": False}, note=T0_NOTE),
    Case("9b", "bigscience/T0_3B", "LoRA r8 q,v, fp32, b8", "1×A100-80G", "NVIDIA A100-SXM4-80GB", 1, 14.4,
         {"trainer": "peft-sft", "method": "lora", "lora_r": 8, "lora_dropout": 0.1, "torch_dtype": "float32",
          "deepspeed_stage": 0, "per_device_train_batch_size": 8, "max_prompt_length": 64,
          "max_completion_length": 4, "gradient_checkpointing": False}, note=T0_NOTE),
    Case("10a", "meta-llama/Llama-3.1-8B-Instruct", "QLoRA r32 all-linear, b1, ckpt, FA2: max s", "24 GB card",
         "NVIDIA GeForce RTX 4090", 1, 5789, QLORA_8B, kind="max_seq", card_gb=24,
         estimator_options={"double_quant": True}),
    Case("10b", "meta-llama/Llama-3.1-8B-Instruct", "QLoRA r32 all-linear, b1, ckpt, FA2: max s", "40 GB card",
         "NVIDIA A100-SXM4-40GB", 1, 12264, QLORA_8B, kind="max_seq", card_gb=40,
         estimator_options={"double_quant": True}),
    Case("10c", "meta-llama/Llama-3.1-8B-Instruct", "QLoRA r32 all-linear, b1, ckpt, FA2: max s", "80 GB card",
         "NVIDIA A100-SXM4-80GB", 1, 28454, QLORA_8B, kind="max_seq", card_gb=80,
         estimator_options={"double_quant": True}),
    Case("11", "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B", "GRPO full, ZeRO-3, colocate 0.3, b16, 512+2048, G16, ckpt",
         "8×H100-80G", "NVIDIA H100 80GB HBM3", 8, 1,
         {"trainer": "openr1-grpo", "method": "full", "deepspeed_stage": 3, "per_device_train_batch_size": 16,
          "max_prompt_length": 512, "max_completion_length": 2048, "num_generations": 16, "use_vllm": True,
          "vllm_mode": "colocate", "vllm_gpu_memory_utilization": 0.3, "beta": 0.04},
         kind="fits", note="beta 0.04 is TRL 0.18's default; the reference model is sharded by ZeRO-3."),
]
