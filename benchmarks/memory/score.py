"""Score the memory estimator against measured peaks, beside two naive baselines.

Run: `.venv/bin/python benchmarks/memory/score.py` (prints the table); `--write` also rewrites
benchmarks/memory/RESULTS.md. Baseline 1 is the original tool's rule (1× the weight files); baseline 2 is
accelerate's `estimate-memory` "Training using Adam" column: the largest single part (model, gradients,
optimizer, step) of the headless model (no lm_head) in the run's dtype, 4× the fp32 size for float32 and
2× the fp32 size (the AdamW moments) for bf16/fp16.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from podsmith_core.memory.cards import usable_bytes
from podsmith_core.memory.estimator import estimate_memory
from podsmith_core.memory.ranking import rank_candidates
from podsmith_core.memory.shape import model_shape
from podsmith_core.models import GpuOffer, ModelFacts, RunSpec

HERE = Path(__file__).resolve().parent
GB = 1000**3
TOLERANCE = 0.15

# GPU ids and nominal memory the selector ranks (the provider's catalogue), without prices.
OFFERS = [
    ("NVIDIA L40S", 48), ("NVIDIA A100-SXM4-80GB", 80), ("NVIDIA A100 80GB PCIe", 80),
    ("NVIDIA H100 80GB HBM3", 80), ("NVIDIA H100 PCIe", 80), ("NVIDIA H100 NVL", 94), ("NVIDIA H200", 141),
    ("NVIDIA B200", 180), ("NVIDIA RTX A6000", 48), ("NVIDIA RTX 6000 Ada Generation", 48),
    ("NVIDIA GeForce RTX 4090", 24), ("NVIDIA A40", 48), ("NVIDIA L4", 24),
]


def _load_cases():
    spec = importlib.util.spec_from_file_location("podsmith_memory_cases", HERE / "cases.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("podsmith_memory_cases", module)
    spec.loader.exec_module(module)
    return module


cases_module = _load_cases()


def catalogue_offers() -> list[GpuOffer]:
    return [
        GpuOffer(gpu_type_id=gpu_id, display_name=gpu_id, memory_gb=memory, stock="High", source="catalogue")
        for gpu_id, memory in OFFERS
    ]


def facts_for(model: str) -> ModelFacts:
    config = cases_module.MODEL_CONFIGS[model]
    facts = ModelFacts(repo_id=model, config=config)
    params = model_shape(facts).parameter_count()
    return facts.model_copy(update={"parameter_count": params})


@dataclass
class Row:
    case: object
    estimate: float
    error: float | None
    baseline_weights: float
    baseline_accelerate: float
    pick: str
    pick_ok: bool | None
    naive_pick: str
    naive_pick_ok: bool | None
    within: bool


def _spec(case) -> RunSpec:
    return RunSpec(repo_id=case.model, gpu_count=case.gpu_count, **case.spec)


def _estimate_bytes(case, spec: RunSpec, facts: ModelFacts, card: int) -> int:
    estimate = estimate_memory(spec, facts, case.gpu_count, gpu_memory_bytes=card, **case.estimator_options)
    return estimate.per_gpu_bytes


def _baselines(case, facts: ModelFacts) -> tuple[float, float]:
    shape = model_shape(facts)
    weights = facts.parameter_count * shape.checkpoint_dtype_bytes
    headless = facts.parameter_count - shape.lm_head_params()
    run_dtype = case.spec.get("torch_dtype", "bfloat16")
    accelerate = headless * (16 if run_dtype == "float32" else 8)
    return weights / GB, accelerate / GB


def _pick(spec: RunSpec, need_of) -> tuple[str, int]:
    """Return the first fitting candidate's id and usable bytes under the "prefer" policy."""
    ranked = rank_candidates(catalogue_offers(), spec, need_of)
    fitting = [candidate for candidate in ranked if candidate.fits]
    if not fitting:
        return "none", 0
    return fitting[0].gpu_type_id, fitting[0].usable_bytes


def max_sequence(case, facts: ModelFacts) -> int:
    """Longest sequence (multiple of 1) whose estimate fits the case's card, by bisection."""
    card = usable_bytes(case.gpu_type_id, case.card_gb)
    low, high = 0, 1 << 20
    while high - low > 1:
        middle = (low + high) // 2
        spec = _spec(case).model_copy(update={"max_prompt_length": middle})
        if _estimate_bytes(case, spec, facts, card) <= card:
            low = middle
        else:
            high = middle
    return low


def score_case(case) -> Row:
    facts = facts_for(case.model)
    spec = _spec(case)
    card = usable_bytes(case.gpu_type_id, 0)
    weights_gb, accelerate_gb = _baselines(case, facts)

    def estimator(count: int, gpu_memory_bytes: int | None = None):
        return estimate_memory(spec, facts, count, gpu_memory_bytes=gpu_memory_bytes, **case.estimator_options)

    def naive(count: int):
        estimate = estimator(count)
        return estimate.model_copy(update={"per_gpu_bytes": int(weights_gb * GB), "reserved_fraction": 0.0})

    if case.kind == "max_seq":
        found = max_sequence(case, facts)
        error = (found - case.measured) / case.measured
        return Row(case, found, error, weights_gb, accelerate_gb, "—", None, "—", None, abs(error) <= TOLERANCE)

    estimate_gb = _estimate_bytes(case, spec, facts, card) / GB
    pick, pick_usable = _pick(spec, estimator)
    naive_pick, naive_usable = _pick(spec, naive)
    if case.kind == "fits":
        fits = estimate_gb * GB <= card
        # Only "it trained" is known here, so the naive pick cannot be judged against a measured peak.
        return Row(case, estimate_gb, None, weights_gb, accelerate_gb, pick, pick != "none", naive_pick,
                   None, fits == bool(case.measured))

    measured_bytes = case.measured * GB
    error = (estimate_gb - case.measured) / case.measured
    return Row(
        case, estimate_gb, error, weights_gb, accelerate_gb,
        pick, pick != "none" and measured_bytes <= pick_usable,
        naive_pick, naive_pick != "none" and measured_bytes <= naive_usable,
        abs(error) <= TOLERANCE,
    )


def score_all() -> list[Row]:
    return [score_case(case) for case in cases_module.CASES]


def _yes_no(value: bool | None) -> str:
    return "—" if value is None else ("yes" if value else "**OOM**")


def _measured_text(case) -> str:
    if case.kind == "max_seq":
        return f"{case.measured:,.0f} tok"
    if case.kind == "fits":
        return "fits"
    return f"{case.measured:.2f}"


def _estimate_text(row: Row) -> str:
    if row.case.kind == "max_seq":
        return f"{row.estimate:,.0f} tok"
    if row.case.kind == "fits":
        return f"{row.estimate:.1f} ({'fits' if row.within else 'does not fit'})"
    return f"{row.estimate:.1f}"


def table(rows: list[Row]) -> str:
    header = (
        "| # | model | settings | hardware | measured GB | estimate GB | error | 1× weights GB | accelerate GB "
        "| pick (estimate) | no OOM | pick (1× weights) | no OOM |"
    )
    lines = [header, "|" + "---|" * 13]
    for row in rows:
        case = row.case
        error = "—" if row.error is None else f"{row.error * 100:+.1f}%"
        lines.append(
            f"| {case.case_id} | {case.model.split('/')[-1]} | {case.settings} | {case.hardware} "
            f"| {_measured_text(case)} | {_estimate_text(row)} | {error} | {row.baseline_weights:.1f} "
            f"| {row.baseline_accelerate:.1f} | {row.pick} | {_yes_no(row.pick_ok)} | {row.naive_pick} "
            f"| {_yes_no(row.naive_pick_ok)} |"
        )
    return "\n".join(lines)


TABLE_START = "<!-- score.py table start -->"
TABLE_END = "<!-- score.py table end -->"


def write_table(path: Path, text: str) -> None:
    """Replace the table between the markers in RESULTS.md, keeping the hand-written text around it."""
    page = path.read_text()
    head, _, rest = page.partition(TABLE_START)
    _, _, tail = rest.partition(TABLE_END)
    path.write_text(f"{head}{TABLE_START}\n{text}\n{TABLE_END}{tail}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite benchmarks/memory/RESULTS.md")
    parser.add_argument("--json", action="store_true", help="print one JSON object per case")
    args = parser.parse_args(argv)

    rows = score_all()
    if args.json:
        for row in rows:
            print(json.dumps({"case": row.case.case_id, "estimate": row.estimate, "error": row.error, "within": row.within}))
    else:
        print(table(rows))
    if args.write:
        write_table(HERE / "RESULTS.md", table(rows))
    misses = [row.case.case_id for row in rows if not row.within]
    print(f"\n{len(rows) - len(misses)}/{len(rows)} cases within ±{TOLERANCE:.0%}" + (f"; misses: {misses}" if misses else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
