"""Fixtures for the SSH tests: a real OpenSSH server on a loopback port and client keys."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

import pytest

from podsmith_core.testing.sshd import (  # noqa: F401  (pytest finds fixtures by name)
    ClientKey,
    SshServer,
    ssh_client_key,
    sshd_available,
    sshd_server,
)
from podsmith_core.transport.ssh import SshTransport


@pytest.fixture(autouse=True)
def _require_sshd() -> None:
    if not sshd_available():
        pytest.skip("OpenSSH server (/usr/sbin/sshd) and ssh-keygen are needed")


@dataclass
class SshPod:
    """A test server with one authorized ed25519 key, and a way to open transports to it."""

    server: SshServer
    key: ClientKey

    def transport(self, **kwargs: object) -> SshTransport:
        kwargs.setdefault("key_file", self.key.private_path)
        kwargs.setdefault("connect_timeout_s", 10.0)
        return SshTransport("127.0.0.1", self.server.port, self.server.user, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def ssh_pod(
    sshd_server: Callable[..., SshServer], ssh_client_key: Callable[..., ClientKey]
) -> Iterator[SshPod]:
    key = ssh_client_key("ed25519")
    yield SshPod(sshd_server(authorized_keys=[key.public_key]), key)
