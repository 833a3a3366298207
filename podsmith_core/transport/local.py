"""Local transport: the Pod is this machine, commands run as subprocesses."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Callable, Sequence

from podsmith_core.errors import TransportError
from podsmith_core.transport.base import CommandResult, Transport


class LocalTransport(Transport):
    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: float | None = None,
        on_output: Callable[[str], None] | None = None,
    ) -> CommandResult:
        try:
            process = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                errors="replace",
            )
        except OSError as exc:
            raise TransportError(f"Could not start {argv[0]!r} locally: {exc}") from exc

        if on_output is None:
            try:
                stdout, stderr = process.communicate(timeout=timeout)
            except subprocess.TimeoutExpired as exc:
                process.kill()
                process.communicate()
                raise TransportError(f"Command {argv[0]!r} timed out after {timeout} s.") from exc
            return CommandResult(process.returncode, stdout, stderr)

        chunks = []
        assert process.stdout is not None
        for line in process.stdout:
            chunks.append(line)
            on_output(line)
        stderr = process.stderr.read() if process.stderr else ""
        process.wait(timeout=timeout)
        return CommandResult(process.returncode, "".join(chunks), stderr)

    def upload(self, content: bytes, remote_path: str, mode: int = 0o644) -> None:
        path = Path(remote_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        # The mode is applied to the empty file before the first byte, so no reader ever sees the content
        # with wider permissions than requested.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        try:
            os.fchmod(fd, mode)
            os.write(fd, content)
        finally:
            os.close(fd)

    def download(self, remote_path: str) -> bytes:
        try:
            return Path(remote_path).read_bytes()
        except OSError as exc:
            raise TransportError(f"Could not read {remote_path}: {exc.strerror}.") from exc

    def read_range(self, remote_path: str, offset: int, max_bytes: int) -> bytes:
        try:
            with open(remote_path, "rb") as handle:
                handle.seek(offset)
                return handle.read(max_bytes)
        except FileNotFoundError:
            return b""

    def exists(self, remote_path: str) -> bool:
        return os.path.exists(remote_path)
