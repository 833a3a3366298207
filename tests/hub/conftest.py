"""Fixtures for the Hugging Face plugin tests: the Hub emulator and settings that point at it."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emulators.hub.fixture import hub_emulator  # noqa: E402,F401
