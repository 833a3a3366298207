"""Fixtures for the Hugging Face plugin tests: the Hub emulator and settings that point at it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emulators.hub.fixture import hub_emulator  # noqa: E402,F401
from emulators.hub.server import HubEmulator  # noqa: E402
from podsmith_core.settings import Settings  # noqa: E402

WRITE_TOKEN = "hf_writeTOKENalice0123456789"
READ_TOKEN = "hf_readTOKENalice0123456789"


@pytest.fixture(autouse=True)
def _hub_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Keep huggingface_hub away from the real user cache and any token stored by `hf auth login`.
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HUGGINGFACE_HUB_TOKEN", raising=False)


@pytest.fixture
def hub_settings(hub_emulator: HubEmulator, tmp_path: Path) -> Callable[..., Settings]:
    """Return a factory of Settings aimed at the emulator: `hub_settings(token=..., WANDB_API_KEY=...)`."""

    def make(token: str | None = None, **values: str) -> Settings:
        environ = {"HF_ENDPOINT": hub_emulator.url, **values}
        if token:
            environ["HF_TOKEN"] = token
        project = tmp_path / "project"
        project.mkdir(exist_ok=True)
        return Settings.load(environ=environ, project_dir=project)

    return make
