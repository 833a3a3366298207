"""Turn errors into one clear line at the command-line edge, with every known secret removed."""

from __future__ import annotations

import functools
import os
import sys
from typing import Any, Callable

import click


def _redact(text: str) -> str:
    """Remove the secret values of the current settings (.env and environment) from `text`."""
    from podsmith_core.redact import Redactor
    from podsmith_core.settings import SECRET_KEYS, Settings

    try:
        secrets = Settings.load().secret_values()
    except Exception:  # noqa: BLE001 - an unreadable .env must not hide the error being reported
        secrets = [value for key, value in os.environ.items() if key in SECRET_KEYS and value]
    return Redactor(secrets).redact(text)


def handle_errors(function: Callable) -> Callable:
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from podsmith_core.errors import CheckFailed, PodsmithError
        from podsmith_core.pipeline import Terminated

        debug = os.environ.get("PODSMITH_DEBUG") == "1"
        try:
            return function(*args, **kwargs)
        except CheckFailed as exc:
            if debug:
                raise
            from podsmith_core.render import print_findings

            print_findings(exc.all_findings, stderr=True)
            count = len(exc.findings)
            click.echo(f"error: {count} pre-flight check{'s' if count != 1 else ''} failed; no Pod was created.", err=True)
            sys.exit(1)
        except PodsmithError as exc:
            if debug:
                raise
            click.echo(f"error: {_redact(exc.message)}", err=True)
            if exc.fix:
                click.echo(f"  fix: {_redact(exc.fix)}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("podsmith: interrupted.", err=True)
            sys.exit(130)
        except Terminated:
            click.echo("podsmith: terminated.", err=True)
            sys.exit(143)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit, BrokenPipeError):
            # click ends quietly when the reader of stdout has gone away (`podsmith status | head`).
            raise
        except Exception as exc:  # noqa: BLE001 - the one place where unexpected errors become one line
            if debug:
                raise
            click.echo(f"error: unexpected {type(exc).__name__}: {_redact(str(exc))}", err=True)
            click.echo("  fix: run again with PODSMITH_DEBUG=1 for the traceback, and report it.", err=True)
            sys.exit(1)

    return wrapper
