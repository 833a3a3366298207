"""Access to podsmith's templates: rendered ones (Jinja2) and files shipped verbatim to the Pod."""

from __future__ import annotations

import os
from typing import Any


def render(name: str, **context: Any) -> str:
    """Render template `name` through the core environment, which honours PODSMITH_TEMPLATES_DIR."""
    from podsmith_core.templates import render as core_render

    return core_render(name, **context)


def source(name: str) -> str:
    """Return the text of template `name` unrendered, from the override directory first."""
    from podsmith_core.templates import environment

    env = environment(os.environ.get("PODSMITH_TEMPLATES_DIR"))
    assert env.loader is not None
    text, _filename, _uptodate = env.loader.get_source(env, name)
    return text
