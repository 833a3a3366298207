"""Render the files the Open R1 trainer writes on the Pod: recipe, Accelerate config, scripts, pins."""

from __future__ import annotations

import json
import os
import shlex
from typing import Any

import yaml

from podsmith_core.models import PlannedFile

from podsmith_openr1.pins import IMAGE_ENV_DIR, OPENR1_GIT_URL, OPENR1_REPO, StackPins

# Paths relative to the Pod workspace.
PLAN_DIR = "openr1"
SETUP_SCRIPT = f"{PLAN_DIR}/setup.sh"
LAUNCH_SCRIPT = f"{PLAN_DIR}/launch.sh"
RECIPE = f"{PLAN_DIR}/recipe.yaml"
ACCELERATE_CONFIG = f"{PLAN_DIR}/accelerate.yaml"
STACK_MARKER = f"{PLAN_DIR}/stack.txt"
OVERRIDES = f"{PLAN_DIR}/overrides.txt"
CHECK_STACK = f"{PLAN_DIR}/check_stack.py"
MERGE_SCRIPT = f"{PLAN_DIR}/merge.py"
MANIFEST = f"{PLAN_DIR}/manifest.json"


def render(name: str, **context: Any) -> str:
    """Render `templates/openr1/<name>` with the `shell_quote` filter available."""
    from podsmith_core.templates import environment
    from podsmith_core.templates import render as core_render

    # NOTE: the core environment has no shell-quoting filter yet, so it is added here until the core has one.
    environment(os.environ.get("PODSMITH_TEMPLATES_DIR")).filters.setdefault("shell_quote", shlex.quote)
    return core_render(f"openr1/{name}", **context)


class _RecipeDumper(yaml.SafeDumper):
    """Writes multi-line strings (chat templates, system prompts) as literal blocks, so they read as written."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_RecipeDumper.add_representer(str, _represent_str)


def recipe_yaml(recipe: dict[str, Any], header: str) -> str:
    body = yaml.dump(recipe, Dumper=_RecipeDumper, sort_keys=False, allow_unicode=True, width=100)
    return f"# {header}\n{body}"


def shell_context(pins: StackPins, debug: bool) -> dict[str, Any]:
    """Return the values every shell template uses."""
    return {
        "pins": pins,
        "debug": debug,
        "image_env_dir": IMAGE_ENV_DIR,
        "git_url": OPENR1_GIT_URL,
        "tarball_url": f"https://github.com/{OPENR1_REPO}/archive/{pins.openr1_commit}.tar.gz",
    }


def stack_files(pins: StackPins, expected_versions: dict[str, str], required_imports: list[str]) -> list[PlannedFile]:
    return [
        PlannedFile(path=STACK_MARKER, content=pins.marker()),
        PlannedFile(path=OVERRIDES, content="\n".join(pins.overrides()) + "\n"),
        PlannedFile(
            path=CHECK_STACK,
            content=render(
                "check_stack.py.j2", expected_versions=expected_versions, required_imports=required_imports
            ),
        ),
    ]


def manifest(data: dict[str, Any]) -> PlannedFile:
    return PlannedFile(path=MANIFEST, content=json.dumps(data, indent=2, sort_keys=True) + "\n")
