"""Turn offers into ranked candidates with the core's ranking policy.

TODO: `podsmith_core.memory.ranking` is being added to the core; until it is importable, a plain
ordering stands in: candidates that fit first, then the default preference, then price.
"""

from __future__ import annotations

from typing import Callable

from podsmith_core.models import GB, GpuCandidate, GpuOffer, MemoryEstimate, RunSpec

PREFERRED_IDS = ("NVIDIA L40S", "NVIDIA A100-SXM4-80GB", "NVIDIA H100 80GB HBM3")
USABLE_FRACTION = 0.95


def rank(
    offers: list[GpuOffer], spec: RunSpec, estimator: Callable[[int], MemoryEstimate]
) -> list[GpuCandidate]:
    try:
        from podsmith_core.memory.ranking import rank_candidates
    except ImportError:
        return _plain_rank(offers, spec, estimator)
    return rank_candidates(offers, spec, estimator)


def _plain_rank(
    offers: list[GpuOffer], spec: RunSpec, estimator: Callable[[int], MemoryEstimate]
) -> list[GpuCandidate]:
    estimates: dict[int, MemoryEstimate] = {}
    candidates = []
    for offer in offers:
        if spec.gpu_type and spec.gpu_type not in (offer.gpu_type_id, offer.display_name):
            continue
        for count in offer.counts:
            if spec.gpu_count and count != spec.gpu_count:
                continue
            if count not in estimates:
                estimates[count] = estimator(count)
            needed = estimates[count].per_gpu_bytes
            usable = int(offer.memory_gb * GB * USABLE_FRACTION)
            price = offer.price_per_gpu_hour * count if offer.price_per_gpu_hour is not None else None
            if spec.max_price_per_hour is not None and price is not None and price > spec.max_price_per_hour:
                continue
            candidates.append(
                GpuCandidate(
                    gpu_type_id=offer.gpu_type_id,
                    display_name=offer.display_name,
                    gpu_count=count,
                    memory_gb=offer.memory_gb,
                    usable_bytes=usable,
                    cloud_type=offer.cloud_type,
                    price_per_hour=price,
                    stock=offer.stock,
                    needed_bytes=needed,
                    fits=needed <= usable,
                    source=offer.source,
                )
            )

    def order(candidate: GpuCandidate) -> tuple:
        preferred = (
            PREFERRED_IDS.index(candidate.gpu_type_id) if candidate.gpu_type_id in PREFERRED_IDS else len(PREFERRED_IDS)
        )
        return (not candidate.fits, candidate.gpu_count, preferred, candidate.price_per_hour or 0.0)

    return sorted((c for c in candidates if c.fits), key=order)
