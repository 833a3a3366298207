"""run_remote end to end: files and secrets uploaded, jobs run detached, lines streamed, Pod reached over SSH."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from podsmith_core.errors import RemoteJobFailed
from podsmith_core.models import Event, PodHandle, RunSpec, SshAddress
from podsmith_core.testing.sshd import sshd_available, ssh_client_key, sshd_server  # noqa: F401 (fixtures)
from podsmith_core.transport.local import LocalTransport

from openr1_support import GEMMA_FACTS, HF_TOKEN_VALUE, make_settings
from workspace_helpers import free_port, make_env, standin_environ


def server_spec(port: int, **fields) -> RunSpec:
    return RunSpec(
        repo_id="unsloth/gemma-2b",
        trainer="openr1-grpo",
        gpu_count=4,
        vllm_mode="server",
        options={"vllm_server_port": str(port)},
        **fields,
    )


def prepared_workspace(tmp_path: Path, spec: RunSpec, settings):
    from podsmith_openr1.plugin import OpenR1Trainer

    trainer = OpenR1Trainer(spec.trainer.removeprefix("openr1-"))
    plan = trainer.prepare_run(spec=spec, facts=GEMMA_FACTS, settings=settings)
    workspace = tmp_path / "ws"
    workspace.mkdir()
    make_env(workspace, plan)
    return trainer, plan, workspace


def assert_server_split(records: Path) -> None:
    trl = json.loads((records / "trl.json").read_text())
    accelerate = json.loads((records / "accelerate.json").read_text())
    assert trl["CUDA_VISIBLE_DEVICES"] == "0"
    assert accelerate["CUDA_VISIBLE_DEVICES"] == "1,2,3"
    assert accelerate["args"][accelerate["args"].index("--num_processes") + 1] == "3"
    assert accelerate["server_healthy"] is True
    assert accelerate["HF_TOKEN_MATCHES"] is True
    assert accelerate["secret_modes"] == {"HF_TOKEN": 0o600}


def test_run_remote_local(tmp_path, monkeypatch):
    port = free_port()
    settings = make_settings(tmp_path)
    spec = server_spec(port, debug_remote=True)
    trainer, plan, workspace = prepared_workspace(tmp_path, spec, settings)
    # Setup is covered by its own test; this run starts at training with the prepared environment.
    plan = plan.model_copy(update={"setup_script": None})
    records = tmp_path / "records"
    for key, value in standin_environ(records, 4, STANDIN_HEALTH_PORT=str(port), STANDIN_EXPECTED_HF_TOKEN=HF_TOKEN_VALUE).items():
        monkeypatch.setenv(key, value)
    pod = PodHandle(pod_id="local-1", name="podsmith-test", provider="local", workspace=str(workspace), gpu_count=4)
    events: list[Event] = []

    result = trainer.run_remote(
        spec=spec, plan=plan, pod=pod, transport=LocalTransport(), emit=events.append, settings=settings
    )

    assert result.exit_status == 0
    assert result.final_loss == pytest.approx(0.4242)
    assert result.output_dir == str(workspace / "output" / "gemma-2b-openr1-grpo")
    assert result.hub_repo == "gemma-2b-openr1-grpo"
    assert result.log_path == str(workspace / "logs" / "train.log")
    lines = [event.message for event in events if event.event == "log"]
    assert {event.stage for event in events if event.event == "log"} == {"train"}
    assert "[podsmith] training finished" in lines
    assert any(line.startswith("+ accelerate launch") for line in lines)
    assert all(HF_TOKEN_VALUE not in event.model_dump_json() for event in events)
    assert_server_split(records)
    assert not (workspace / "secrets").exists()
    assert (workspace / "openr1" / "recipe.yaml").is_file()


def test_setup_failure_stops_run(tmp_path, monkeypatch):
    settings = make_settings(tmp_path)
    # Full GRPO needs no extra packages, so setup goes straight from the reused environment to the stack check.
    spec = RunSpec(repo_id="unsloth/gemma-2b", trainer="openr1-grpo", gpu_count=1)
    trainer, plan, workspace = prepared_workspace(tmp_path, spec, settings)
    records = tmp_path / "records"
    for key, value in standin_environ(records, 1).items():
        monkeypatch.setenv(key, value)
    pod = PodHandle(pod_id="local-2", name="podsmith-test", provider="local", workspace=str(workspace), gpu_count=1)
    events: list[Event] = []

    with pytest.raises(RemoteJobFailed) as caught:
        trainer.run_remote(spec=spec, plan=plan, pod=pod, transport=LocalTransport(), emit=events.append, settings=settings)

    assert caught.value.exit_status == 1
    assert "Setup failed" in caught.value.message
    assert any("vllm is not installed (expected 0.8.5.post1)" in line for line in caught.value.tail)
    assert {event.stage for event in events if event.event == "log"} == {"setup"}
    assert not (records / "accelerate.json").exists()
    assert not (workspace / "secrets").exists()


def test_replan_for_pod_gpus(tmp_path, monkeypatch):
    """A plan made without --gpu-count is rebuilt for the GPUs the Pod really has."""
    settings = make_settings(tmp_path)
    spec = RunSpec(repo_id="unsloth/gemma-2b", trainer="openr1-grpo", skip_setup=False)
    trainer, plan, workspace = prepared_workspace(tmp_path, spec, settings)
    plan = plan.model_copy(update={"setup_script": None})
    assert plan.summary["gpu_count"] == 1
    records = tmp_path / "records"
    for key, value in standin_environ(records, 2).items():
        monkeypatch.setenv(key, value)
    pod = PodHandle(pod_id="local-3", name="podsmith-test", provider="local", workspace=str(workspace), gpu_count=2)
    events: list[Event] = []

    with pytest.raises(RemoteJobFailed):
        # The rebuilt plan runs setup, which fails on the empty test environment: enough to see the new plan.
        trainer.run_remote(spec=spec, plan=plan, pod=pod, transport=LocalTransport(), emit=events.append, settings=settings)

    assert any(event.event == "replanned" and "2 GPUs" in event.message for event in events)
    accelerate_yaml = (workspace / "openr1" / "accelerate.yaml").read_text()
    assert "num_processes: 2" in accelerate_yaml


def test_server_launch_over_ssh(tmp_path, sshd_server, ssh_client_key):  # noqa: F811
    """The server-mode launch runs on a real OpenSSH server: vLLM on GPU 0, training on GPUs 1-3."""
    if not sshd_available():
        pytest.skip("OpenSSH server (/usr/sbin/sshd) and ssh-keygen are needed")
    from podsmith_core.transport.ssh import SshTransport

    port = free_port()
    settings = make_settings(tmp_path)
    spec = server_spec(port, nccl_p2p_disable=True)
    trainer, plan, workspace = prepared_workspace(tmp_path, spec, settings)
    plan = plan.model_copy(update={"setup_script": None})
    records = tmp_path / "records"
    session_env = standin_environ(records, 4, STANDIN_HEALTH_PORT=str(port), STANDIN_EXPECTED_HF_TOKEN=HF_TOKEN_VALUE)
    session_env = {key: value for key, value in session_env.items() if key == "PATH" or key.startswith(("STANDIN_", "HF_HUB"))}
    key = ssh_client_key("ed25519")
    server = sshd_server(authorized_keys=[key.public_key], env=session_env)
    transport = SshTransport("127.0.0.1", server.port, server.user, key_file=key.private_path, connect_timeout_s=10.0)
    pod = PodHandle(
        pod_id="ssh-1",
        name="podsmith-test",
        provider="ssh",
        workspace=str(workspace),
        gpu_count=4,
        ssh=SshAddress(host="127.0.0.1", port=server.port, user=server.user),
    )
    events: list[Event] = []
    try:
        result = trainer.run_remote(spec=spec, plan=plan, pod=pod, transport=transport, emit=events.append, settings=settings)
    finally:
        transport.close()

    assert result.exit_status == 0, [event.message for event in events][-20:]
    assert_server_split(records)
    trl = json.loads((records / "trl.json").read_text())
    assert trl["NCCL_P2P_DISABLE"] == "1"
    lines = [event.message for event in events if event.event == "log"]
    assert "[podsmith] vLLM server is healthy; training on GPU 1,2,3" in lines
    with pytest.raises(ProcessLookupError):
        os.kill(trl["pid"], 0)
    assert not (workspace / "secrets").exists()
