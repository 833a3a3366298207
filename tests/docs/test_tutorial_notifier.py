"""docs/tutorial-notifier.md shows the example package's files as they are."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TUTORIAL = ROOT / "docs" / "tutorial-notifier.md"
MARKED_BLOCK = re.compile(r"<!-- (file|excerpt): (\S+) -->\n```\w*\n(.*?)```", re.DOTALL)


def marked_blocks() -> list[tuple[str, str, str]]:
    return MARKED_BLOCK.findall(TUTORIAL.read_text(encoding="utf-8"))


def test_tutorial_shows_package_files():
    shown = {path for kind, path, _ in marked_blocks() if kind == "file"}

    assert shown == {
        "examples/podsmith-file-notifier/pyproject.toml",
        "examples/podsmith-file-notifier/podsmith_file_notifier/__init__.py",
        "examples/podsmith-file-notifier/tests/conftest.py",
    }


@pytest.mark.parametrize("kind, path, block", marked_blocks(), ids=lambda value: str(value)[:40])
def test_block_matches_file(kind, path, block):
    source = (ROOT / path).read_text(encoding="utf-8")

    if kind == "file":
        assert block == source
    else:
        assert block in source


def test_tutorial_entry_point_matches():
    pyproject = (ROOT / "examples/podsmith-file-notifier/pyproject.toml").read_text(encoding="utf-8")

    assert 'file-notifier = "podsmith_file_notifier:plugin"' in pyproject
    assert "file-notifier    notifier  podsmith-file-notifier" in TUTORIAL.read_text(encoding="utf-8")
