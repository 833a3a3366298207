"""Turn domain errors into one clear line at the command-line edge."""

from __future__ import annotations

import functools
import os
import sys
from typing import Any, Callable

import click


def handle_errors(function: Callable) -> Callable:
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from podsmith_core.errors import PodsmithError
        from podsmith_core.pipeline import Terminated

        try:
            return function(*args, **kwargs)
        except PodsmithError as exc:
            if os.environ.get("PODSMITH_DEBUG") == "1":
                raise
            click.echo(f"error: {exc.message}", err=True)
            if exc.fix:
                click.echo(f"  fix: {exc.fix}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("podsmith: interrupted.", err=True)
            sys.exit(130)
        except Terminated:
            click.echo("podsmith: terminated.", err=True)
            sys.exit(143)

    return wrapper
