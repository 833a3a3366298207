"""SshTransport connections against a real sshd: key types, passphrases, deadlines, pinned host keys."""

from __future__ import annotations

import time
from pathlib import PureWindowsPath

import pytest

from podsmith_core.errors import TransportError, UsageError
from podsmith_core.models import PodHandle, SshAddress
from podsmith_core.settings import Settings
from podsmith_core.testing.sshd import free_port
from podsmith_core.transport.known_hosts import HostKeyMismatch
from podsmith_core.transport.ssh import ConnectionLost, SshAuthenticationFailed, SshTransport
from podsmith_core.transport.ssh_keys import key_path, load_private_key, public_key_path


@pytest.mark.parametrize(
    ("kind", "key_format"),
    [("ed25519", "openssh"), ("rsa", "openssh"), ("rsa", "pem"), ("ecdsa", "openssh")],
)
def test_connect_key_type(sshd_server, ssh_client_key, kind, key_format):
    key = ssh_client_key(kind, key_format=key_format)
    server = sshd_server(authorized_keys=[key.public_key])

    with SshTransport("127.0.0.1", server.port, server.user, key_file=key.private_path) as transport:
        result = transport.run(["sh", "-c", 'printf "%s" "$HOME"'])

    assert result.exit_status == 0
    assert result.stdout == str(server.home)
    assert f"Accepted publickey for {server.user}" in server.log_path.read_text()


@pytest.mark.parametrize("kind", ["ed25519", "rsa", "ecdsa"])
def test_connect_passphrase_key(sshd_server, ssh_client_key, kind):
    key = ssh_client_key(kind, passphrase="correct horse")
    server = sshd_server(authorized_keys=[key.public_key])

    with SshTransport(
        "127.0.0.1", server.port, server.user, key_file=key.private_path, passphrase="correct horse"
    ) as transport:
        assert transport.run(["true"]).exit_status == 0


def test_wrong_passphrase(ssh_client_key):
    key = ssh_client_key("ed25519", passphrase="right")
    transport = SshTransport("127.0.0.1", 1, "root", key_file=key.private_path, passphrase="wrong")

    with pytest.raises(UsageError) as caught:
        transport.connect(timeout_s=1)

    assert str(key.private_path) in caught.value.message
    assert "wrong passphrase" in caught.value.message
    assert "SSH_KEY_PASSPHRASE" in caught.value.fix


def test_passphrase_missing_without_terminal(ssh_client_key):
    key = ssh_client_key("rsa", passphrase="secret")

    with pytest.raises(UsageError) as caught:
        load_private_key(key.private_path, None, prompt=False)

    assert "protected by a passphrase" in caught.value.message
    assert "SSH_KEY_PASSPHRASE" in caught.value.fix


def test_passphrase_prompted_on_terminal(ssh_client_key, monkeypatch):
    key = ssh_client_key("ecdsa", passphrase="typed")
    prompts = []
    monkeypatch.setattr("getpass.getpass", lambda prompt: prompts.append(prompt) or "typed")

    loaded = load_private_key(key.private_path, None, prompt=True)

    assert loaded.get_name() == "ecdsa-sha2-nistp256"
    assert prompts == [f"Passphrase for {key.private_path}: "]


def test_missing_key_file(tmp_path):
    missing = tmp_path / "no-such-key"

    with pytest.raises(UsageError) as caught:
        SshTransport("127.0.0.1", 1, "root", key_file=missing).connect(timeout_s=1)

    assert f"SSH private key {missing} not found" in caught.value.message


def test_public_key_file_rejected(ssh_client_key):
    key = ssh_client_key("ed25519")
    public = key.private_path.with_name(key.private_path.name + ".pub")

    with pytest.raises(UsageError) as caught:
        load_private_key(public)

    assert "could not be read" in caught.value.message
    assert "not the .pub file" in caught.value.fix


def test_windows_key_path():
    parsed = key_path(r"C:\Users\me\.ssh\id_ed25519", PureWindowsPath)

    assert parsed.name == "id_ed25519"
    assert parsed.parent.name == ".ssh"
    assert parsed.drive == "C:"
    assert str(public_key_path(parsed)) == r"C:\Users\me\.ssh\id_ed25519.pub"


def test_deadline_nothing_listening(ssh_client_key):
    key = ssh_client_key("ed25519")
    port = free_port()
    transport = SshTransport("127.0.0.1", port, "root", key_file=key.private_path)

    started = time.monotonic()
    with pytest.raises(ConnectionLost) as caught:
        transport.connect(timeout_s=2.0)
    elapsed = time.monotonic() - started

    assert 2.0 <= elapsed < 3.0
    assert f"127.0.0.1:{port}" in caught.value.message
    assert "within 2 s" in caught.value.message
    assert isinstance(caught.value, TransportError)


def test_rejected_key_fails_fast(ssh_pod, ssh_client_key):
    stranger = ssh_client_key("ed25519")
    transport = ssh_pod.transport(key_file=stranger.private_path)

    started = time.monotonic()
    with pytest.raises(SshAuthenticationFailed) as caught:
        transport.connect(timeout_s=30)

    assert time.monotonic() - started < 5
    assert f"{ssh_pod.server.user}@127.0.0.1:{ssh_pod.server.port} rejected the key" in caught.value.message


def test_host_key_recorded(ssh_pod):
    with ssh_pod.transport() as transport:
        assert transport.host_key is None
        transport.connect()
        assert transport.host_key == ssh_pod.server.host_key_fingerprint


def test_host_key_change_refused(ssh_pod):
    transport = ssh_pod.transport()
    transport.connect()
    first = transport.host_key

    ssh_pod.server.regenerate_host_key()
    with pytest.raises(HostKeyMismatch) as caught:
        transport.reconnect()

    assert first is not None
    assert first in caught.value.message
    assert ssh_pod.server.host_key_fingerprint in caught.value.message
    assert transport.host_key == first
    assert not isinstance(caught.value, TransportError)


def test_pinned_key_from_pod(ssh_pod):
    pod = PodHandle(
        pod_id="p1",
        name="podsmith-abc",
        provider="ssh",
        ssh=SshAddress(host="127.0.0.1", port=ssh_pod.server.port, user=ssh_pod.server.user),
        workspace="/tmp",
        host_key="SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    )
    settings = Settings.load(environ={"SSH_PRIVATE_KEY_PATH": str(ssh_pod.key.private_path)}, project_dir=ssh_pod.server.workdir)

    with pytest.raises(HostKeyMismatch):
        SshTransport.for_pod(pod, settings)

    pod.host_key = ssh_pod.server.host_key_fingerprint
    with SshTransport.for_pod(pod, settings) as transport:
        assert transport.run(["true"]).exit_status == 0


def test_reconnect_after_restart(ssh_pod):
    with ssh_pod.transport(reconnect_timeout_s=5) as transport:
        transport.connect()
        ssh_pod.server.kill()

        with pytest.raises(ConnectionLost):
            transport.run(["true"])

        ssh_pod.server.start()
        transport.reconnect()
        assert transport.run(["echo", "back"]).stdout == "back\n"


def test_no_key_available(ssh_pod, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    settings = Settings.load(environ={}, project_dir=tmp_path)
    transport = SshTransport.from_settings("127.0.0.1", ssh_pod.server.port, ssh_pod.server.user, settings)

    started = time.monotonic()
    with pytest.raises(SshAuthenticationFailed) as caught:
        transport.connect(timeout_s=30)

    assert time.monotonic() - started < 5
    assert transport.key_file is None
    assert "No SSH key available" in caught.value.message
    assert "SSH_PRIVATE_KEY_PATH" in caught.value.fix


def test_configured_key_missing(ssh_pod, tmp_path):
    missing = tmp_path / "id_missing"
    settings = Settings.load(environ={"SSH_PRIVATE_KEY_PATH": str(missing)}, project_dir=tmp_path)
    transport = SshTransport.from_settings("127.0.0.1", ssh_pod.server.port, ssh_pod.server.user, settings)

    with pytest.raises(UsageError) as caught:
        transport.connect(timeout_s=5)

    assert transport.key_file == missing
    assert f"SSH private key {missing} not found" in caught.value.message
