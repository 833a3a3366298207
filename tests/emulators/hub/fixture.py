"""The `hub_emulator` pytest fixture: a started Hub emulator with the fixture repositories, stopped afterwards."""

from __future__ import annotations

from typing import Iterator

import pytest

from .server import HubEmulator


@pytest.fixture
def hub_emulator() -> Iterator[HubEmulator]:
    emulator = HubEmulator().start()
    try:
        yield emulator
    finally:
        emulator.stop()
