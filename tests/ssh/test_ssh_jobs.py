"""Detached jobs over SSH: the log follower survives an sshd crash, and secrets stay off command lines."""

from __future__ import annotations

import posixpath
import secrets
import stat
import subprocess
import threading
import time

from podsmith_core.transport.jobs import RemoteJob
from podsmith_core.transport.secrets import upload_secrets

NUMBERED_LINES = """\
for i in $(seq 1 50); do
    echo "line $i"
    sleep 0.1
done
"""

READS_SECRET = """\
token=$(cat "$PWD/secrets/HF_TOKEN")
export HF_TOKEN="$token"
sleep 2
echo "token length ${#HF_TOKEN}"
"""


def wait_until(condition, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def launch(transport, workspace: str, body: str, stage: str = "train") -> RemoteJob:
    script = posixpath.join(workspace, f"{stage}.sh")
    transport.upload(body.encode(), script, mode=0o755)
    job = RemoteJob(transport, workspace, stage)
    job.launch(script)
    return job


def test_follow_survives_sshd_crash(ssh_pod, tmp_path):
    workspace = tmp_path / "pod"
    log = workspace / "logs" / "train.log"
    lines: list[str] = []
    outcome: dict[str, object] = {}

    transport = ssh_pod.transport(reconnect_timeout_s=5)
    job = launch(transport, str(workspace), NUMBERED_LINES)

    def follow() -> None:
        try:
            outcome["status"] = job.follow(lines.append, poll_interval=0.1)
        except Exception as exc:  # reported by the assertions below
            outcome["error"] = exc

    follower = threading.Thread(target=follow)
    follower.start()
    wait_until(lambda: len(lines) >= 10, timeout_s=15)

    ssh_pod.server.kill()
    lines_at_kill = len(lines)
    size_at_kill = log.stat().st_size
    time.sleep(1.5)
    size_while_down = log.stat().st_size
    ssh_pod.server.start()

    follower.join(timeout=60)
    transport.close()

    assert not follower.is_alive()
    assert "error" not in outcome, outcome.get("error")
    assert outcome["status"] == 0
    assert lines_at_kill < 50
    assert size_while_down > size_at_kill
    assert lines == [f"line {i}" for i in range(1, 51)]
    assert (workspace / "logs" / "train.status").read_text().strip() == "0"
    after_restart = ssh_pod.server.log_path.read_text().split("Server listening")[-1]
    assert "Accepted publickey" in after_restart


def test_secret_not_in_process_args(ssh_pod, tmp_path):
    secret = "hf_" + secrets.token_hex(16)
    workspace = str(tmp_path / "pod")
    samples: list[str] = []
    stop = threading.Event()

    def sample_process_table() -> None:
        while not stop.is_set():
            samples.append(subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout)
            time.sleep(0.02)

    sampler = threading.Thread(target=sample_process_table)
    sampler.start()
    try:
        with ssh_pod.transport() as transport:
            (secret_path,) = upload_secrets(transport, workspace, {"HF_TOKEN": secret})
            job = launch(transport, workspace, READS_SECRET)
            lines: list[str] = []
            status = job.follow(lines.append, poll_interval=0.1)
    finally:
        stop.set()
        sampler.join()

    assert status == 0
    assert lines == [f"token length {len(secret)}"]
    assert stat.S_IMODE((tmp_path / "pod" / "secrets" / "HF_TOKEN").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "pod" / "secrets").stat().st_mode) == 0o700
    assert secret_path == posixpath.join(workspace, "secrets", "HF_TOKEN")
    # The sampler saw the job running, so the check below covers the whole job.
    assert any("train.sh" in sample for sample in samples)
    assert not [sample for sample in samples if secret in sample]
    assert secret not in ssh_pod.server.log_path.read_text()
    assert secret not in ssh_pod.server.sftp_log()
