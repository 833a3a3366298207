"""Pods of the Runpod emulator: their lifecycle knobs and the SSH server each one runs on loopback.

A Pod runs either a real OpenSSH sshd (from `podsmith_core.testing.sshd`) that accepts the key given in
its `PUBLIC_KEY` env, or a plain TCP server that only sends an SSH banner, for tests that never log in.
"""

from __future__ import annotations

import getpass
import os
import secrets
import signal
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from podsmith_core.testing.sshd import SshServer


@dataclass
class PodBehaviour:
    """How the next created Pods start; every count is in `pod` status queries for that Pod.

    `runtime_null_polls`: runtime stays null for this many status queries (a slow container start).
    `ports_null_polls`: runtime ports stay null for this many queries; -1 keeps them null forever.
    `public_ip`: False reports the 22/tcp mapping with `isIpPublic: false`, forever.
    `start_delay_s`: runtime stays null until this many seconds after the create, whatever the polls.
    `exit_after_polls`: desiredStatus turns EXITED at that status query.
    `ssh`: "sshd" runs a real OpenSSH server, "banner" only sends an SSH identification line.
    """

    runtime_null_polls: int = 0
    ports_null_polls: int = 0
    public_ip: bool = True
    start_delay_s: float = 0.0
    exit_after_polls: int | None = None
    ssh: str = "sshd"


class PodServer(Protocol):
    port: int

    def stop(self) -> None: ...


class BannerServer:
    """A TCP server on 127.0.0.1 that sends an SSH identification line to each client and hangs up."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(8)
        self.port = self._socket.getsockname()[1]
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._serve, name=f"banner-{self.port}", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stopped.is_set():
            try:
                connection, _ = self._socket.accept()
            except OSError:
                return
            with connection:
                try:
                    connection.sendall(b"SSH-2.0-RunpodEmulator\r\n")
                except OSError:
                    pass

    def stop(self) -> None:
        self._stopped.set()
        try:
            self._socket.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._socket.close()
        self._thread.join(timeout=2)


class PodSshServer(SshServer):
    """An sshd whose sessions see the Pod's environment, as processes inside a Runpod container do."""

    def __init__(self, workdir: Path, authorized_keys: list[str], home: Path, env: dict[str, str]) -> None:
        self.pod_env = env
        super().__init__(workdir, authorized_keys, home=home)

    def _write_config(self) -> None:
        super()._write_config()
        # sshd applies only the first SetEnv line, so the Pod's variables join the harness's HOME line.
        extra = " ".join(f"{key}={value}" for key, value in self.pod_env.items())
        lines = [
            f"{line} {extra}" if line.startswith("SetEnv ") else line
            for line in self.config_path.read_text().splitlines()
        ]
        self.config_path.write_text("\n".join(lines) + "\n")


@dataclass
class EmulatedPod:
    """A Pod record as the emulator stores it; `api_key` is the key scoped to this Pod."""

    id: str
    name: str
    image_name: str
    gpu_type_id: str
    gpu_display_name: str
    gpu_count: int
    cloud_type: str
    cost_per_hr: float
    env: dict[str, str]
    behaviour: PodBehaviour
    root: Path
    workspace: Path
    volume_in_gb: int = 0
    container_disk_in_gb: int = 0
    desired_status: str = "RUNNING"
    polls: int = 0
    api_key: str = field(default_factory=lambda: "rpa_pod_" + secrets.token_hex(12))
    created_at: float = field(default_factory=time.monotonic)
    server: PodServer | None = None

    @property
    def ssh_port(self) -> int | None:
        return self.server.port if self.server is not None else None

    def start_server(self, api_base_url: str) -> None:
        if self.behaviour.ssh == "banner":
            self.server = BannerServer()
            return
        keys = [self.env["PUBLIC_KEY"]] if self.env.get("PUBLIC_KEY") else []
        session_env = {
            "RUNPOD_POD_ID": self.id,
            "RUNPOD_API_KEY": self.api_key,
            "RUNPOD_API_BASE_URL": api_base_url,
        }
        server = PodSshServer(self.root / "sshd", keys, home=self.root / "home", env=session_env)
        server.start()
        self.server = server

    def stop_server(self) -> None:
        """Stop the Pod's sshd and, as a real container stop would, every job started in its workspace."""
        if self.server is not None:
            self.server.stop()
            self.server = None
        for pid_file in self.workspace.glob("**/logs/*.pid"):
            try:
                os.killpg(int(pid_file.read_text().strip()), signal.SIGKILL)
            except (OSError, ValueError):
                pass

    def observe(self) -> None:
        """Count one status query and apply the lifecycle knobs that depend on it."""
        self.polls += 1
        exit_at = self.behaviour.exit_after_polls
        if exit_at is not None and self.polls >= exit_at and self.desired_status == "RUNNING":
            self.desired_status = "EXITED"
            self.stop_server()

    def runtime(self) -> dict | None:
        if self.desired_status != "RUNNING" or self.polls <= self.behaviour.runtime_null_polls:
            return None
        if time.monotonic() - self.created_at < self.behaviour.start_delay_s:
            return None
        ports_null = self.behaviour.ports_null_polls
        if ports_null < 0 or self.polls <= self.behaviour.runtime_null_polls + ports_null or self.ssh_port is None:
            return {"uptimeInSeconds": 1, "ports": None}
        mapping = {
            "ip": "127.0.0.1",
            "isIpPublic": self.behaviour.public_ip,
            "privatePort": 22,
            "publicPort": self.ssh_port,
            "type": "tcp",
        }
        return {"uptimeInSeconds": self.polls, "ports": [mapping]}

    def record(self) -> dict:
        """Return the Pod as GraphQL `Pod` fields; `runtime` is resolved separately."""
        return {
            "id": self.id,
            "name": self.name,
            "imageName": self.image_name,
            "desiredStatus": self.desired_status,
            "costPerHr": self.cost_per_hr,
            "env": [f"{key}={value}" for key, value in self.env.items()],
            "gpuCount": self.gpu_count,
            "containerDiskInGb": self.container_disk_in_gb,
            "volumeInGb": self.volume_in_gb,
            "volumeMountPath": "/workspace",
            "machineId": f"machine-{self.id}",
            "podType": "RESERVED",
            "ports": "22/tcp",
            "machine": {"podHostId": f"{self.id}-host", "gpuDisplayName": self.gpu_display_name},
        }


def session_user() -> str:
    """Return the login user of emulated Pods: sshd runs as the user running the tests."""
    return getpass.getuser()
