"""Commands that look after runs and Pods: `status`, `logs`, `down`, `gpus`."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import click

from podsmith_core.cli_errors import handle_errors


def _when(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M")


@click.command()
@click.option("--refresh", is_flag=True, help="Ask each provider for its podsmith Pods and report orphans.")
@click.option("--env-file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def status(refresh: bool, env_file: str | None, as_json: bool) -> None:
    """Show recent runs and the Pods podsmith created."""
    from podsmith_core.state import StateStore

    state = StateStore()
    runs = state.runs()
    pods = state.pods()
    orphans: list[dict[str, Any]] = []
    if refresh:
        from podsmith_core.plugins import build_plugin_host
        from podsmith_core.settings import Settings

        orphans = reconcile(state, build_plugin_host(), Settings.load(env_file=env_file))
        pods = state.pods()
    if as_json:
        payload = {
            "runs": [vars(run) for run in runs],
            "pods": [{k: v for k, v in vars(pod).items() if k != "handle"} for pod in pods],
            "orphans": orphans,
        }
        click.echo(json.dumps(payload, indent=2))
        return
    click.echo("Runs:")
    for run in runs:
        click.echo(f"  {run.run_id}  {_when(run.created_at)}  {run.status:<12} {run.trainer:<12} {run.repo_id}")
    click.echo("Pods:")
    for pod in pods:
        price = f"${pod.price_per_hour:.2f}/h" if pod.price_per_hour else ""
        machine = f"{pod.gpu_count}x {pod.gpu_type_id}" if pod.gpu_count else "CPU"
        click.echo(f"  {pod.name:<22} {pod.provider:<8} {pod.status:<15} {machine} {price}")
    for orphan in orphans:
        click.echo(
            f"Orphan: {orphan['name']} ({orphan['pod_id']}) on {orphan['provider']} is {orphan['status']} "
            f"and not in podsmith's record. Remove it with: podsmith down {orphan['name']} --provider {orphan['provider']}"
        )


def reconcile(state, host, settings) -> list[dict[str, Any]]:
    """Ask every installed provider for its podsmith Pods; return the live ones the record does not know.

    A provider that cannot list its Pods (no key, no host) is skipped with a warning, and its recorded Pods
    keep their status, because only a provider's own list can show that a Pod is gone.
    """
    known = {pod.name: pod for pod in state.pods()}
    orphans = []
    for provider in host.names("provider"):
        try:
            records = host.caller("list_pods", provider, None)(name_prefix="podsmith-", settings=settings) or []
        except Exception as exc:  # noqa: BLE001 - one provider's failure must not hide the others
            click.echo(f"warning: skipped {provider}: {exc}", err=True)
            continue
        live = {record.name for record in records}
        for record in records:
            if record.name not in known and record.status not in ("TERMINATED", "EXITED"):
                orphans.append({"provider": provider, **record.model_dump()})
        for name, pod in known.items():
            if pod.provider == provider and pod.status in ("running", "creating", "kept") and name not in live:
                state.update_pod(name, status="terminated")
    return orphans


@click.command()
@click.argument("run_id", required=False)
@click.option("--follow", is_flag=True, help="Follow the training log on a Pod started with --keep-pod.")
@click.option("--env-file", type=click.Path(dir_okay=False))
@handle_errors
def logs(run_id: str | None, follow: bool, env_file: str | None) -> None:
    """Print a run's log (the latest run when RUN_ID is omitted); --follow reattaches to a kept Pod."""
    from podsmith_core.errors import UsageError
    from podsmith_core.state import StateStore

    state = StateStore()
    run = state.run(run_id) if run_id else next(iter(state.runs(limit=1)), None)
    if run is None:
        raise UsageError(f"No run {run_id!r} in podsmith's record." if run_id else "No runs recorded yet.",
                         "List runs with `podsmith status`.")
    if not follow:
        if run.log_path and Path(run.log_path).is_file():
            click.echo(Path(run.log_path).read_text(encoding="utf-8"), nl=False)
        return
    pod = next((p for p in state.pods() if p.run_id == run.run_id and p.handle and p.status == "kept"), None)
    if pod is None:
        raise UsageError(f"Run {run.run_id} has no kept Pod to follow.", "Start the run with --keep-pod to follow it later.")
    status = _follow_pod(pod, env_file)
    state.update_run(run.run_id, status="succeeded" if status == 0 else "failed")


def _follow_pod(pod_row, env_file: str | None) -> int:
    from podsmith_core.models import PodHandle
    from podsmith_core.settings import Settings
    from podsmith_core.transport import connect
    from podsmith_core.transport.jobs import RemoteJob

    pod = PodHandle.model_validate_json(pod_row.handle)
    with connect(pod, Settings.load(env_file=env_file)) as transport:
        status = RemoteJob(transport, pod.workspace, "train").follow(lambda line: click.echo(f"[train] {line}"))
    click.echo(f"Training exited with status {status}.")
    return status


@click.command()
@click.argument("name")
@click.option("--provider", help="Provider of a Pod that is not in podsmith's record (an orphan).")
@click.option("--env-file", type=click.Path(dir_okay=False))
@handle_errors
def down(name: str, provider: str | None, env_file: str | None) -> None:
    """Terminate the Pod NAME (as shown by `podsmith status`)."""
    from podsmith_core.errors import UsageError
    from podsmith_core.models import PodHandle
    from podsmith_core.cleanup import pod_label
    from podsmith_core.plugins import build_plugin_host
    from podsmith_core.settings import Settings
    from podsmith_core.state import StateStore

    state = StateStore()
    row = state.pod(name)
    if row is None and provider is None:
        raise UsageError(f"Pod {name!r} is not in podsmith's record.", "Pass --provider to remove it anyway.")
    provider = provider or row.provider
    if row is not None and row.handle:
        pod = PodHandle.model_validate_json(row.handle)
    else:
        pod = PodHandle(pod_id=(row.pod_id if row and row.pod_id else name), name=name, provider=provider,
                        workspace=(row.workspace if row and row.workspace else ""))
    host = build_plugin_host()
    host.require("provider", provider)
    settings = Settings.load(env_file=env_file)
    if row is None:
        # Not in podsmith's record: only remove a Pod the provider really lists under that name.
        listed = host.caller("list_pods", provider, None)(name_prefix=name, settings=settings) or []
        match = next((record for record in listed if record.name == name), None)
        if match is None:
            raise UsageError(f"No Pod named {name!r} found at provider {provider!r}.",
                             "Check the name with `podsmith status --refresh`.")
        pod = pod.model_copy(update={"pod_id": match.pod_id})
    host.caller("destroy_pod", provider, None)(pod=pod, settings=settings)
    if row is not None:
        state.update_pod(name, status="terminated")
    click.echo(f"Pod {pod_label(pod)} terminated.")


@click.command()
@click.option("--provider", default="runpod", show_default=True)
@click.option("--host", help="For --provider ssh: the machine as user@host[:port].")
@click.option("--cloud-type", type=click.Choice(["ALL", "SECURE", "COMMUNITY"]), default="ALL", show_default=True)
@click.option("--env-file", type=click.Path(dir_okay=False))
@handle_errors
def gpus(provider: str, host: str | None, cloud_type: str, env_file: str | None) -> None:
    """List the GPU types a provider offers, with memory, price and stock."""
    from podsmith_core.models import MemoryEstimate, RunSpec
    from podsmith_core.plugins import build_plugin_host
    from podsmith_core.render import print_candidates
    from podsmith_core.settings import Settings

    plugins = build_plugin_host()
    plugins.require("provider", provider)
    spec = RunSpec(repo_id="-", provider=provider, host=host, cloud_type=cloud_type, gpu_policy="cheapest")

    def no_need(gpu_count: int) -> MemoryEstimate:
        return MemoryEstimate(method="none", gpu_count=gpu_count, per_gpu_bytes=0)

    candidates = plugins.caller("select_gpu", provider, None)(
        spec=spec, estimator=no_need, settings=Settings.load(env_file=env_file)
    )
    print_candidates(candidates or [], None, title=f"GPU types offered by {provider}")
