"""A real OpenSSH `sshd` on a loopback port, for tests that need an SSH server (a Pod, a user's own host).

`SshServer` runs `/usr/sbin/sshd -D -e` as a child process with its own config, ed25519 host key and
authorized_keys file in a work directory. It accepts public-key logins of the user running the tests.
As root it creates sshd's privilege separation directory /run/sshd when missing. As another user it runs
unprivileged, but sshd (without PAM) still rejects an account whose password is locked, e.g. `nobody`.
Each session gets `$HOME` set to the server's home directory, so a test Pod never writes to the real
home. The working directory of a session and relative SFTP paths still start in the user's passwd home.

The SFTP subsystem is OpenSSH's `sftp-server` with logging to `sftp.log`, so tests can assert which
file operations (with which modes) the server received.

Import the pytest fixtures `sshd_server` and `ssh_client_key` into a conftest.py to use them.
"""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

import pytest

SSHD = Path("/usr/sbin/sshd")
SFTP_SERVER_CANDIDATES = (
    Path("/usr/lib/openssh/sftp-server"),
    Path("/usr/libexec/openssh/sftp-server"),
    Path("/usr/libexec/sftp-server"),
)
PRIVSEP_DIR = Path("/run/sshd")
KEY_TYPES = ("ed25519", "rsa", "ecdsa")


@dataclass(frozen=True)
class ClientKey:
    """A client key pair on disk. `public_key` is the authorized_keys line."""

    kind: str
    private_path: Path
    public_key: str
    passphrase: str | None = None


def make_client_key(
    directory: Path,
    kind: str = "ed25519",
    passphrase: str | None = None,
    *,
    name: str | None = None,
    key_format: str = "openssh",
) -> ClientKey:
    """Generate a key pair with ssh-keygen. `key_format` "pem" writes the older PEM private key format."""
    if kind not in KEY_TYPES:
        raise ValueError(f"Invalid key type {kind!r}. Expected one of {', '.join(KEY_TYPES)}.")
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / (name or f"id_{kind}")
    for stale in (path, path.with_name(path.name + ".pub")):
        stale.unlink(missing_ok=True)

    argv = ["ssh-keygen", "-q", "-t", kind, "-N", passphrase or "", "-C", f"podsmith-test-{kind}", "-f", str(path)]
    if kind == "rsa":
        argv += ["-b", "2048"]
    if key_format == "pem":
        argv += ["-m", "PEM"]
    subprocess.run(argv, check=True, capture_output=True)

    public_key = path.with_name(path.name + ".pub").read_text().strip()
    return ClientKey(kind, path, public_key, passphrase)


def inject_public_key(authorized_keys: Path, public_key: str) -> None:
    """Append `public_key` (one or more lines) to `authorized_keys`, as Runpod images do with `PUBLIC_KEY`."""
    authorized_keys.parent.mkdir(parents=True, exist_ok=True)
    authorized_keys.parent.chmod(0o700)
    with authorized_keys.open("a") as handle:
        for line in public_key.splitlines():
            if line.strip():
                handle.write(line.strip() + "\n")
    authorized_keys.chmod(0o600)


def key_fingerprint(public_key_file: Path) -> str:
    """Return the OpenSSH SHA256 fingerprint (`SHA256:...`) of a public key file, computed by ssh-keygen."""
    output = subprocess.run(
        ["ssh-keygen", "-l", "-E", "sha256", "-f", str(public_key_file)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return output.split()[1]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_banner(host: str, port: int, deadline: float) -> bytes:
    """Connect until the server sends its SSH identification line or `deadline` (monotonic) passes."""
    last_error: OSError | None = None
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1.0) as connection:
                banner = connection.recv(256)
                if banner.startswith(b"SSH-"):
                    return banner
        except OSError as exc:
            last_error = exc
        time.sleep(0.05)
    raise TimeoutError(f"No SSH banner from {host}:{port}: {last_error}")


def _sshd_descendants(root_pid: int) -> list[int]:
    """Return the pids of `sshd` processes below `root_pid`, read from /proc."""
    children: dict[int, list[tuple[int, str]]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name sits in parentheses and may contain spaces, so split after the last ")".
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        children.setdefault(ppid, []).append((int(entry.name), name))

    found: list[int] = []
    pending = [root_pid]
    while pending:
        for pid, name in children.get(pending.pop(), []):
            if name.startswith("sshd"):
                found.append(pid)
                pending.append(pid)
    return found


class SshServer:
    """One OpenSSH server on 127.0.0.1 with its files under `workdir`, usable as a context manager."""

    def __init__(
        self,
        workdir: Path,
        authorized_keys: Iterable[str] = (),
        *,
        home: Path | None = None,
        port: int | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        """`env` adds variables to every session (sshd's SetEnv), e.g. a PATH with a fake `nvidia-smi`."""
        if not SSHD.is_file():
            raise RuntimeError(f"OpenSSH server not found at {SSHD}. Install openssh-server.")
        self.workdir = Path(workdir).absolute()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.home = Path(home).absolute() if home else self.workdir / "home"
        self.home.mkdir(parents=True, exist_ok=True)
        self.env = {"HOME": str(self.home), **(env or {})}
        self.user = getpass.getuser()
        self._port_chosen_here = port is None
        self._started_once = False
        self.port = port or free_port()
        self.host = "127.0.0.1"

        self.config_path = self.workdir / "sshd_config"
        self.host_key_path = self.workdir / "ssh_host_ed25519_key"
        self.authorized_keys_path = self.workdir / "authorized_keys"
        self.pid_path = self.workdir / "sshd.pid"
        self.log_path = self.workdir / "sshd.log"
        self.sftp_log_path = self.workdir / "sftp.log"
        self._process: subprocess.Popen[bytes] | None = None

        self.authorized_keys_path.touch(mode=0o600)
        for key in authorized_keys:
            self.add_authorized_key(key)
        self._generate_host_key()

    def __enter__(self) -> "SshServer":
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def address(self) -> str:
        """The `user@host:port` form the ssh provider accepts."""
        return f"{self.user}@{self.host}:{self.port}"

    def add_authorized_key(self, public_key: str) -> None:
        inject_public_key(self.authorized_keys_path, public_key)

    def start(self, timeout_s: float = 10.0) -> None:
        """Start sshd and return once it sends its banner."""
        if self.running:
            return
        if os.geteuid() == 0:
            # sshd running as root chroots its pre-authentication child into this directory.
            PRIVSEP_DIR.mkdir(mode=0o755, parents=True, exist_ok=True)

        for _attempt in range(3):
            self._write_config()
            log_start = self.log_path.stat().st_size if self.log_path.exists() else 0
            with self.log_path.open("ab") as log:
                self._process = subprocess.Popen(
                    [str(SSHD), "-D", "-e", "-f", str(self.config_path)],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                )
            if self._wait_started(time.monotonic() + timeout_s):
                self._started_once = True
                return
            new_log = self.log_path.read_bytes()[log_start:].decode(errors="replace")
            if self._port_chosen_here and not self._started_once and "Address already in use" in new_log:
                # Another process took the free port between the probe and sshd's bind: take a new one.
                self.port = free_port()
                continue
            break
        raise RuntimeError(f"sshd did not start on port {self.port}:\n{self.log_tail()}")

    def _wait_started(self, deadline: float) -> bool:
        assert self._process is not None
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self._process = None
                return False
            try:
                wait_for_banner(self.host, self.port, time.monotonic() + 0.2)
                return True
            except TimeoutError:
                continue
        self.kill()
        return False

    def stop(self) -> None:
        """Terminate sshd and every session it serves."""
        self._signal_all(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL sshd and its session processes, as a dropped network or a crashed host would look."""
        self._signal_all(signal.SIGKILL)

    def restart(self) -> None:
        """Stop and start again on the same port with the same host key."""
        self.stop()
        self.start()

    def regenerate_host_key(self) -> None:
        """Replace the host key. A running server restarts so that clients get the new key."""
        self._generate_host_key()
        if self.running:
            self.restart()

    def log_tail(self, lines: int = 30) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def sftp_log(self) -> str:
        """Return the SFTP operations the server logged, one per line (opens with flags and mode, chmods)."""
        return self.sftp_log_path.read_text(errors="replace") if self.sftp_log_path.exists() else ""

    def _signal_all(self, sig: signal.Signals) -> None:
        process = self._process
        if process is None:
            return
        # Session processes must be found before the listener dies, because they are re-parented then.
        sessions = _sshd_descendants(process.pid)
        for pid in [process.pid, *sessions]:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        self._process = None

    def _generate_host_key(self) -> None:
        for path in (self.host_key_path, self.host_key_path.with_suffix(".pub")):
            path.unlink(missing_ok=True)
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "podsmith-test-host", "-f", str(self.host_key_path)],
            check=True,
            capture_output=True,
        )
        self.host_public_key = self.host_key_path.with_suffix(".pub").read_text().strip()
        self.host_key_fingerprint = key_fingerprint(self.host_key_path.with_suffix(".pub"))

    def _write_config(self) -> None:
        sftp_server = next((path for path in SFTP_SERVER_CANDIDATES if path.is_file()), None)
        if sftp_server is not None:
            wrapper = self.workdir / "sftp-server"
            wrapper.write_text(f"#!/bin/sh\nexec {sftp_server} -e -l VERBOSE 2>>'{self.sftp_log_path}'\n")
            wrapper.chmod(0o755)
            subsystem = str(wrapper)
        else:
            subsystem = "internal-sftp"

        lines = [
            f"Port {self.port}",
            f"ListenAddress {self.host}",
            f"HostKey {self.host_key_path}",
            f"PidFile {self.pid_path}",
            f"AuthorizedKeysFile {self.authorized_keys_path}",
            f"AllowUsers {self.user}",
            "SetEnv " + " ".join(f'"{key}={value}"' for key, value in self.env.items()),
            f"Subsystem sftp {subsystem}",
            "UsePAM no",
            "StrictModes no",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PermitRootLogin prohibit-password",
            "PrintMotd no",
            "LogLevel VERBOSE",
        ]
        self.config_path.write_text("\n".join(lines) + "\n")


@pytest.fixture
def sshd_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., SshServer]]:
    """Start servers with `sshd_server(authorized_keys=[...], home=...)`. All are stopped at teardown."""
    servers: list[SshServer] = []

    def start(authorized_keys: Iterable[str] = (), **kwargs: object) -> SshServer:
        server = SshServer(tmp_path_factory.mktemp("sshd"), authorized_keys, **kwargs)  # type: ignore[arg-type]
        servers.append(server)
        server.start()
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def ssh_client_key(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., ClientKey]:
    """Make client keys with `ssh_client_key(kind="rsa", passphrase="...")`."""
    directory = tmp_path_factory.mktemp("client-keys")
    counter = iter(range(1_000_000))

    def make(kind: str = "ed25519", passphrase: str | None = None, key_format: str = "openssh") -> ClientKey:
        return make_client_key(directory, kind, passphrase, name=f"id_{kind}_{next(counter)}", key_format=key_format)

    return make


def sshd_available() -> bool:
    """Return whether this machine can run the harness (sshd and ssh-keygen present)."""
    return SSHD.is_file() and shutil.which("ssh-keygen") is not None
