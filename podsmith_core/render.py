"""Console rendering of plans, findings, settings and candidate tables (rich)."""

from __future__ import annotations

from typing import Any

from podsmith_core.models import GIB, Finding, GpuCandidate, MemoryEstimate
from podsmith_core.pipeline import Plan
from podsmith_core.settings import Settings

LEVEL_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


# Width used when the output is not a terminal (a log file, CI), so tables are not squeezed to 80 columns.
PIPE_WIDTH = 160


def console(stderr: bool = False):
    import shutil

    from rich.console import Console

    width = None if shutil.get_terminal_size(fallback=(0, 0)).columns else PIPE_WIDTH
    return Console(highlight=False, stderr=stderr, width=width)


def print_findings(findings: list[Finding], stderr: bool = False) -> None:
    """Print findings, one line each; their text is never read as rich markup."""
    from rich.text import Text

    out = console(stderr)
    for finding in findings:
        line = Text(f"{finding.level:>7} ", style=LEVEL_STYLE[finding.level])
        line.append(finding.message)
        if finding.fix:
            line.append(f" {finding.fix}", style="dim")
        # Soft wrapping keeps each finding one line in files and pipes, so it can be searched.
        out.print(line, soft_wrap=True)


def print_settings(settings: Settings) -> None:
    from rich.table import Table

    table = Table(title="Settings", title_justify="left")
    table.add_column("setting")
    table.add_column("value")
    table.add_column("source")
    for setting in settings.rows():
        table.add_row(*_cells(setting.key, setting.display(), setting.source))
    console().print(table)


def _cells(*values: str) -> list:
    """Wrap table cells as plain text: provider names and reasons may contain `[`, which rich reads as markup."""
    from rich.text import Text

    return [Text(value) for value in values]


def _gib(value: int) -> str:
    return f"{value / GIB:.1f} GiB"


def print_estimate(estimate: MemoryEstimate) -> None:
    from rich.table import Table

    title = f"Memory per GPU: {_gib(estimate.per_gpu_bytes)} ({estimate.method}, {estimate.gpu_count} GPU)"
    table = Table(title=title, title_justify="left")
    table.add_column("term")
    table.add_column("memory", justify="right")
    table.add_column("note")
    for term in estimate.terms:
        table.add_row(*_cells(term.name, _gib(term.bytes), term.note))
    console().print(table)
    for note in estimate.notes:
        console().print(f"  note: {note}", markup=False)


def print_candidates(
    candidates: list[GpuCandidate], chosen: GpuCandidate | None, title: str = "GPU candidates (failover order)"
) -> None:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in ("", "GPU", "count", "cloud", "$/h", "stock", "need/GPU", "usable/GPU", "fits", "note"):
        table.add_column(column)
    for candidate in candidates:
        mark = "→" if candidate is chosen else ""
        price = f"{candidate.price_per_hour:.2f}" if candidate.price_per_hour is not None else "?"
        table.add_row(
            *_cells(
                mark, candidate.display_name, str(candidate.gpu_count), candidate.cloud_type, price,
                candidate.stock or "-", _gib(candidate.needed_bytes) if candidate.needed_bytes else "-",
                _gib(candidate.usable_bytes), "yes" if candidate.fits else "no", candidate.reason,
            )
        )
    console().print(table)
    sources = {candidate.source for candidate in candidates}
    if "catalogue" in sources:
        console().print(
            "  Prices and stock come from podsmith's bundled catalogue (no provider key set); "
            "live prices may differ.", markup=False,
        )


def print_plan(plan: Plan) -> None:
    out = console()
    print_findings(plan.findings)
    if plan.trainer_plan is not None:
        out.print(f"\nTrainer {plan.trainer_plan.trainer}", style="bold", markup=False)
        for key, value in plan.trainer_plan.summary.items():
            if value is not None:
                out.print(f"  {key}: {value}", markup=False, soft_wrap=True)
        out.print("  files written on the Pod: " + ", ".join(f.path for f in plan.trainer_plan.files), markup=False)
    if plan.estimate is not None:
        out.print()
        print_estimate(plan.estimate)
    out.print()
    print_candidates(plan.candidates, plan.chosen)
    chosen = plan.chosen
    if chosen is not None:
        price = f"${chosen.price_per_hour:.2f}/h" if chosen.price_per_hour is not None else "price unknown"
        cost = f", estimated cost ${chosen.estimated_cost:.2f}" if chosen.estimated_cost is not None else ""
        machine = chosen.display_name if chosen.gpu_count == 0 else f"{chosen.gpu_count}x {chosen.display_name}"
        out.print(f"\nPlan: {machine} ({chosen.cloud_type}), {price}{cost}.", markup=False)


def plan_json(plan: Plan) -> dict[str, Any]:
    chosen = plan.chosen
    return {
        "spec": plan.spec.model_dump(mode="json"),
        "facts": plan.facts.model_dump(mode="json", exclude={"chat_template"}),
        "findings": [finding.model_dump(mode="json") for finding in plan.findings],
        "trainer": None
        if plan.trainer_plan is None
        else {
            "name": plan.trainer_plan.trainer,
            "summary": plan.trainer_plan.summary,
            "notices": plan.trainer_plan.notices,
            "files": [file.path for file in plan.trainer_plan.files],
        },
        "estimate": plan.estimate.model_dump(mode="json") if plan.estimate else None,
        "candidates": [candidate.model_dump(mode="json") for candidate in plan.candidates],
        "chosen": chosen.model_dump(mode="json") if chosen else None,
    }
