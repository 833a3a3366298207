import pytest

from podsmith_core.errors import UsageError
from podsmith_core.memory.cards import GIB, usable_bytes
from podsmith_core.memory.estimator import estimate_memory
from podsmith_core.memory.ranking import rank_candidates
from podsmith_core.models import GpuOffer, MemoryEstimate, RunSpec

L40S, A100, H100, H200, A6000 = (
    "NVIDIA L40S", "NVIDIA A100-SXM4-80GB", "NVIDIA H100 80GB HBM3", "NVIDIA H200", "NVIDIA RTX A6000",
)


def offer(gpu_id: str, memory: float, price: float | None, stock: str | None = "High", **extra) -> GpuOffer:
    return GpuOffer(gpu_type_id=gpu_id, display_name=gpu_id, memory_gb=memory, price_per_gpu_hour=price, stock=stock, **extra)


OFFERS = [
    offer(H100, 80, 2.99),
    offer(A6000, 48, 0.49),
    offer(L40S, 48, 0.86),
    offer(H200, 141, 3.99),
    offer(A100, 80, 1.74),
]


def fixed(per_gpu_gib: float, calls: list[int] | None = None):
    """An estimator that needs `per_gpu_gib / count` per GPU and records the requested counts."""

    def estimator(count: int) -> MemoryEstimate:
        if calls is not None:
            calls.append(count)
        return MemoryEstimate(method="full", gpu_count=count, per_gpu_bytes=int(per_gpu_gib * GIB / count), training_gpus=count)

    return estimator


def ids(candidates, fits=True):
    return [c.gpu_type_id for c in candidates if c.fits is fits]


def test_usable_memory_rule():
    assert usable_bytes(A100, 80) == int(79.1 * GIB)
    assert usable_bytes(L40S, 48) == int(44.4 * GIB)
    assert usable_bytes("Some New Card", 80) == int(80 * GIB * 0.985)


def test_prefer_policy_order():
    ranked = rank_candidates(OFFERS, RunSpec(repo_id="m", gpu_count=1), fixed(30))
    assert ids(ranked) == [L40S, A100, H100, A6000, H200]


def test_cheapest_policy_order():
    spec = RunSpec(repo_id="m", gpu_count=2, gpu_policy="cheapest")
    ranked = rank_candidates(OFFERS, spec, fixed(30))
    assert ids(ranked) == [A6000, L40S, A100, H100, H200]
    assert ranked[0].price_per_hour == pytest.approx(0.98)


def test_forced_type_matches_id_exactly():
    spec = RunSpec(repo_id="m", gpu_count=1, gpu_type=H100)
    ranked = rank_candidates(OFFERS, spec, fixed(30))
    assert [c.gpu_type_id for c in ranked] == [H100]


def test_unknown_type_lists_valid_ids():
    spec = RunSpec(repo_id="m", gpu_count=1, gpu_type="H100")
    with pytest.raises(UsageError) as raised:
        rank_candidates(OFFERS, spec, fixed(30))
    assert "'H100'" in raised.value.message
    assert A100 in raised.value.fix
    assert H100 in raised.value.fix


def test_count_is_smallest_that_fits():
    calls: list[int] = []
    ranked = rank_candidates(OFFERS, RunSpec(repo_id="m"), fixed(150, calls))
    by_id = {c.gpu_type_id: c.gpu_count for c in ranked if c.fits}
    assert by_id[L40S] == 4
    assert by_id[A100] == 2
    assert by_id[H200] == 2
    assert sorted(set(calls)) == [1, 2, 4]


def test_stock_low_ranks_below_high():
    offers = [offer(A100, 80, 1.39, stock="Low", cloud_type="COMMUNITY"), offer(A100, 80, 1.74, stock="Medium", cloud_type="SECURE")]
    ranked = rank_candidates(offers, RunSpec(repo_id="m", gpu_count=1), fixed(30))
    assert [c.cloud_type for c in ranked] == ["SECURE", "COMMUNITY"]


def test_null_stock_means_not_offered():
    offers = [offer(L40S, 48, 0.86, stock=None), offer(A100, 80, 1.74)]
    ranked = rank_candidates(offers, RunSpec(repo_id="m", gpu_count=1), fixed(30))
    assert ids(ranked) == [A100]
    assert ranked[1].gpu_type_id == L40S
    assert "not offered" in ranked[1].reason
    catalogue = [offer(L40S, 48, 0.86, stock=None, source="catalogue")]
    assert ids(rank_candidates(catalogue, RunSpec(repo_id="m", gpu_count=1), fixed(30))) == [L40S]


def test_non_fitting_rows_follow_fitting():
    ranked = rank_candidates(OFFERS, RunSpec(repo_id="m", gpu_count=1), fixed(60))
    assert [c.fits for c in ranked] == [True, True, True, False, False]
    assert ids(ranked, fits=False) == [L40S, A6000]
    assert "needs 60.0 GiB per GPU" in ranked[3].reason
    assert ranked[3].needed_bytes == int(60 * GIB)


def test_max_price_filters():
    spec = RunSpec(repo_id="m", gpu_count=1, max_price_per_hour=1.0)
    ranked = rank_candidates(OFFERS, spec, fixed(30))
    assert ids(ranked) == [L40S, A6000]
    assert all("above the maximum" in c.reason for c in ranked if not c.fits)


def test_colocate_fraction_added_per_card():
    def estimator(count: int) -> MemoryEstimate:
        return MemoryEstimate(method="full", gpu_count=count, per_gpu_bytes=int(40 * GIB), training_gpus=count, reserved_fraction=0.3)

    ranked = rank_candidates(OFFERS, RunSpec(repo_id="m", gpu_count=1), estimator)
    a100 = next(c for c in ranked if c.gpu_type_id == A100)
    assert a100.needed_bytes == int(40 * GIB) + int(0.3 * usable_bytes(A100, 80))
    assert a100.fits
    assert not next(c for c in ranked if c.gpu_type_id == L40S).fits


def test_estimated_cost_with_max_steps():
    spec = RunSpec(repo_id="m", gpu_count=1, max_steps=100)
    ranked = rank_candidates(OFFERS, spec, fixed(30), params=1_000_000_000)
    assert all(c.estimated_cost is not None and c.estimated_cost > 0 for c in ranked if c.fits)
    no_steps = rank_candidates(OFFERS, RunSpec(repo_id="m", gpu_count=1), fixed(30), params=1_000_000_000)
    assert all(c.estimated_cost is None for c in no_steps)


def test_gemma_grpo_l40s_does_not_fit(facts):
    gemma = facts("unsloth/gemma-2b").model_copy(update={"parameter_count": 2_506_172_416})
    spec = RunSpec(repo_id="unsloth/gemma-2b", trainer="openr1-grpo", gpu_count=1, vllm_gpu_memory_utilization=0.3)

    def estimator(count: int, gpu_memory_bytes: int | None = None) -> MemoryEstimate:
        return estimate_memory(spec, gemma, count, gpu_memory_bytes=gpu_memory_bytes)

    on_l40s = estimator(1, gpu_memory_bytes=usable_bytes(L40S, 48))
    assert on_l40s.method == "full"
    assert on_l40s.per_gpu_bytes > usable_bytes(L40S, 48)

    ranked = rank_candidates(OFFERS, spec, estimator)
    l40s = next(c for c in ranked if c.gpu_type_id == L40S)
    assert not l40s.fits
    assert "needs" in l40s.reason
    assert ids(ranked) == [A100, H100, H200]

    more_gpus = rank_candidates(OFFERS, spec.model_copy(update={"gpu_count": None}), estimator)
    assert more_gpus[0].gpu_type_id == L40S
    assert more_gpus[0].fits
    assert more_gpus[0].gpu_count == 2


def test_server_mode_leaves_training_gpu():
    spec = RunSpec(repo_id="m", trainer="openr1-grpo", vllm_mode="server", vllm_server_gpus=2)
    (candidate,) = rank_candidates([offer("NVIDIA H100 80GB HBM3", 80, 2.5)], spec, fixed(10))
    assert candidate.fits
    assert candidate.gpu_count == 4
