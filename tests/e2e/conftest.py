"""Fixtures for end-to-end runs: both wire emulators and an SSH client key."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emulators.hub.fixture import hub_emulator  # noqa: E402,F401
from emulators.runpod import runpod_emulator  # noqa: E402,F401
from podsmith_core.testing.sshd import ClientKey, make_client_key  # noqa: E402


@pytest.fixture(scope="session")
def e2e_client_key(tmp_path_factory: pytest.TempPathFactory) -> ClientKey:
    return make_client_key(tmp_path_factory.mktemp("e2e-client-key"))


@pytest.fixture(scope="session")
def demo_assets(tmp_path_factory: pytest.TempPathFactory):
    from podsmith_core.demo import ensure_demo_assets

    return ensure_demo_assets(tmp_path_factory.mktemp("demo-assets"))


@pytest.fixture
def ssh_machine(tmp_path: Path, e2e_client_key: ClientKey):
    """A real OpenSSH server on a loopback port standing in for a machine the user already has."""
    from podsmith_core.testing.sshd import SshServer, sshd_available

    if not sshd_available():
        pytest.skip("OpenSSH server (/usr/sbin/sshd) and ssh-keygen are needed")
    server = SshServer(tmp_path / "sshd", authorized_keys=[e2e_client_key.public_key])
    server.start()
    try:
        yield server
    finally:
        server.stop()
