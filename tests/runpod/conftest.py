"""Fixtures for the Runpod provider tests: the emulator, an SSH client key, settings and a spec."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emulators.runpod import RunpodEmulator, runpod_emulator  # noqa: E402,F401
from podsmith_core.models import RunSpec  # noqa: E402
from podsmith_core.settings import Settings  # noqa: E402
from podsmith_core.testing.sshd import ClientKey, make_client_key  # noqa: E402
from podsmith_runpod.plugin import RunpodProvider  # noqa: E402

from runpod_test_support import HF_TOKEN_VALUE, WANDB_KEY_VALUE  # noqa: E402


@pytest.fixture(scope="session")
def client_key(tmp_path_factory: pytest.TempPathFactory) -> ClientKey:
    return make_client_key(tmp_path_factory.mktemp("runpod-client-key"))


@pytest.fixture
def provider() -> RunpodProvider:
    return RunpodProvider()


@pytest.fixture
def make_settings(
    runpod_emulator: RunpodEmulator, client_key: ClientKey, tmp_path: Path
) -> Callable[..., Settings]:
    """Build settings for the emulator's account; keyword arguments add or override values."""

    def make(**values: str) -> Settings:
        environ = runpod_emulator.provider_environ(
            client_key.public_key,
            HF_TOKEN=HF_TOKEN_VALUE,
            WANDB_API_KEY=WANDB_KEY_VALUE,
            SSH_PRIVATE_KEY_PATH=str(client_key.private_path),
        )
        environ.update(values)
        return Settings.load(environ=environ, project_dir=tmp_path)

    return make


@pytest.fixture
def spec() -> RunSpec:
    return RunSpec(repo_id="org/tiny-model", ssh_timeout_min=0.02)
