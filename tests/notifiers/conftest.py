"""Fixtures for the notifier tests: the recording HTTP server, settings, notifiers closed after each test."""

from __future__ import annotations

import socket
import sys
from pathlib import Path
from typing import Callable, Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emulators.recorder import Recorder, Reply, recorder  # noqa: E402,F401
from podsmith_core.settings import Settings  # noqa: E402
from podsmith_notifiers.notifier import HttpNotifier  # noqa: E402

from notifier_test_values import WEBHOOK_TOKEN  # noqa: E402


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Build Settings from keyword values only: no `.env`, no process environment."""

    def build(**values: str) -> Settings:
        return Settings.load(cli=values, environ={}, project_dir=tmp_path)

    return build


@pytest.fixture
def closing() -> Iterator[Callable[[HttpNotifier], HttpNotifier]]:
    """Register notifiers to close after the test, so no background thread outlives it."""
    opened: list[HttpNotifier] = []

    def track(notifier: HttpNotifier) -> HttpNotifier:
        opened.append(notifier)
        return notifier

    yield track
    for notifier in opened:
        notifier.close()


@pytest.fixture
def dead_url() -> str:
    """A loopback URL on a port nothing listens on, so connecting is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/hooks/{WEBHOOK_TOKEN}"


__all__ = ["Recorder", "Reply", "recorder"]
