"""Peak GPU memory per training GPU for a run: the core default of the `estimate` hook.

The peak is the static part (weights, optimizer states, gradients, reference model, CUDA context and
communication buffers) plus the largest of three phases: forward/backward (activations, logits, ZeRO-3
gathered layers), the optimizer step (DeepSpeed's fp32 gradient copy) and, for GRPO without vLLM,
generation (KV cache). A fragmentation margin of 10% is added to the dynamic part. With colocated vLLM
the reservation (`vllm_gpu_memory_utilization` × card memory) is added when the card size is known;
otherwise `reserved_fraction` tells the ranking to add it per card.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from podsmith_core.errors import UsageError
from podsmith_core.memory import activations, adapters, terms
from podsmith_core.memory.shape import ModelShape, dtype_bytes, model_shape, parameter_count
from podsmith_core.memory.vllm import colocate_reservation, vllm_need_bytes
from podsmith_core.models import MemoryEstimate, MemoryTerm, ModelFacts, RunSpec

METHODS = ("full", "lora", "qlora")


@dataclass
class Plan:
    """Settings of one estimate after defaults are applied."""

    method: str
    stage: int
    gpus: int
    training_gpus: int
    vllm_gpus: int
    batch: int
    seq_len: int
    scored_tokens: int
    compute_bytes: int
    master_weights: bool
    grpo: bool
    notes: list[str] = field(default_factory=list)


def default_method(spec: RunSpec) -> str:
    """GRPO trains all weights by default; the SFT trainers use QLoRA, as the original tool did."""
    if spec.method:
        return spec.method
    return "qlora" if spec.trainer.endswith("sft") else "full"


def default_stage(spec: RunSpec, method: str, training_gpus: int) -> tuple[int, list[str]]:
    notes: list[str] = []
    stage = spec.deepspeed_stage
    if stage is None:
        if method == "qlora":
            stage = 2
        elif method == "full" and training_gpus > 1:
            stage = 3
        else:
            stage = 0
    if method == "qlora" and stage == 3:
        notes.append("QLoRA loads with a device_map, which ZeRO-3 rejects: estimated with ZeRO-2.")
        stage = 2
    return stage, notes


def plan_run(spec: RunSpec, shape: ModelShape, gpu_count: int, master_weights: bool | None) -> Plan:
    if gpu_count < 1:
        raise UsageError(f"gpu_count must be at least 1, got {gpu_count}.", fix="Pass --gpu-count 1 or more.")
    method = default_method(spec)
    grpo = spec.is_grpo
    notes: list[str] = []

    vllm_gpus = 0
    if grpo and spec.use_vllm and spec.vllm_mode == "server":
        vllm_gpus = spec.vllm_server_gpus
    training_gpus = gpu_count - vllm_gpus
    if training_gpus < 1:
        notes.append(f"vLLM server mode needs at least {vllm_gpus + 1} GPUs: {vllm_gpus} for vLLM, 1 or more to train.")

    stage, stage_notes = default_stage(spec, method, max(training_gpus, 1))
    notes.extend(stage_notes)

    if spec.torch_dtype == "auto":
        compute = shape.checkpoint_dtype_bytes
    else:
        compute = dtype_bytes(spec.torch_dtype)
    if master_weights is None:
        master_weights = method == "full"
    if stage >= 1 and method == "full":
        master_weights = True

    seq_len = spec.max_prompt_length + spec.max_completion_length
    batch = spec.per_device_train_batch_size
    # GRPO scores completion tokens only; an encoder-decoder computes logits for its target tokens only.
    completion_only = grpo or bool(shape.decoder_layers)
    scored = batch * (spec.max_completion_length if completion_only else seq_len)
    return Plan(
        method=method,
        stage=stage,
        gpus=gpu_count,
        training_gpus=max(training_gpus, 0),
        vllm_gpus=vllm_gpus,
        batch=batch,
        seq_len=seq_len,
        scored_tokens=scored,
        compute_bytes=compute,
        master_weights=master_weights,
        grpo=grpo,
        notes=notes,
    )


def _state_terms(spec: RunSpec, shape: ModelShape, params: int, plan: Plan, double_quant: bool) -> tuple[list[MemoryTerm], int]:
    """Return the static model-state terms and the optimizer-step temporary bytes."""
    n = max(plan.training_gpus, 1)
    e = plan.compute_bytes
    if plan.method == "full":
        layout = terms.full_layout(e, spec.optimizer, plan.master_weights)
        states = terms.shard_states(params, layout, plan.stage, n)
        precision = "fp32 master + " if layout.master else ""
        found = [
            MemoryTerm(name="weights", bytes=states.weights, note=f"{params:,} params × {layout.weights:g} B"),
            MemoryTerm(name="gradients", bytes=states.grads, note=f"× {layout.grads:g} B"),
            MemoryTerm(
                name="optimizer states",
                bytes=states.optimizer,
                note=f"{precision}{spec.optimizer} moments, {layout.master + layout.optimizer:g} B/param",
            ),
        ]
        if plan.grpo and spec.beta > 0:
            reference = params * e // (n if plan.stage >= 3 else 1)
            found.append(MemoryTerm(name="reference model", bytes=reference, note=f"beta={spec.beta} without PEFT"))
        step = terms.step_gradient_copy(params, plan.stage, n, plan.master_weights)
        return found, step

    linear = shape.block_linear_params()
    if plan.method == "qlora":
        base = terms.qlora_weight_bytes(linear, params - linear, double_quant)
        kind = "NF4 double quant" if double_quant else "NF4"
        note = f"{linear:,} block linear params in {kind}, {params - linear:,} others fp32"
    else:
        base = params * e
        note = f"{params:,} frozen params × {e} B"
    if plan.stage >= 3:
        base //= n
        note += f", sharded over {n} GPUs"
    adapter_params = adapters.lora_parameter_count(shape, spec.lora_r, spec.lora_target_modules)
    per_param = terms.ADAPTER_BYTES_PER_PARAM
    if plan.stage >= 3:
        adapter_bytes = adapter_params * per_param // n
    elif plan.stage >= 1:
        adapter_bytes = adapter_params * 4 + adapter_params * (per_param - 4) // n
    else:
        adapter_bytes = adapter_params * per_param
    found = [
        MemoryTerm(name="base weights", bytes=int(base), note=note),
        MemoryTerm(
            name="LoRA adapters",
            bytes=int(adapter_bytes),
            note=f"r={spec.lora_r}: {adapter_params:,} params × {per_param} B (fp32 weight, grad, AdamW)",
        ),
    ]
    return found, 0


def _forward_terms(spec: RunSpec, shape: ModelShape, plan: Plan) -> list[MemoryTerm]:
    e = plan.compute_bytes
    if shape.decoder_layers:
        stacks = [
            (plan.batch * spec.max_prompt_length, shape.layers),
            (plan.batch * spec.max_completion_length, shape.decoder_layers),
        ]
    else:
        stacks = [(plan.batch * plan.seq_len, shape.layers)]
    dropout_features = 0
    rank_outputs = 0
    if plan.method != "full":
        names, _ = adapters.resolve_targets(shape, spec.lora_target_modules)
        rank_outputs = spec.lora_r * len(names)
        if spec.lora_dropout > 0:
            dropout_features = adapters.lora_input_features(shape, spec.lora_target_modules)
    act, act_note = activations.activation_bytes(
        shape,
        stacks,
        plan.seq_len,
        e,
        spec.gradient_checkpointing,
        spec.attn_implementation,
        dropout_features,
        rank_outputs,
    )
    logits, logits_note = activations.logits_bytes(shape, plan.scored_tokens, e, plan.grpo)
    found = [
        MemoryTerm(name="activations", bytes=act, note=f"b={plan.batch}, s={plan.seq_len}; {act_note}"),
        MemoryTerm(name="logits and loss", bytes=logits, note=logits_note),
    ]
    if plan.stage >= 3:
        gathered = 2 * shape.largest_layer_params() * e
        found.append(MemoryTerm(name="ZeRO-3 gathered layers", bytes=gathered, note="current and prefetched block"))
    if plan.method == "qlora":
        widest = max(shape.intermediate, shape.moe_intermediate) * shape.hidden
        found.append(MemoryTerm(name="dequantization buffer", bytes=widest * e, note="one linear layer in the compute dtype"))
    return found


def _with_margin(phase: list[MemoryTerm]) -> list[MemoryTerm]:
    dynamic = sum(term.bytes for term in phase)
    margin = int(dynamic * terms.FRAGMENTATION)
    return [*phase, MemoryTerm(name="fragmentation margin", bytes=margin, note="10% of the dynamic part")]


def estimate_memory(
    spec: RunSpec,
    facts: ModelFacts,
    gpu_count: int,
    *,
    gpu_memory_bytes: int | None = None,
    master_weights: bool | None = None,
    double_quant: bool = False,
) -> MemoryEstimate:
    """Estimate the peak bytes per training GPU, with the terms that add up to it.

    `gpu_memory_bytes` is the card's total memory; with it the colocated vLLM reservation is included in
    `per_gpu_bytes`. `master_weights=False` estimates full fine-tuning in pure bf16 (AdamW moments in
    bf16, no fp32 copy); the default keeps an fp32 master copy, as DeepSpeed does at every stage.
    `double_quant` follows bitsandbytes' `bnb_4bit_use_double_quant` (TRL's default is off).
    """
    shape = model_shape(facts)
    params = parameter_count(facts, shape)
    plan = plan_run(spec, shape, gpu_count, master_weights)
    notes = list(plan.notes)

    static, step_copy = _state_terms(spec, shape, params, plan, double_quant)
    for name, value in terms.overhead_bytes(plan.training_gpus, plan.stage).items():
        static.append(MemoryTerm(name=name, bytes=value))

    phases: dict[str, list[MemoryTerm]] = {"forward/backward": _forward_terms(spec, shape, plan)}
    if step_copy:
        phases["optimizer step"] = [MemoryTerm(name="fp32 gradient copy", bytes=step_copy, note="DeepSpeed step")]
    if plan.grpo and not spec.use_vllm:
        sequences = plan.batch * spec.gradient_accumulation_steps
        kv = activations.kv_cache_bytes_per_token(shape, plan.compute_bytes) * plan.seq_len * sequences
        phases["generation"] = [MemoryTerm(name="generation KV cache", bytes=kv, note=f"{sequences} sequences")]
    peak_phase = max(phases, key=lambda name: sum(term.bytes for term in phases[name]))
    dynamic = _with_margin(phases[peak_phase])
    notes.append(f"Peak phase: {peak_phase}.")

    found = static + dynamic
    reserved_fraction = 0.0
    vllm_bytes = 0
    colocate = plan.grpo and spec.use_vllm and spec.vllm_mode == "colocate"
    if plan.grpo and spec.use_vllm:
        tp = plan.vllm_gpus if not colocate else 1
        sequences = spec.num_generations or 8
        vllm_bytes = vllm_need_bytes(shape, params, plan.compute_bytes, tp, plan.seq_len, sequences)
    if colocate:
        reserved_fraction = spec.vllm_gpu_memory_utilization
        if gpu_memory_bytes is not None:
            found.append(
                MemoryTerm(
                    name="vLLM colocate reservation",
                    bytes=colocate_reservation(reserved_fraction, gpu_memory_bytes),
                    note=f"{reserved_fraction:g} × {gpu_memory_bytes / terms.GB:.1f} GB card",
                )
            )
        else:
            notes.append(f"Colocated vLLM takes {reserved_fraction:g} of each card's memory on top of this.")

    return MemoryEstimate(
        method=plan.method,
        gpu_count=gpu_count,
        per_gpu_bytes=sum(term.bytes for term in found),
        terms=found,
        training_gpus=plan.training_gpus,
        vllm_gpus=plan.vllm_gpus,
        vllm_per_gpu_bytes=vllm_bytes,
        reserved_fraction=reserved_fraction,
        notes=notes,
        card_bytes=gpu_memory_bytes if colocate else None,
        deepspeed_stage=plan.stage,
    )


def model_state_bytes(params: int, stage: int, gpus: int) -> int:
    """Mixed-precision AdamW model states per GPU (16 B/param before sharding), as in the ZeRO paper."""
    layout = terms.full_layout(2, "adamw_torch", master_weights=True)
    states = terms.shard_states(params, layout, stage, gpus)
    return states.weights + states.grads + states.optimizer
