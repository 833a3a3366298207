"""Jinja2 templates: a user directory (`PODSMITH_TEMPLATES_DIR`) overrides the ones shipped with podsmith."""

from __future__ import annotations

import functools
import os
import shlex
from typing import Any

import jinja2


@functools.lru_cache(maxsize=4)
def environment(override_dir: str | None = None) -> jinja2.Environment:
    loaders: list[jinja2.BaseLoader] = []
    if override_dir:
        loaders.append(jinja2.FileSystemLoader(override_dir))
    loaders.append(jinja2.PackageLoader("podsmith_templates", ""))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    # Values rendered into shell scripts go through `shell_quote`, never raw interpolation.
    env.filters["shell_quote"] = shlex.quote
    return env


def render(name: str, **context: Any) -> str:
    """Render template `name` (a path under templates/, e.g. "trl/grpo.yaml.j2")."""
    override_dir = os.environ.get("PODSMITH_TEMPLATES_DIR")
    return environment(override_dir).get_template(name).render(**context)
