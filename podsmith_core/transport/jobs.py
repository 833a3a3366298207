"""Detached jobs on a Pod: a script runs in its own session, so a dropped connection never stops it.

Layout under the workspace: `logs/<stage>.log` (stdout and stderr), `logs/<stage>.status` (exit status,
written by an atomic rename when the script ends) and `logs/<stage>.pid` (the session id, which is also
the process group id of the job).
"""

from __future__ import annotations

import posixpath
import time
from typing import Callable

from podsmith_core.errors import TransportError
from podsmith_core.transport.base import Transport
from podsmith_core.transport.streamer import LogFollower

# Runs the job script detached. Paths arrive as positional arguments, so no value is ever spliced into
# shell text.
LAUNCHER = r"""
script="$1"; log="$2"; status="$3"; pidfile="$4"; workdir="$5"
rm -f "$status" "$status.tmp" "$pidfile"
: > "$log"
cd "$workdir" || exit 97
setsid bash -c 'echo $$ > "$4.tmp"; mv "$4.tmp" "$4"; bash "$1" >> "$2" 2>&1 < /dev/null; echo $? > "$3.tmp"; mv "$3.tmp" "$3"' \
    podsmith-job "$script" "$log" "$status" "$pidfile" > /dev/null 2>&1 < /dev/null &
# The job writes its pid file from inside its new session: once the file exists, the job no longer
# belongs to this shell's process group, so losing the connection cannot kill it.
for _ in $(seq 1 200); do
    [ -s "$pidfile" ] && exit 0
    sleep 0.05
done
echo "job did not start within 10 s" >&2
exit 98
"""

# Seconds between two touches of `logs/heartbeat` while a client follows a job.
HEARTBEAT_INTERVAL_S = 60.0

# Stops a job's whole process group: TERM first, KILL after a grace period.
STOPPER = r"""
pidfile="$1"; grace="$2"
[ -f "$pidfile" ] || exit 0
pid=$(cat "$pidfile")
kill -0 "$pid" 2>/dev/null || exit 0
kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
for _ in $(seq 1 "$grace"); do
    kill -0 "$pid" 2>/dev/null || exit 0
    sleep 1
done
kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
exit 0
"""


class RemoteJob:
    """One detached job for `stage` ("setup", "train", ...) in `workspace` on the Pod."""

    def __init__(self, transport: Transport, workspace: str, stage: str) -> None:
        self.transport = transport
        self.workspace = workspace
        self.stage = stage
        logs = posixpath.join(workspace, "logs")
        self.log_path = posixpath.join(logs, f"{stage}.log")
        self.status_path = posixpath.join(logs, f"{stage}.status")
        self.pid_path = posixpath.join(logs, f"{stage}.pid")
        self.heartbeat_path = posixpath.join(logs, "heartbeat")

    def launch(self, script_path: str) -> None:
        """Start `script_path` (a path on the Pod) with bash, detached, and return at once."""
        self.transport.run_checked(["mkdir", "-p", posixpath.dirname(self.log_path)])
        self.transport.run_checked(
            [
                "bash",
                "-c",
                LAUNCHER,
                "podsmith-launch",
                script_path,
                self.log_path,
                self.status_path,
                self.pid_path,
                self.workspace,
            ]
        )

    def exit_status(self) -> int | None:
        """Return the job's exit status, or None while it runs."""
        if not self.transport.exists(self.status_path):
            return None
        text = self.transport.download(self.status_path).decode().strip()
        try:
            return int(text)
        except ValueError as exc:
            raise TransportError(f"Unreadable exit status {text!r} in {self.status_path}.") from exc

    def is_running(self) -> bool:
        result = self.transport.run(["bash", "-c", 'kill -0 "$(cat "$1")" 2>/dev/null', "podsmith-check", self.pid_path])
        return result.exit_status == 0

    def follow(
        self,
        on_line: Callable[[str], None],
        *,
        offset: int = 0,
        poll_interval: float = 0.5,
    ) -> int:
        """Stream the log line by line until the job exits, then read it to the end; return the exit status."""
        follower = LogFollower(self.transport, self.log_path, offset=offset, poll_interval=poll_interval)
        self.follower = follower
        state: dict[str, int | None] = {"status": None}
        next_heartbeat = 0.0

        def finished() -> bool:
            nonlocal next_heartbeat
            if time.monotonic() >= next_heartbeat:
                # A Pod-side watchdog (Runpod) terminates the Pod when this file stops changing.
                self.transport.run(["touch", self.heartbeat_path])
                next_heartbeat = time.monotonic() + HEARTBEAT_INTERVAL_S
            state["status"] = self.exit_status()
            if state["status"] is None and not self.is_running() and not self.transport.exists(self.status_path):
                # The process group is gone without writing a status: killed with SIGKILL or the host rebooted.
                time.sleep(poll_interval)
                state["status"] = self.exit_status()
                if state["status"] is None:
                    state["status"] = 137
            return state["status"] is not None

        follower.follow(on_line, finished)
        assert state["status"] is not None
        return state["status"]

    def stop(self, grace_s: int = 10) -> None:
        """Stop the job's process group; a job that already ended is left alone."""
        self.transport.run(["bash", "-c", STOPPER, "podsmith-stop", self.pid_path, str(grace_s)])
