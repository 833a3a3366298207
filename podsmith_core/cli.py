"""The `podsmith` command line. Domain errors become one clear line here; PODSMITH_DEBUG=1 shows tracebacks."""

from __future__ import annotations

import json
import sys
from typing import Any, Callable

import click

from podsmith_core.cli_errors import handle_errors
from podsmith_core.options import build_spec, check_options, cli_settings, run_options


def _session(params: dict[str, Any]):
    from podsmith_core.pipeline import Session
    from podsmith_core.plugins import build_plugin_host
    from podsmith_core.settings import Settings

    settings = Settings.load(cli=cli_settings(params), env_file=params.get("env_file"))
    spec = build_spec(params)
    return Session(spec, settings, build_plugin_host())


@click.group()
@click.version_option(package_name="podsmith")
def main() -> None:
    """Fine-tune a Hugging Face model on a rented GPU Pod and push the result to the Hub."""
    from podsmith_core.log_setup import configure_logging

    configure_logging()


@main.command()
@run_options
@click.option("-y", "--yes", is_flag=True, help="Start without asking for confirmation.")
@handle_errors
def run(yes: bool, **params: Any) -> None:
    """Check, plan, create a Pod, train, push, and remove the Pod."""
    from podsmith_core.pipeline import execute, make_plan
    from podsmith_core.render import print_plan
    from podsmith_core.state import StateStore

    session = _session(params)
    plan = make_plan(session, intent="run")
    print_plan(plan)
    if not yes:
        if not sys.stdin.isatty():
            raise click.UsageError("run needs confirmation before it creates a Pod: pass -y when no terminal is attached.")
        click.confirm("Create the Pod and start training?", abort=True)
    state = StateStore()
    execute(session, plan, state)
    click.echo(f"Run {session.run_id} finished. Logs: podsmith logs {session.run_id}")


@main.command()
@run_options
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@handle_errors
def plan(as_json: bool, **params: Any) -> None:
    """Show what `run` would do and what it would cost; spends nothing."""
    from podsmith_core.errors import CheckFailed, PodsmithError
    from podsmith_core.pipeline import make_plan
    from podsmith_core.render import plan_json, print_plan

    try:
        result = make_plan(_session(params), intent="plan")
    except CheckFailed as exc:
        if as_json:
            click.echo(json.dumps({"findings": [f.model_dump(mode="json") for f in exc.all_findings]}, indent=2))
        raise
    except PodsmithError as exc:
        if as_json:
            # Scripts reading --json get a document for every outcome; the error also goes to stderr.
            click.echo(json.dumps({"error": {"message": exc.message, "fix": exc.fix}}, indent=2))
        raise
    if as_json:
        click.echo(json.dumps(plan_json(result), indent=2))
    else:
        print_plan(result)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def plugins(as_json: bool) -> None:
    """List installed plugins: name, version, kind, hooks, and load failures."""
    from podsmith_core.plugins import build_plugin_host

    host = build_plugin_host(warn=False)
    rows = [info.as_dict() for info in sorted(host.infos, key=lambda info: (info.kind, info.name))]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        status = f"FAILED: {row['error']}" if row["error"] else ", ".join(row["hooks"])
        source = f"{row['distribution']} {row['version']}"
        click.echo(f"{row['name']:<16} {row['kind']:<9} {source:<32} {status}")


@main.command()
@check_options
@handle_errors
def check(**params: Any) -> None:
    """Show every setting with its source and, with --repo-id, run the pre-flight checks of `plan`."""
    from podsmith_core.pipeline import make_plan
    from podsmith_core.render import print_findings, print_settings
    from podsmith_core.settings import Settings

    print_settings(Settings.load(cli=cli_settings(params), env_file=params.get("env_file")))
    if params["repo_id"] is None:
        return
    plan = make_plan(_session(params), intent="plan")
    print_findings(plan.findings)
    click.echo("All checks passed.")


from podsmith_core.cli_manage import down, gpus, logs, status  # noqa: E402

for command in (down, gpus, logs, status):
    main.add_command(command)


if __name__ == "__main__":
    main()
