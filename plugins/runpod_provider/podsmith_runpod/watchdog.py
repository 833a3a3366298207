"""A watchdog on each Runpod Pod that terminates the Pod when podsmith's client is gone.

Cleanup normally runs in the client, but a client killed with SIGKILL, a laptop that sleeps or a lost
network never reaches it, and the Pod would keep billing. While the client follows a job it touches
`<workspace>/logs/heartbeat` (see `podsmith_core.transport.jobs`). The watchdog runs as a detached job on
the Pod. When the heartbeat is older than the timeout, it terminates the Pod through Runpod's API with
the Pod-scoped `RUNPOD_API_KEY` that Runpod puts in every Pod's environment. The key is read from the
environment inside Python, so it never appears on a command line.

Runs with `--keep-pod` get no watchdog: the user asked to keep the Pod.
"""

from __future__ import annotations

import posixpath
import shlex
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from podsmith_core.models import PodHandle
    from podsmith_core.settings import Settings

STAGE = "watchdog"
DEFAULT_TIMEOUT_MIN = 15.0
DEFAULT_CHECK_INTERVAL_S = 30.0

# Arguments: workspace, heartbeat timeout in seconds, seconds between checks.
SCRIPT = r"""#!/usr/bin/env bash
# podsmith watchdog: terminates this Pod when the heartbeat of podsmith's client stops.
set -u
workspace="$1"; timeout_s="$2"; interval_s="$3"
heartbeat="$workspace/logs/heartbeat"
mkdir -p "$workspace/logs"
touch "$heartbeat"
while true; do
    sleep "$interval_s"
    now=$(date +%s)
    beat=$(stat -c %Y "$heartbeat" 2>/dev/null || echo "$now")
    age=$((now - beat))
    if [ "$age" -gt "$timeout_s" ]; then
        break
    fi
done
echo "podsmith watchdog: no heartbeat for ${age} s (limit ${timeout_s} s); terminating Pod ${RUNPOD_POD_ID:-?}."
python3 - <<'PY'
import json
import os
import sys
import time
import urllib.request

pod_id = os.environ.get("RUNPOD_POD_ID")
key = os.environ.get("RUNPOD_API_KEY")
if not pod_id or not key:
    sys.exit("podsmith watchdog: RUNPOD_POD_ID or RUNPOD_API_KEY is missing; cannot terminate this Pod.")
base = os.environ.get("RUNPOD_API_BASE_URL", "https://api.runpod.io").rstrip("/")
query = 'mutation { podTerminate(input: {podId: "%s"}) }' % pod_id
request = urllib.request.Request(
    base + "/graphql",
    data=json.dumps({"query": query}).encode(),
    headers={"Content-Type": "application/json", "Authorization": "Bearer " + key},
)
# Retried every 10 s for 10 minutes: an API outage must not leave the Pod billing.
for attempt in range(60):
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            print("podsmith watchdog: terminate request answered", response.status)
            break
    except Exception as exc:
        print("podsmith watchdog: terminate failed:", type(exc).__name__)
        time.sleep(10)
PY
"""


def watchdog_settings(settings: Settings) -> tuple[float, float]:
    """Return (heartbeat timeout, check interval) in seconds from the settings."""
    from podsmith_core.errors import UsageError

    timeout_text = settings.get("PODSMITH_RUNPOD_WATCHDOG_MIN", str(DEFAULT_TIMEOUT_MIN))
    interval_text = settings.get("PODSMITH_RUNPOD_WATCHDOG_INTERVAL_S", str(DEFAULT_CHECK_INTERVAL_S))
    try:
        timeout_s = float(timeout_text or DEFAULT_TIMEOUT_MIN) * 60
        interval_s = float(interval_text or DEFAULT_CHECK_INTERVAL_S)
    except ValueError as exc:
        raise UsageError(
            f"Invalid watchdog setting ({timeout_text!r} min, {interval_text!r} s).",
            "Set PODSMITH_RUNPOD_WATCHDOG_MIN and PODSMITH_RUNPOD_WATCHDOG_INTERVAL_S to numbers.",
        ) from exc
    return timeout_s, interval_s


def install_watchdog(pod: PodHandle, settings: Settings) -> str:
    """Start the watchdog on `pod` as a detached job and return the host key seen, for pinning."""
    from podsmith_core.transport.jobs import RemoteJob
    from podsmith_core.transport.ssh import SshTransport

    timeout_s, interval_s = watchdog_settings(settings)
    script_path = posixpath.join(pod.workspace, STAGE, "watchdog.sh")
    with SshTransport.for_pod(pod, settings) as transport:
        transport.upload(SCRIPT.encode(), script_path, mode=0o755)
        runner = posixpath.join(pod.workspace, STAGE, "run.sh")
        # The launcher runs a script without arguments, so a small wrapper passes the values, quoted.
        wrapper = "exec bash " + " ".join(
            shlex.quote(part) for part in (script_path, pod.workspace, str(int(timeout_s)), str(int(interval_s)))
        )
        transport.upload((wrapper + "\n").encode(), runner, mode=0o755)
        RemoteJob(transport, pod.workspace, STAGE).launch(runner)
        return transport.host_key
