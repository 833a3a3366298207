"""pytest fixtures for plugin authors; enable with `pytest_plugins = ["podsmith_core.testing.fixtures"]`."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from podsmith_core.testing import FakeProvider, RecordingNotifier, temporary_state


@pytest.fixture
def podsmith_home(tmp_path: Path) -> Iterator[Path]:
    """A temporary podsmith state directory (PODSMITH_HOME) for one test."""
    home = tmp_path / "podsmith-home"
    home.mkdir()
    with temporary_state(home):
        yield home


@pytest.fixture
def recording_notifier() -> RecordingNotifier:
    return RecordingNotifier()


@pytest.fixture
def fake_provider(tmp_path: Path) -> FakeProvider:
    return FakeProvider(tmp_path / "fake-pods")
