"""SSH transport on paramiko: commands, SFTP file transfer, reconnects, host keys pinned per Pod.

paramiko is pure Python, so this transport works on Windows as well; it is imported only when a
connection is made. Commands are argument lists joined with `shlex.join`; remote paths are POSIX.
"""

from __future__ import annotations

import codecs
import posixpath
import secrets
import shlex
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

from podsmith_core.errors import PodsmithError, TransportError, UsageError
from podsmith_core.transport.base import CommandResult, Transport
from podsmith_core.transport.known_hosts import pinning_policy
from podsmith_core.transport.sftp_files import create_exclusive, makedirs, rename_over
from podsmith_core.transport.ssh_keys import key_path, load_private_key

if TYPE_CHECKING:
    import paramiko

    from podsmith_core.models import PodHandle
    from podsmith_core.settings import Settings

DEFAULT_CONNECT_TIMEOUT_S = 60.0
DEFAULT_RECONNECT_TIMEOUT_S = 10.0
KEEPALIVE_S = 15
# A single SFTP request or connection attempt waits at most this long, so a silent network fails.
IO_TIMEOUT_S = 60.0
MAX_BACKOFF_S = 5.0
READ_CHUNK = 1 << 16


class ConnectionLost(TransportError):
    """The SSH connection dropped or could not be made; `reconnect()` may succeed later."""


class SshAuthenticationFailed(PodsmithError):
    """The server rejected the key: retrying cannot help."""


class SshTransport(Transport):
    """Commands and files on one host over SSH, with the host key pinned after the first connection."""

    def __init__(
        self,
        host: str,
        port: int = 22,
        user: str = "root",
        *,
        key_file: str | Path | None = None,
        passphrase: str | None = None,
        prompt_passphrase: bool | None = None,
        host_key: str | None = None,
        connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
        reconnect_timeout_s: float = DEFAULT_RECONNECT_TIMEOUT_S,
    ) -> None:
        """Set up an unconnected transport.

        `key_file` None uses the SSH agent and the default keys in ~/.ssh. `host_key` pins a fingerprint.
        """
        self.host = host
        self.port = port
        self.user = user
        self.key_file = Path(key_path(str(key_file))) if key_file is not None else None
        self.connect_timeout_s = connect_timeout_s
        self.reconnect_timeout_s = reconnect_timeout_s
        self._passphrase = passphrase
        self._prompt_passphrase = prompt_passphrase
        self._key: paramiko.PKey | None = None
        self._policy = pinning_policy(self.address, host_key)
        self._client: paramiko.SSHClient | None = None
        self._sftp: paramiko.SFTPClient | None = None
        self._connected_once = False

    @classmethod
    def for_pod(cls, pod: "PodHandle", settings: "Settings", *, connect: bool = True) -> "SshTransport":
        """Build the transport for `pod`, pinned to `pod.host_key` when one is recorded, and connect."""
        if pod.ssh is None:
            raise UsageError(
                f"Pod {pod.name} from provider {pod.provider!r} has no SSH address.",
                "Use the local transport for Pods on this machine.",
            )
        transport = cls.from_settings(pod.ssh.host, pod.ssh.port, pod.ssh.user, settings, host_key=pod.host_key)
        if connect:
            transport.connect()
        return transport

    @classmethod
    def from_settings(
        cls, host: str, port: int, user: str, settings: "Settings", *, host_key: str | None = None
    ) -> "SshTransport":
        """Build an unconnected transport with the key from SSH_PRIVATE_KEY_PATH and SSH_KEY_PASSPHRASE."""
        from podsmith_core.settings import SOURCE_DEFAULT

        key_text = settings.get("SSH_PRIVATE_KEY_PATH")
        key_file: Path | None = Path(key_path(key_text)) if key_text else None
        if key_file is not None and not key_file.is_file() and settings.source("SSH_PRIVATE_KEY_PATH") == SOURCE_DEFAULT:
            # The default key is absent: fall back to the agent and ssh's other default key names.
            key_file = None
        timeout = settings.get("PODSMITH_SSH_CONNECT_TIMEOUT_S", str(DEFAULT_CONNECT_TIMEOUT_S))
        try:
            connect_timeout_s = float(timeout)  # type: ignore[arg-type]
        except ValueError as exc:
            raise UsageError(
                f"Invalid PODSMITH_SSH_CONNECT_TIMEOUT_S {timeout!r}.", "Set it to a number of seconds."
            ) from exc
        return cls(
            host,
            port,
            user,
            key_file=key_file,
            passphrase=settings.get("SSH_KEY_PASSPHRASE"),
            host_key=host_key,
            connect_timeout_s=connect_timeout_s,
        )

    @property
    def address(self) -> str:
        return f"{self.user}@{self.host}:{self.port}"

    @property
    def host_key(self) -> str | None:
        """SHA256 fingerprint of the host key, pinned after the first connection, to be stored with the Pod."""
        return self._policy.fingerprint  # type: ignore[attr-defined]

    def connect(self, timeout_s: float | None = None) -> None:
        """Connect, retrying with exponential backoff until `timeout_s` (default: connect_timeout_s) passes."""
        import paramiko

        if self._key is None and self.key_file is not None:
            self._key = load_private_key(self.key_file, self._passphrase, prompt=self._prompt_passphrase)
        self.close()

        timeout_s = self.connect_timeout_s if timeout_s is None else timeout_s
        deadline = time.monotonic() + timeout_s
        delay = 0.25
        attempts = 0
        while True:
            attempts += 1
            wait = max(min(deadline - time.monotonic(), IO_TIMEOUT_S), 0.1)
            client = paramiko.SSHClient()
            client.set_missing_host_key_policy(self._policy)
            try:
                client.connect(
                    self.host,
                    self.port,
                    self.user,
                    pkey=self._key,
                    timeout=wait,
                    banner_timeout=wait,
                    auth_timeout=wait,
                    channel_timeout=wait,
                    allow_agent=self._key is None,
                    look_for_keys=self._key is None,
                )
            except paramiko.AuthenticationException as exc:
                client.close()
                raise SshAuthenticationFailed(
                    f"SSH server {self.address} rejected the key {self.key_file or '(agent and default keys)'}: {exc}",
                    "Put the matching public key in ~/.ssh/authorized_keys on that machine (on Runpod, set "
                    "SSH_PUBLIC_KEY), and make SSH_PRIVATE_KEY_PATH name its private half.",
                ) from exc
            except (OSError, EOFError, paramiko.SSHException) as exc:
                client.close()
                if "No authentication methods available" in str(exc):
                    raise SshAuthenticationFailed(
                        f"No SSH key available to log in to {self.address}: no key file, agent or default key.",
                        "Set SSH_PRIVATE_KEY_PATH to your private key file.",
                    ) from exc
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise ConnectionLost(
                        f"Could not connect to {self.host}:{self.port} over SSH within {timeout_s:g} s "
                        f"({attempts} attempts): {str(exc) or type(exc).__name__}",
                        "Check that the host is up and that sshd listens on that port.",
                    ) from exc
                time.sleep(min(delay, remaining))
                delay = min(delay * 2, MAX_BACKOFF_S)
                continue

            transport = client.get_transport()
            assert transport is not None
            transport.set_keepalive(KEEPALIVE_S)
            self._client = client
            self._connected_once = True
            return

    def reconnect(self) -> None:
        """Drop the current connection and connect again within reconnect_timeout_s."""
        self.connect(self.reconnect_timeout_s)

    def close(self) -> None:
        if self._sftp is not None:
            self._sftp.close()
            self._sftp = None
        if self._client is not None:
            self._client.close()
            self._client = None

    # Commands

    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: float | None = None,
        on_output: Callable[[str], None] | None = None,
    ) -> CommandResult:
        import paramiko

        command = shlex.join(argv)
        client = self._live_client()
        try:
            channel = client.get_transport().open_session(timeout=IO_TIMEOUT_S)  # type: ignore[union-attr]
            channel.exec_command(command)
            channel.shutdown_write()
            return self._collect(channel, argv, timeout, on_output)
        except (OSError, EOFError, paramiko.SSHException) as exc:
            raise self._lost(f"running {argv[0]!r}", exc) from exc

    def _collect(
        self,
        channel: "paramiko.Channel",
        argv: Sequence[str],
        timeout: float | None,
        on_output: Callable[[str], None] | None,
    ) -> CommandResult:
        """Read stdout and stderr until the command exits and the server sends EOF."""
        stdout = codecs.getincrementaldecoder("utf-8")(errors="replace")
        stderr = codecs.getincrementaldecoder("utf-8")(errors="replace")
        out_parts: list[str] = []
        err_parts: list[str] = []
        deadline = time.monotonic() + timeout if timeout is not None else None

        while True:
            if channel.recv_ready():
                text = stdout.decode(channel.recv(READ_CHUNK))
                out_parts.append(text)
                if on_output is not None and text:
                    on_output(text)
                continue
            if channel.recv_stderr_ready():
                err_parts.append(stderr.decode(channel.recv_stderr(READ_CHUNK)))
                continue
            if channel.exit_status_ready() and (channel.eof_received or channel.closed):
                break
            if channel.closed or not channel.get_transport().is_active():
                raise self._lost(f"running {argv[0]!r}", EOFError("channel closed before the command exited"))
            if deadline is not None and time.monotonic() > deadline:
                channel.close()
                raise TransportError(
                    f"Command {argv[0]!r} timed out after {timeout:g} s on {self.address}.",
                    "The command may still be running on the Pod.",
                )
            time.sleep(0.01)

        tail = stdout.decode(b"", final=True)
        out_parts.append(tail)
        if on_output is not None and tail:
            on_output(tail)
        err_parts.append(stderr.decode(b"", final=True))
        status = channel.recv_exit_status()
        channel.close()
        return CommandResult(status, "".join(out_parts), "".join(err_parts))

    # Files

    def upload(self, content: bytes, remote_path: str, mode: int = 0o644) -> None:
        """Write to a temporary name created with `mode`, then rename it over `remote_path` atomically."""
        import paramiko

        directory, name = posixpath.split(remote_path)
        temporary = posixpath.join(directory, f".{name}.podsmith-{secrets.token_hex(4)}")
        sftp = self._sftp_client()
        try:
            makedirs(sftp, directory)
            with create_exclusive(sftp, temporary, mode) as handle:
                # The server applies its umask at creation; set the exact mode before the first byte.
                handle.chmod(mode)
                handle.write(content)
            rename_over(sftp, temporary, remote_path)
        except (OSError, EOFError, paramiko.SSHException) as exc:
            self._discard(sftp, temporary)
            raise self._file_error(f"uploading {remote_path}", exc) from exc

    def download(self, remote_path: str) -> bytes:
        import paramiko

        sftp = self._sftp_client()
        try:
            with sftp.open(remote_path, "rb") as handle:
                handle.prefetch()
                return handle.read()
        except FileNotFoundError as exc:
            raise TransportError(f"File {remote_path} not found on {self.address}.") from exc
        except (OSError, EOFError, paramiko.SSHException) as exc:
            raise self._file_error(f"downloading {remote_path}", exc) from exc

    def read_range(self, remote_path: str, offset: int, max_bytes: int) -> bytes:
        import paramiko

        sftp = self._sftp_client()
        try:
            with sftp.open(remote_path, "rb") as handle:
                handle.seek(offset)
                return handle.read(max_bytes)
        except FileNotFoundError:
            return b""
        except (OSError, EOFError, paramiko.SSHException) as exc:
            raise self._file_error(f"reading {remote_path}", exc) from exc

    def exists(self, remote_path: str) -> bool:
        import paramiko

        sftp = self._sftp_client()
        try:
            sftp.stat(remote_path)
            return True
        except FileNotFoundError:
            return False
        except (OSError, EOFError, paramiko.SSHException) as exc:
            raise self._file_error(f"checking {remote_path}", exc) from exc

    # Connection state

    def _live_client(self) -> "paramiko.SSHClient":
        """Return the connected client, connecting first when there is none or it has dropped."""
        client = self._client
        transport = client.get_transport() if client is not None else None
        if client is None or transport is None or not transport.is_active():
            self.connect(self.reconnect_timeout_s if self._connected_once else None)
            client = self._client
        assert client is not None
        return client

    def _sftp_client(self) -> "paramiko.SFTPClient":
        import paramiko

        client = self._live_client()
        if self._sftp is None or self._sftp.get_channel().closed:
            try:
                self._sftp = client.open_sftp()
            except (OSError, EOFError, paramiko.SSHException) as exc:
                raise self._lost("starting SFTP", exc) from exc
            self._sftp.get_channel().settimeout(IO_TIMEOUT_S)
        return self._sftp

    def _lost(self, action: str, exc: BaseException) -> ConnectionLost:
        self.close()
        return ConnectionLost(
            f"SSH connection to {self.host}:{self.port} lost while {action}: {str(exc) or type(exc).__name__}",
            "podsmith reconnects; the job on the Pod keeps running.",
        )

    def _file_error(self, action: str, exc: BaseException) -> TransportError:
        """Classify an SFTP failure: a dead connection is ConnectionLost, a refused operation is not."""
        client = self._client
        transport = client.get_transport() if client is not None else None
        if isinstance(exc, EOFError) or transport is None or not transport.is_active():
            return self._lost(action, exc)
        return TransportError(f"Failed {action} on {self.address}: {exc}")

    @staticmethod
    def _discard(sftp: "paramiko.SFTPClient", path: str) -> None:
        try:
            sftp.remove(path)
        except (OSError, EOFError):
            pass

