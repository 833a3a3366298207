"""Pod creation through the real runpod SDK against the emulator, ending in a real SSH login."""

from __future__ import annotations

import paramiko

from emulators.runpod import RunpodEmulator
from runpod_test_support import candidate


def test_create_pod_reachable_over_ssh(runpod_emulator: RunpodEmulator, provider, spec, make_settings, client_key):
    pod = provider.create_pod(spec=spec, candidate=candidate("NVIDIA L40S"), name="podsmith-abc123", settings=make_settings())

    emulated = runpod_emulator.pods[pod.pod_id]
    assert pod.name == "podsmith-abc123"
    assert pod.provider == "runpod"
    assert pod.ssh is not None
    assert (pod.ssh.host, pod.ssh.port) == ("127.0.0.1", emulated.ssh_port)
    assert pod.workspace == str(emulated.workspace)
    assert pod.gpu_type_id == "NVIDIA L40S"
    assert pod.gpu_count == 1
    assert pod.price_per_hour == emulated.cost_per_hr
    assert pod.data["adopted"] is False
    assert runpod_emulator.count("podFindAndDeployOnDemand") == 1

    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect(pod.ssh.host, pod.ssh.port, username=pod.ssh.user, key_filename=str(client_key.private_path))
    try:
        _, stdout, _ = client.exec_command(f"cd {pod.workspace} && pwd && echo $RUNPOD_POD_ID")
        lines = stdout.read().decode().split()
    finally:
        client.close()
    assert lines == [pod.workspace, pod.pod_id]

    assert provider.destroy_pod(pod=pod, settings=make_settings()) is True
    assert runpod_emulator.live_pods() == []
    assert emulated.server is None


def test_create_request_fields(runpod_emulator: RunpodEmulator, provider, spec, make_settings, client_key):
    spec = spec.model_copy(update={"volume_gb": 120, "container_disk_gb": 40, "image": "example/trainer:1.0"})
    option = candidate("NVIDIA H100 80GB HBM3", count=2, cloud_type="SECURE")
    pod = provider.create_pod(spec=spec, candidate=option, name="podsmith-fields", settings=make_settings())

    emulated = runpod_emulator.pods[pod.pod_id]
    assert emulated.image_name == "example/trainer:1.0"
    assert emulated.gpu_count == 2
    assert emulated.cloud_type == "SECURE"
    assert emulated.volume_in_gb == 120
    assert emulated.container_disk_in_gb == 40
    assert emulated.env["PUBLIC_KEY"] == client_key.public_key
    create_body = next(r.body for r in runpod_emulator.requests if "podFindAndDeployOnDemand" in r.operations)
    assert "supportPublicIp: true" in create_body
    assert "startSsh: true" in create_body
    assert 'ports: \\"22/tcp\\"' in create_body
    assert pod.cloud_type == "SECURE"

    provider.destroy_pod(pod=pod, settings=make_settings())
    assert runpod_emulator.live_pods() == []


def test_destroy_pod_idempotent(runpod_emulator: RunpodEmulator, provider, spec, make_settings):
    settings = make_settings()
    pod = provider.create_pod(spec=spec, candidate=candidate("NVIDIA L40S"), name="podsmith-twice", settings=settings)

    assert provider.destroy_pod(pod=pod, settings=settings) is True
    assert provider.destroy_pod(pod=pod, settings=settings) is True
    assert runpod_emulator.count("podTerminate") == 2
    assert runpod_emulator.live_pods() == []


def test_destroy_pod_other_provider(runpod_emulator: RunpodEmulator, provider, spec, make_settings):
    from podsmith_core.models import PodHandle

    foreign = PodHandle(pod_id="x", name="podsmith-x", provider="ssh", workspace="/tmp")
    assert provider.destroy_pod(pod=foreign, settings=make_settings()) is None
    assert runpod_emulator.requests == []


def test_list_pods_by_prefix(runpod_emulator: RunpodEmulator, provider, spec, make_settings):
    settings = make_settings()
    first = provider.create_pod(spec=spec, candidate=candidate("NVIDIA L40S"), name="podsmith-list1", settings=settings)
    second = provider.create_pod(spec=spec, candidate=candidate("NVIDIA RTX A6000"), name="other-pod", settings=settings)

    records = provider.list_pods(name_prefix="podsmith-", settings=settings)

    assert [(r.pod_id, r.name, r.status) for r in records] == [(first.pod_id, "podsmith-list1", "RUNNING")]
    assert records[0].price_per_hour == first.price_per_hour
    for pod in (first, second):
        provider.destroy_pod(pod=pod, settings=settings)
    assert runpod_emulator.live_pods() == []
