"""The transport interface: how podsmith runs commands and moves files on a Pod.

Remote paths are POSIX strings. Commands are argument lists, quoted by the transport with `shlex`; a
transport never runs a string through a shell the caller built by concatenation.
"""

from __future__ import annotations

import abc
import shlex
from dataclasses import dataclass
from typing import Callable, Sequence


@dataclass(frozen=True)
class CommandResult:
    exit_status: int
    stdout: str
    stderr: str


class Transport(abc.ABC):
    """Run commands and move files on one Pod. Implementations: local (subprocess) and SSH."""

    @abc.abstractmethod
    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: float | None = None,
        on_output: Callable[[str], None] | None = None,
    ) -> CommandResult:
        """Run `argv` on the Pod and wait for it; `on_output` receives stdout chunks as they arrive."""

    @abc.abstractmethod
    def upload(self, content: bytes, remote_path: str, mode: int = 0o644) -> None:
        """Write `content` to `remote_path`, creating parents; the mode is set before any byte is written."""

    @abc.abstractmethod
    def download(self, remote_path: str) -> bytes:
        """Return the whole content of `remote_path`."""

    @abc.abstractmethod
    def read_range(self, remote_path: str, offset: int, max_bytes: int) -> bytes:
        """Return up to `max_bytes` of `remote_path` from byte `offset`; empty when nothing is there yet."""

    @abc.abstractmethod
    def exists(self, remote_path: str) -> bool:
        """Return whether `remote_path` exists on the Pod."""

    def reconnect(self) -> None:
        """Re-establish the connection after a drop; the local transport has nothing to do."""

    def close(self) -> None:
        """Release the connection."""

    def run_checked(self, argv: Sequence[str], *, timeout: float | None = None) -> str:
        """Run `argv` and return its stdout, raising TransportError on a non-zero exit."""
        from podsmith_core.errors import TransportError

        result = self.run(argv, timeout=timeout)
        if result.exit_status != 0:
            raise TransportError(
                f"Command {shlex.join(argv)!r} failed on the Pod with exit status {result.exit_status}: "
                f"{result.stderr.strip()[-500:]}"
            )
        return result.stdout

    def __enter__(self) -> "Transport":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
