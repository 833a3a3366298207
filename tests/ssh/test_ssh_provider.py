"""The built-in ssh provider against a real sshd: host parsing, GPU discovery, create, destroy, list."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

import pytest

from podsmith_core.errors import ProviderError, UsageError
from podsmith_core.models import GpuCandidate, RunSpec, SshAddress
from podsmith_core.providers.ssh import parse_gpus, parse_host, plugin
from podsmith_core.settings import Settings
from podsmith_core.testing import make_host
from podsmith_core.testing.sshd import free_port
from podsmith_core.transport.jobs import RemoteJob
from podsmith_core.transport.secrets import upload_secrets
from podsmith_core.transport.ssh import SshTransport

# Output of `nvidia-smi --query-gpu=name,memory.total --format=csv,noheader,nounits` on a 2-GPU host.
TWO_H200 = "NVIDIA H200, 143771\nNVIDIA H200, 143771\n"

FAKE_NVIDIA_SMI = """#!/bin/sh
printf '%s\\n' "$*" >> "{calls}"
cat "{output}"
"""

CPU = GpuCandidate(gpu_type_id="cpu", display_name="CPU", gpu_count=0, memory_gb=0, usable_bytes=0)


def settings_for(ssh_pod, **extra: str) -> Settings:
    environ = {"SSH_PRIVATE_KEY_PATH": str(ssh_pod.key.private_path), "PODSMITH_SSH_HOST": ssh_pod.server.address}
    environ.update(extra)
    return Settings.load(environ=environ, project_dir=ssh_pod.server.workdir)


def spec_for(server, **fields) -> RunSpec:
    return RunSpec(repo_id="org/model", provider="ssh", host=server.address, **fields)


@pytest.fixture
def gpu_host(sshd_server, ssh_pod, tmp_path):
    """A server whose sessions find a fake nvidia-smi on PATH; returns (server, calls file, output file)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "nvidia-smi.calls"
    output = tmp_path / "nvidia-smi.out"
    output.write_text(TWO_H200)
    fake = bin_dir / "nvidia-smi"
    fake.write_text(FAKE_NVIDIA_SMI.format(calls=calls, output=output))
    fake.chmod(0o755)
    server = sshd_server(authorized_keys=[ssh_pod.key.public_key], env={"PATH": f"{bin_dir}:/usr/bin:/bin"})
    return server, calls, output


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("root@203.0.113.7", SshAddress(host="203.0.113.7", port=22, user="root")),
        ("me@gpu-box.example.org:2222", SshAddress(host="gpu-box.example.org", port=2222, user="me")),
        ("ubuntu@[2001:db8::1]:22022", SshAddress(host="2001:db8::1", port=22022, user="ubuntu")),
    ],
)
def test_parse_host_valid(text, expected):
    assert parse_host(text) == expected


@pytest.mark.parametrize(
    "text",
    ["gpu-box", "root@", "root@host:0", "root@host:70000", "root@host:ssh", "root@ho st", "-oProxyCommand=x@h",
     "root@host;id", "root@host:22/x"],
)
def test_parse_host_invalid(text):
    with pytest.raises(UsageError) as caught:
        parse_host(text)

    assert repr(text) in caught.value.message
    assert "user@host:port" in caught.value.fix


def test_parse_host_missing():
    with pytest.raises(UsageError) as caught:
        parse_host(None)

    assert "--host user@host[:port]" in caught.value.fix


def test_gate_check_bad_host(ssh_pod):
    settings = Settings.load(environ={}, project_dir=ssh_pod.server.workdir)

    findings = plugin.gate_check(spec=RunSpec(repo_id="org/model", provider="ssh", host="nobody"), settings=settings)
    other = plugin.gate_check(spec=RunSpec(repo_id="org/model", provider="local"), settings=settings)

    assert [(f.level, f.code) for f in findings] == [("error", "ssh-host")]
    assert "'nobody'" in findings[0].message
    assert other == []


def test_parse_gpus():
    assert parse_gpus(TWO_H200 + "NVIDIA L4, [N/A]\n\n") == [("NVIDIA H200", 143771), ("NVIDIA H200", 143771)]


def test_select_cpu_host(sshd_server, ssh_pod, tmp_path):
    empty_bin = tmp_path / "empty-bin"
    empty_bin.mkdir()
    server = sshd_server(authorized_keys=[ssh_pod.key.public_key], env={"PATH": f"{empty_bin}:/bin"})

    candidates = plugin.select_gpu(spec=spec_for(server), estimator=None, settings=settings_for(ssh_pod))

    assert [(c.gpu_type_id, c.gpu_count, c.fits) for c in candidates] == [("cpu", 0, True)]
    assert "no NVIDIA GPU found on 127.0.0.1" in candidates[0].reason


def test_select_gpus(gpu_host, ssh_pod):
    pytest.importorskip("podsmith_core.memory.ranking")
    from podsmith_core.models import MemoryEstimate

    server, calls, _output = gpu_host
    requested: list[int] = []

    def estimator(count: int) -> MemoryEstimate:
        requested.append(count)
        return MemoryEstimate(method="lora", gpu_count=count, per_gpu_bytes=20 * 1024**3)

    candidates = plugin.select_gpu(spec=spec_for(server), estimator=estimator, settings=settings_for(ssh_pod))

    assert calls.read_text() == "--query-gpu=name,memory.total --format=csv,noheader,nounits\n"
    assert {c.gpu_type_id for c in candidates} == {"NVIDIA H200"}
    assert max(c.gpu_count for c in candidates) <= 2
    assert all(c.memory_gb == 140.4 for c in candidates)
    assert requested


def test_select_too_many_gpus(gpu_host, ssh_pod):
    server, _calls, _output = gpu_host

    with pytest.raises(UsageError) as caught:
        plugin.select_gpu(spec=spec_for(server, gpu_count=4), estimator=None, settings=settings_for(ssh_pod))

    assert "--gpu-count 4 is more than the host has (2 GPUs" in caught.value.message
    assert "--gpu-count 2 or fewer" in caught.value.fix


def test_select_unknown_gpu_type(gpu_host, ssh_pod):
    server, _calls, _output = gpu_host

    with pytest.raises(UsageError) as caught:
        plugin.select_gpu(
            spec=spec_for(server, gpu_type="NVIDIA A100-SXM4-80GB"), estimator=None, settings=settings_for(ssh_pod)
        )

    assert "'NVIDIA A100-SXM4-80GB' not found on the host, which has NVIDIA H200" in caught.value.message


def test_create_pod(ssh_pod):
    server = ssh_pod.server

    pod = plugin.create_pod(spec=spec_for(server), candidate=CPU, name="podsmith-ab12", settings=settings_for(ssh_pod))

    workspace = server.home / "podsmith" / "podsmith-ab12"
    assert pod.workspace == str(workspace.resolve())
    assert (workspace / "logs").is_dir()
    assert pod.ssh == SshAddress(host="127.0.0.1", port=server.port, user=server.user)
    assert pod.host_key == server.host_key_fingerprint
    assert (pod.pod_id, pod.name, pod.provider, pod.gpu_type_id) == ("podsmith-ab12", "podsmith-ab12", "ssh", "cpu")
    marker = json.loads((workspace / ".podsmith-pod.json").read_text())
    assert (marker["name"], marker["status"]) == ("podsmith-ab12", "RUNNING")


def test_create_pod_absolute_root(ssh_pod, tmp_path):
    root = tmp_path / "runs"
    settings = settings_for(ssh_pod, PODSMITH_SSH_WORKSPACE_ROOT=str(root))

    pod = plugin.create_pod(spec=spec_for(ssh_pod.server), candidate=CPU, name="podsmith-cd34", settings=settings)

    assert pod.workspace == str((root / "podsmith-cd34").resolve())


def test_create_pod_invalid_name(ssh_pod):
    with pytest.raises(UsageError) as caught:
        plugin.create_pod(spec=spec_for(ssh_pod.server), candidate=CPU, name="../escape", settings=settings_for(ssh_pod))

    assert "'../escape'" in caught.value.message


def test_create_pod_unreachable(ssh_pod):
    spec = RunSpec(repo_id="org/model", provider="ssh", host=f"root@127.0.0.1:{free_port()}")
    settings = settings_for(ssh_pod, PODSMITH_SSH_CONNECT_TIMEOUT_S="1")

    started = time.monotonic()
    with pytest.raises(Exception) as caught:
        plugin.create_pod(spec=spec, candidate=CPU, name="podsmith-ef56", settings=settings)

    assert time.monotonic() - started < 3
    assert "within 1 s" in str(caught.value)


def test_destroy_stops_job_keeps_outputs(ssh_pod):
    settings = settings_for(ssh_pod)
    pod = plugin.create_pod(spec=spec_for(ssh_pod.server), candidate=CPU, name="podsmith-0001", settings=settings)
    workspace = Path(pod.workspace)

    with SshTransport.for_pod(pod, settings) as transport:
        upload_secrets(transport, pod.workspace, {"HF_TOKEN": "hf_not_a_real_token"})
        transport.upload(b"weights", f"{pod.workspace}/output/model.bin")
        transport.upload(b"sleep 300\n", f"{pod.workspace}/train.sh", mode=0o755)
        RemoteJob(transport, pod.workspace, "train").launch(f"{pod.workspace}/train.sh")
    job_pid = int((workspace / "logs" / "train.pid").read_text())
    assert pid_alive(job_pid)

    assert plugin.destroy_pod(pod=pod, settings=settings) is True

    assert not pid_alive(job_pid)
    assert not (workspace / "secrets").exists()
    assert (workspace / "output" / "model.bin").read_bytes() == b"weights"
    assert json.loads((workspace / ".podsmith-pod.json").read_text())["status"] == "TERMINATED"
    assert plugin.destroy_pod(pod=pod, settings=settings) is True


def test_destroy_missing_workspace(ssh_pod):
    settings = settings_for(ssh_pod)
    pod = plugin.create_pod(spec=spec_for(ssh_pod.server), candidate=CPU, name="podsmith-0002", settings=settings)
    Path(pod.workspace, ".podsmith-pod.json").unlink()
    Path(pod.workspace, "logs").rmdir()
    Path(pod.workspace).rmdir()

    assert plugin.destroy_pod(pod=pod, settings=settings) is True


def test_destroy_unreachable(ssh_pod):
    settings = settings_for(ssh_pod, PODSMITH_SSH_CONNECT_TIMEOUT_S="1")
    pod = plugin.create_pod(spec=spec_for(ssh_pod.server), candidate=CPU, name="podsmith-0003", settings=settings)
    ssh_pod.server.stop()

    with pytest.raises(ProviderError) as caught:
        plugin.destroy_pod(pod=pod, settings=settings)

    assert f"Could not reach 127.0.0.1:{ssh_pod.server.port} to stop Pod podsmith-0003" in caught.value.message
    assert f"{pod.workspace}/secrets" in caught.value.fix


def test_list_pods(ssh_pod):
    settings = settings_for(ssh_pod)
    spec = spec_for(ssh_pod.server)
    for name in ("podsmith-aaaa", "podsmith-bbbb", "other-cccc"):
        plugin.create_pod(spec=spec, candidate=CPU, name=name, settings=settings)
    destroyed = plugin.create_pod(spec=spec, candidate=CPU, name="podsmith-dddd", settings=settings)
    plugin.destroy_pod(pod=destroyed, settings=settings)

    records = plugin.list_pods(name_prefix="podsmith-", settings=settings)

    assert sorted((r.name, r.status, r.gpu_type_id) for r in records) == [
        ("podsmith-aaaa", "RUNNING", "cpu"),
        ("podsmith-bbbb", "RUNNING", "cpu"),
    ]


def test_list_pods_without_host(ssh_pod):
    settings = Settings.load(environ={}, project_dir=ssh_pod.server.workdir)

    with pytest.raises(UsageError) as caught:
        plugin.list_pods(name_prefix="podsmith-", settings=settings)
    assert "PODSMITH_SSH_HOST" in caught.value.fix


def test_plugin_host_dispatch(ssh_pod):
    host = make_host([("ssh", plugin)])
    caller = host.caller("create_pod", provider="ssh", trainer=None)
    settings = settings_for(ssh_pod)

    pod = caller(spec=spec_for(ssh_pod.server), candidate=CPU, name="podsmith-hook", settings=settings)

    assert pod.provider == "ssh"
    assert host.info("ssh").kind == "provider"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by its parent) counts as stopped.
    status = Path(f"/proc/{pid}/stat").read_text()
    return status[status.rindex(")") + 2] != "Z"


def test_secret_file_mode_on_pod(ssh_pod):
    settings = settings_for(ssh_pod)
    pod = plugin.create_pod(spec=spec_for(ssh_pod.server), candidate=CPU, name="podsmith-0004", settings=settings)

    with SshTransport.for_pod(pod, settings) as transport:
        (path,) = upload_secrets(transport, pod.workspace, {"WANDB_API_KEY": "w" * 40})

    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_pipeline_run_over_ssh(ssh_pod, podsmith_home):
    from podsmith_core.pipeline import Session, execute, make_plan
    from podsmith_core.state import StateStore
    from podsmith_core.testing import FakeTrainer, RecordingNotifier

    notifier = RecordingNotifier()
    host = make_host([("ssh", plugin), ("fake-trainer", FakeTrainer("echo step 1; echo step 2")), ("rec", notifier)])
    spec = RunSpec(repo_id="org/model", provider="ssh", trainer="fake-trainer", host=ssh_pod.server.address)
    session = Session(spec, settings_for(ssh_pod), host)

    result = execute(session, make_plan(session), StateStore())

    assert result.exit_status == 0
    assert [e.message for e in notifier.events if e.event == "log"] == ["step 1", "step 2"]
    (record,) = StateStore().pods()
    assert record.status == "terminated"
    assert record.host_key == ssh_pod.server.host_key_fingerprint
    workspace = ssh_pod.server.home / "podsmith" / f"podsmith-{session.run_id}"
    assert json.loads((workspace / ".podsmith-pod.json").read_text())["status"] == "TERMINATED"
    assert (workspace / "logs" / "train.log").read_text() == "step 1\nstep 2\n"
