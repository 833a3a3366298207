"""The Pod-side watchdog: a Pod whose client stops sending heartbeats terminates itself."""

from __future__ import annotations

import time
from pathlib import Path

from emulators.runpod import RunpodEmulator
from runpod_test_support import candidate

FAST_WATCHDOG = {"PODSMITH_RUNPOD_WATCHDOG_MIN": "0.05", "PODSMITH_RUNPOD_WATCHDOG_INTERVAL_S": "0.5"}


def wait_for(condition, timeout_s: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def test_silent_client_pod_terminates_itself(runpod_emulator: RunpodEmulator, provider, spec, make_settings):
    settings = make_settings(**FAST_WATCHDOG)
    pod = provider.create_pod(spec=spec, candidate=candidate("NVIDIA L40S"), name="podsmith-wd0001", settings=settings)
    assert pod.host_key is not None

    assert wait_for(lambda: runpod_emulator.live_pods() == [])
    assert pod.pod_id in runpod_emulator.terminated
    log = (Path(pod.workspace) / "logs" / "watchdog.log").read_text()
    assert "no heartbeat for" in log
    assert runpod_emulator.api_key not in runpod_emulator.log_text()


def test_heartbeat_keeps_pod_alive(runpod_emulator: RunpodEmulator, provider, spec, make_settings):
    settings = make_settings(**FAST_WATCHDOG)
    pod = provider.create_pod(spec=spec, candidate=candidate("NVIDIA L40S"), name="podsmith-wd0002", settings=settings)
    heartbeat = Path(pod.workspace) / "logs" / "heartbeat"

    deadline = time.monotonic() + 6
    while time.monotonic() < deadline:
        heartbeat.touch()
        time.sleep(0.3)
    assert [p.id for p in runpod_emulator.live_pods()] == [pod.pod_id]

    assert wait_for(lambda: runpod_emulator.live_pods() == [])


def test_keep_pod_has_no_watchdog(runpod_emulator: RunpodEmulator, provider, spec, make_settings):
    settings = make_settings(**FAST_WATCHDOG)
    kept = spec.model_copy(update={"keep_pod": True})
    pod = provider.create_pod(spec=kept, candidate=candidate("NVIDIA L40S"), name="podsmith-wd0003", settings=settings)

    time.sleep(5)
    assert [p.id for p in runpod_emulator.live_pods()] == [pod.pod_id]
    assert not (Path(pod.workspace) / "logs" / "watchdog.pid").exists()
    provider.destroy_pod(pod=pod, settings=settings)


def test_watchdog_script_lints(tmp_path):
    import shutil
    import subprocess

    from podsmith_runpod.watchdog import SCRIPT

    script = tmp_path / "watchdog.sh"
    script.write_text(SCRIPT)
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    shellcheck = shutil.which("shellcheck")
    if shellcheck:
        result = subprocess.run([shellcheck, str(script)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout
