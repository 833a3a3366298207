"""Local datasets checked before any Pod exists: the path must exist and is made absolute."""

from __future__ import annotations

from pathlib import Path

from podsmith_core.errors import PlanError

PATH_PREFIXES = (".", "/", "~")


def resolve_dataset_path(name: str) -> str | None:
    """Return the absolute path of a local dataset, or None for a Hub dataset id.

    A name that starts with `.`, `/` or `~` is a path and must exist. Any other name is local only when it
    exists on disk, as `datasets.load_dataset` also decides.
    """
    path = Path(name).expanduser()
    if path.exists():
        return str(path.resolve())
    if name.startswith(PATH_PREFIXES):
        raise PlanError(
            f"Dataset directory {name!r} not found.",
            "Pass an existing directory with --dataset-name, or a Hub dataset id such as org/name.",
        )
    return None

