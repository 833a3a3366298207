import pytest

from podsmith_core.memory import adapters, terms
from podsmith_core.memory.activations import activation_bytes, kv_cache_bytes_per_token, logits_bytes
from podsmith_core.memory.estimator import estimate_memory, model_state_bytes
from podsmith_core.memory.shape import model_shape
from podsmith_core.models import RunSpec

GB = 1000**3
P_ZERO_PAPER = 7_500_000_000


def term(estimate, name):
    return next(t.bytes for t in estimate.terms if t.name == name)


def test_zero_paper_model_states():
    # ZeRO paper, 7.5B parameters on 64 GPUs: baseline, P_os, P_os+g, P_os+g+p.
    expected = {0: 120.0, 1: 31.4, 2: 16.6, 3: 1.9}
    for stage, gb in expected.items():
        assert model_state_bytes(P_ZERO_PAPER, stage, 64) / GB == pytest.approx(gb, abs=0.05)


def test_kv_cache_llama31_8b(facts):
    shape = model_shape(facts("meta-llama/Llama-3.1-8B-Instruct"))
    assert kv_cache_bytes_per_token(shape) == 131_072


def test_parameter_counts_match_published(cases, facts):
    for model, published in cases.PUBLISHED_PARAMETERS.items():
        assert model_shape(facts(model)).parameter_count() == published, model


def test_full_ddp_states_per_param(facts):
    spec = RunSpec(repo_id="m", trainer="trl-sft", method="full", deepspeed_stage=0, gradient_checkpointing=True)
    f = facts("unsloth/gemma-2b")
    p = model_shape(f).parameter_count()
    estimate = estimate_memory(spec, f, 1)
    assert term(estimate, "weights") == 2 * p
    assert term(estimate, "gradients") == 2 * p
    assert term(estimate, "optimizer states") == 12 * p
    pure = estimate_memory(spec, f, 1, master_weights=False)
    assert term(pure, "optimizer states") == 4 * p


def test_zero2_and_zero3_sharding(facts):
    f = facts("unsloth/gemma-2b")
    p = model_shape(f).parameter_count()
    zero2 = estimate_memory(RunSpec(repo_id="m", method="full", deepspeed_stage=2, use_vllm=False), f, 4)
    assert term(zero2, "weights") == 2 * p
    assert term(zero2, "gradients") == 2 * p // 4
    assert term(zero2, "optimizer states") == 12 * p // 4
    zero3 = estimate_memory(RunSpec(repo_id="m", method="full", deepspeed_stage=3, use_vllm=False), f, 4)
    assert term(zero3, "weights") == 2 * p // 4
    assert term(zero3, "gradients") == 2 * p // 4
    assert zero3.deepspeed_stage == 3
    # Batch 1 leaves the optimizer step as the peak: DeepSpeed's fp32 copy of the gradient partition.
    assert "Peak phase: optimizer step." in zero3.notes
    assert term(zero3, "fp32 gradient copy") == 4 * (p // 4)
    long = RunSpec(repo_id="m", method="full", deepspeed_stage=3, use_vllm=False, per_device_train_batch_size=8)
    busy = estimate_memory(long, f, 4)
    assert "Peak phase: forward/backward." in busy.notes
    assert term(busy, "ZeRO-3 gathered layers") == 2 * model_shape(f).largest_layer_params() * 2


def test_default_stage_and_method(facts):
    f = facts("unsloth/gemma-2b")
    grpo = RunSpec(repo_id="m", trainer="openr1-grpo", use_vllm=False)
    assert estimate_memory(grpo, f, 1).deepspeed_stage == 0
    assert estimate_memory(grpo, f, 2).deepspeed_stage == 3
    assert estimate_memory(grpo, f, 1).method == "full"
    sft = RunSpec(repo_id="m", trainer="openr1-sft")
    assert estimate_memory(sft, f, 1).method == "qlora"
    assert estimate_memory(sft, f, 1).deepspeed_stage == 2
    forced = estimate_memory(sft.model_copy(update={"deepspeed_stage": 3}), f, 2)
    assert forced.deepspeed_stage == 2
    assert any("ZeRO-3" in note for note in forced.notes)


def test_lora_adapter_count(facts):
    shape = model_shape(facts("meta-llama/Llama-3.2-3B"))
    # r × L × Σ (d_in + d_out): q 3072→3072, v 3072→1024.
    assert adapters.lora_parameter_count(shape, 32, ["q_proj", "v_proj"]) == 32 * 28 * (6144 + 4096)
    all_linear = adapters.lora_parameter_count(shape, 8, ["all-linear"])
    per_block = 6144 + 4096 + 4096 + 6144 + 3 * (3072 + 8192)
    assert all_linear == 8 * 28 * per_block


def test_lora_qwen_c_proj_counts_both_layers(facts):
    shape = model_shape(facts("Qwen/Qwen-7B"))
    # c_proj is the attention output (4096→4096) and the MLP down projection (11008→4096).
    assert adapters.lora_parameter_count(shape, 1, ["c_proj"]) == 32 * (8192 + 15104)


def test_lora_terms_in_estimate(facts):
    f = facts("meta-llama/Llama-3.2-3B")
    spec = RunSpec(repo_id="m", trainer="x-sft", method="lora", lora_r=32, lora_target_modules=["q_proj", "v_proj"])
    estimate = estimate_memory(spec, f, 1)
    assert term(estimate, "base weights") == 2 * 3_212_749_824
    assert term(estimate, "LoRA adapters") == 16 * 32 * 28 * 10240


def test_qlora_weight_bytes(facts):
    f = facts("meta-llama/Llama-3.1-8B-Instruct")
    shape = model_shape(f)
    linear = shape.block_linear_params()
    other = shape.parameter_count() - linear
    spec = RunSpec(repo_id="m", trainer="x-sft", method="qlora", deepspeed_stage=0)
    plain = term(estimate_memory(spec, f, 1), "base weights")
    nested = term(estimate_memory(spec, f, 1, double_quant=True), "base weights")
    assert plain == int(linear * 0.5625 + other * 4)
    assert nested == int(linear * (0.5 + 1 / 64 + 4 / 16384) + other * 4)
    assert nested < plain
    assert linear == 32 * (2 * 4096 * 4096 + 2 * 4096 * 1024 + 3 * 4096 * 14336)


def test_activations_with_and_without_checkpointing(facts):
    shape = model_shape(facts("meta-llama/Llama-3.2-3B"))
    tokens = 4 * 512
    full, _ = activation_bytes(shape, [(tokens, 28)], 512, 2, False, "sdpa")
    # 22h + 6·kv_dim + 8I bytes per token and block in bf16.
    per_block = 22 * 3072 + 6 * 1024 + 8 * 8192
    assert full == tokens * 28 * per_block
    ckpt, _ = activation_bytes(shape, [(tokens, 28)], 512, 2, True, "sdpa")
    assert ckpt == tokens * (2 * 3072 * 28 + per_block)
    eager, _ = activation_bytes(shape, [(tokens, 28)], 512, 2, False, "eager")
    assert eager - full == tokens * 28 * 2 * 2 * 24 * 512


def test_logits_sft_and_grpo(facts):
    shape = model_shape(facts("meta-llama/Llama-3.2-3B"))
    sft, _ = logits_bytes(shape, 1000, 2, grpo=False)
    assert sft == 16 * 1000 * 128256
    grpo, _ = logits_bytes(shape, 1000, 2, grpo=True)
    assert grpo == 6 * 1000 * 128256
    f = facts("meta-llama/Llama-3.2-3B")
    spec = RunSpec(repo_id="m", trainer="trl-grpo", max_prompt_length=512, max_completion_length=256, use_vllm=False)
    assert term(estimate_memory(spec, f, 1), "logits and loss") == 6 * 256 * 128256


def test_vllm_colocate_reservation(facts):
    f = facts("unsloth/gemma-2b")
    spec = RunSpec(repo_id="m", trainer="openr1-grpo", vllm_gpu_memory_utilization=0.3)
    card = 80 * 1024**3
    with_card = estimate_memory(spec, f, 1, gpu_memory_bytes=card)
    without = estimate_memory(spec, f, 1)
    assert term(with_card, "vLLM colocate reservation") == int(0.3 * card)
    assert with_card.per_gpu_bytes - without.per_gpu_bytes == int(0.3 * card)
    assert without.reserved_fraction == 0.3
    assert without.card_bytes is None
    assert with_card.card_bytes == card


def test_vllm_server_mode(facts):
    f = facts("unsloth/gemma-2b")
    spec = RunSpec(repo_id="m", trainer="openr1-grpo", vllm_mode="server", vllm_server_gpus=1, num_generations=8)
    estimate = estimate_memory(spec, f, 4)
    assert estimate.vllm_gpus == 1
    assert estimate.training_gpus == 3
    assert estimate.reserved_fraction == 0
    kv = 2 * 18 * 256 * 2 * (512 + 1024) * 8
    assert estimate.vllm_per_gpu_bytes == 2 * 2_506_172_416 + kv + int(1.5 * GB)
    single = estimate_memory(spec, f, 1)
    assert single.training_gpus == 0
    assert any("server mode" in note for note in single.notes)


def test_reference_model_only_without_peft(facts):
    f = facts("unsloth/gemma-2b")
    full = RunSpec(repo_id="m", trainer="trl-grpo", method="full", beta=0.04, use_vllm=False)
    assert term(estimate_memory(full, f, 1), "reference model") == 2 * 2_506_172_416
    lora = full.model_copy(update={"method": "lora"})
    assert "reference model" not in [t.name for t in estimate_memory(lora, f, 1).terms]


def test_terms_sum_to_total(facts):
    f = facts("meta-llama/Llama-2-70b-hf")
    spec = RunSpec(repo_id="m", trainer="trl-sft", method="lora", lora_target_modules=["all-linear"], deepspeed_stage=3)
    estimate = estimate_memory(spec, f, 8)
    assert estimate.per_gpu_bytes == sum(t.bytes for t in estimate.terms)
    dynamic = sum(t.bytes for t in estimate.terms if t.name in {"activations", "logits and loss", "ZeRO-3 gathered layers"})
    assert term(estimate, "fragmentation margin") == int(dynamic * terms.FRAGMENTATION)


def test_moe_parameters_and_adapters():
    from podsmith_core.models import ModelFacts

    config = {
        "model_type": "mixtral", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
        "num_key_value_heads": 2, "intermediate_size": 128, "vocab_size": 100, "num_local_experts": 4,
        "num_experts_per_tok": 2, "tie_word_embeddings": False,
    }
    shape = model_shape(ModelFacts(repo_id="m", config=config))
    attention = 64 * 64 * 2 + 64 * 32 * 2
    moe = 4 * 3 * 64 * 128 + 64 * 4
    assert shape.parameter_count() == 2 * (attention + moe + 2 * 64) + 2 * 100 * 64 + 64
    assert adapters.lora_parameter_count(shape, 1, ["w1"]) == 2 * 4 * (64 + 128)


def test_missing_config_field_raises():
    from podsmith_core.errors import UsageError
    from podsmith_core.models import ModelFacts

    with pytest.raises(UsageError, match="hidden_size"):
        model_shape(ModelFacts(repo_id="org/odd", config={"num_hidden_layers": 2}))
