"""Rank a provider's GPU offers for a run: which type and count fit the memory estimate, in what order.

Policies (`spec.gpu_policy`):
- "prefer": NVIDIA L40S, then NVIDIA A100-SXM4-80GB, then NVIDIA H100 80GB HBM3 (matched on provider ids,
  the original tool's order), then any other fitting type by total price per hour.
- "cheapest": by total price per hour.
At equal preference (or price), offers with stock "High"/"Medium" come before "Low" or unknown stock. A live
offer with no stock status is not offered right now. Without `spec.gpu_count`, each offer gets the smallest
of its counts that fits, the estimate being recomputed per count. Candidates that do not fit follow the
fitting ones, each with the reason, so a caller can print the whole table.
"""

from __future__ import annotations

import inspect
import math
from typing import Callable

from podsmith_core.errors import UsageError
from podsmith_core.memory.cards import GIB, usable_bytes
from podsmith_core.memory.duration import estimate_duration_s
from podsmith_core.models import GpuCandidate, GpuOffer, MemoryEstimate, RunSpec

PREFERRED_IDS = ("NVIDIA L40S", "NVIDIA A100-SXM4-80GB", "NVIDIA H100 80GB HBM3")
GOOD_STOCK = frozenset({"High", "Medium"})

Estimator = Callable[..., MemoryEstimate]


def _accepts_card_size(estimator: Estimator) -> bool:
    try:
        parameters = inspect.signature(estimator).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == "gpu_memory_bytes" or p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)


class _Estimates:
    """Estimates cached per GPU count, and per card size when the estimator takes one."""

    def __init__(self, estimator: Estimator) -> None:
        self._estimator = estimator
        self._with_card = _accepts_card_size(estimator)
        self._cache: dict[tuple[int, int | None], MemoryEstimate] = {}

    def get(self, count: int, card_bytes: int) -> MemoryEstimate:
        key = (count, card_bytes if self._with_card else None)
        if key not in self._cache:
            if self._with_card:
                self._cache[key] = self._estimator(count, gpu_memory_bytes=card_bytes)
            else:
                self._cache[key] = self._estimator(count)
        return self._cache[key]


def needed_bytes(estimate: MemoryEstimate, card_bytes: int) -> int:
    """Per-GPU need on a card, adding the colocated vLLM reservation when the estimate left it out."""
    if estimate.reserved_fraction and estimate.card_bytes is None:
        return estimate.per_gpu_bytes + int(estimate.reserved_fraction * card_bytes)
    return estimate.per_gpu_bytes


def _gib(value: int) -> str:
    return f"{value / GIB:.1f} GiB"


def fit_reason(estimate: MemoryEstimate, card_bytes: int) -> str:
    """Return why the estimate does not fit the card, or "" when it fits."""
    if estimate.training_gpus == 0:
        return next((note for note in estimate.notes if "server mode" in note), "no GPU left for training")
    need = needed_bytes(estimate, card_bytes)
    if need > card_bytes:
        return f"needs {_gib(need)} per GPU, card has {_gib(card_bytes)} usable"
    if estimate.vllm_gpus and estimate.vllm_per_gpu_bytes > card_bytes:
        return f"vLLM server needs {_gib(estimate.vllm_per_gpu_bytes)} per GPU, card has {_gib(card_bytes)}"
    if estimate.reserved_fraction and estimate.vllm_per_gpu_bytes > estimate.reserved_fraction * card_bytes:
        share = int(estimate.reserved_fraction * card_bytes)
        return (
            f"colocated vLLM needs {_gib(estimate.vllm_per_gpu_bytes)} but "
            f"{estimate.reserved_fraction:g} of the card is {_gib(share)}"
        )
    return ""


def _stock_rank(offer: GpuOffer) -> int:
    return 0 if offer.stock in GOOD_STOCK else 1


def _preference(gpu_type_id: str) -> int:
    return PREFERRED_IDS.index(gpu_type_id) if gpu_type_id in PREFERRED_IDS else len(PREFERRED_IDS)


def _check_gpu_type(offers: list[GpuOffer], gpu_type: str) -> None:
    valid = sorted({offer.gpu_type_id for offer in offers})
    if gpu_type not in valid:
        raise UsageError(
            f"GPU type {gpu_type!r} is not among the provider's GPU ids.",
            fix="Pass --gpu-type with one of: " + ", ".join(valid) + ".",
        )


def _candidate(
    offer: GpuOffer,
    count: int,
    card: int,
    estimate: MemoryEstimate | None,
    spec: RunSpec,
    params: int,
    reason: str,
) -> GpuCandidate:
    price = offer.price_per_gpu_hour * count if offer.price_per_gpu_hour is not None else None
    needed = needed_bytes(estimate, card) if estimate is not None else 0
    if not reason and price is not None and spec.max_price_per_hour is not None and price > spec.max_price_per_hour:
        reason = f"${price:.2f}/h is above the maximum ${spec.max_price_per_hour:.2f}/h"
    cost = None
    if estimate is not None and price is not None:
        seconds = estimate_duration_s(spec, params, estimate, offer.gpu_type_id)
        cost = round(price * seconds / 3600, 2) if seconds is not None else None
    return GpuCandidate(
        gpu_type_id=offer.gpu_type_id,
        display_name=offer.display_name,
        gpu_count=count,
        memory_gb=offer.memory_gb,
        usable_bytes=card,
        cloud_type=offer.cloud_type,
        price_per_hour=price,
        stock=offer.stock,
        needed_bytes=needed,
        fits=not reason,
        reason=reason,
        estimated_cost=cost,
        source=offer.source,
    )


def _rank_offer(offer: GpuOffer, spec: RunSpec, estimates: _Estimates, params: int) -> GpuCandidate:
    card = usable_bytes(offer.gpu_type_id, offer.memory_gb)
    offered = sorted(count for count in offer.counts if count <= offer.max_count)

    if offer.stock is None and offer.source == "live":
        count = spec.gpu_count or (offered[0] if offered else 1)
        return _candidate(offer, count, card, None, spec, params, "not offered now (no stock status)")
    if spec.gpu_count is not None:
        if spec.gpu_count not in offered:
            reason = f"{spec.gpu_count} GPUs not offered (counts: {', '.join(map(str, offered))})"
            return _candidate(offer, spec.gpu_count, card, None, spec, params, reason)
        counts = [spec.gpu_count]
    elif spec.is_grpo and spec.use_vllm and spec.vllm_mode == "server":
        # The vLLM server takes its own GPUs, so only counts that leave at least one for training qualify.
        counts = [count for count in offered if count > spec.vllm_server_gpus]
    else:
        counts = offered

    estimate: MemoryEstimate | None = None
    reason = "no GPU count offered"
    for count in counts:
        estimate = estimates.get(count, card)
        reason = fit_reason(estimate, card)
        if not reason:
            return _candidate(offer, count, card, estimate, spec, params, "")
    return _candidate(offer, counts[-1] if counts else 0, card, estimate, spec, params, reason)


def rank_candidates(
    offers: list[GpuOffer], spec: RunSpec, estimator: Estimator, params: int = 0
) -> list[GpuCandidate]:
    """Return one candidate per offer: fitting ones first in policy order, then the rest with reasons.

    `estimator(gpu_count)` returns the estimate for a count; an estimator that also takes
    `gpu_memory_bytes` is called with each card's usable bytes. `params` (the model's parameter count)
    enables the cost estimate when `spec.max_steps` is set.
    """
    if spec.gpu_type:
        _check_gpu_type(offers, spec.gpu_type)
        offers = [offer for offer in offers if offer.gpu_type_id == spec.gpu_type]

    estimates = _Estimates(estimator)
    ranked = [(_rank_offer(offer, spec, estimates, params), offer) for offer in offers]

    def key(item: tuple[GpuCandidate, GpuOffer]) -> tuple:
        candidate, offer = item
        price = candidate.price_per_hour if candidate.price_per_hour is not None else math.inf
        if spec.gpu_policy == "cheapest":
            order = (price, _stock_rank(offer), _preference(candidate.gpu_type_id))
        else:
            order = (_preference(candidate.gpu_type_id), _stock_rank(offer), price)
        return (not candidate.fits, *order, candidate.gpu_count)

    return [candidate for candidate, _ in sorted(ranked, key=key)]
