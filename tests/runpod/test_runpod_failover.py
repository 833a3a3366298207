"""Failover: capacity errors and Pods that never become reachable move on to the next candidate."""

from __future__ import annotations

import time

import pytest

from emulators.runpod import RunpodEmulator
from emulators.runpod_pods import PodBehaviour
from podsmith_core.errors import CapacityError, PodStartError
from runpod_test_support import candidate, try_candidates


def test_capacity_fails_over(runpod_emulator: RunpodEmulator, provider, spec, make_settings):
    runpod_emulator.no_capacity("NVIDIA L40S")
    settings = make_settings()
    options = [candidate("NVIDIA L40S"), candidate("NVIDIA A100-SXM4-80GB")]

    result = try_candidates(provider, spec, options, settings, "podsmith-cap")

    assert result.pod is not None
    assert result.pod.gpu_type_id == "NVIDIA A100-SXM4-80GB"
    assert result.pod.name == "podsmith-cap-2"
    assert [gpu for gpu, _ in result.reasons] == ["NVIDIA L40S"]
    assert "no longer any instances available" in result.reasons[0][1]
    assert runpod_emulator.count("podFindAndDeployOnDemand") == 2
    provider.destroy_pod(pod=result.pod, settings=settings)
    assert runpod_emulator.live_pods() == []


def test_all_candidates_without_capacity(runpod_emulator: RunpodEmulator, provider, spec, make_settings):
    runpod_emulator.no_capacity("NVIDIA L40S")
    runpod_emulator.no_capacity("NVIDIA H100 80GB HBM3", message="There are no longer any instances available with enough disk space.")
    options = [candidate("NVIDIA L40S"), candidate("NVIDIA H100 80GB HBM3")]

    result = try_candidates(provider, spec, options, make_settings(), "podsmith-none")

    assert result.pod is None
    assert [gpu for gpu, _ in result.reasons] == ["NVIDIA L40S", "NVIDIA H100 80GB HBM3"]
    assert "requested specifications" in result.reasons[0][1]
    assert "enough disk space" in result.reasons[1][1]
    assert runpod_emulator.live_pods() == []


@pytest.mark.parametrize(
    "message",
    [
        "There are no longer any instances available with the requested specifications. Please refresh and try again.",
        "There are no longer any instances available with enough disk space.",
        "There are not enough free GPUs on the host machine to start this pod.",
    ],
)
def test_capacity_messages(runpod_emulator: RunpodEmulator, provider, spec, make_settings, message):
    runpod_emulator.no_capacity("NVIDIA L40S", message=message)

    with pytest.raises(CapacityError) as caught:
        provider.create_pod(spec=spec, candidate=candidate("NVIDIA L40S"), name="podsmith-msg", settings=make_settings())

    assert message in str(caught.value)
    assert "NVIDIA L40S x1 (ALL)" in str(caught.value)
    assert caught.value.__context__ is None
    assert runpod_emulator.count("podFindAndDeployOnDemand") == 1
    assert runpod_emulator.live_pods() == []


def test_capacity_per_cloud_type(runpod_emulator: RunpodEmulator, provider, spec, make_settings):
    runpod_emulator.no_capacity("NVIDIA L40S", cloud_type="SECURE")
    settings = make_settings()
    options = [candidate("NVIDIA L40S", cloud_type="SECURE"), candidate("NVIDIA L40S", cloud_type="COMMUNITY")]

    result = try_candidates(provider, spec, options, settings, "podsmith-cloud")

    assert result.pod is not None
    assert result.pod.cloud_type == "COMMUNITY"
    assert len(result.reasons) == 1
    assert "(SECURE)" in result.reasons[0][1]
    provider.destroy_pod(pod=result.pod, settings=settings)
    assert runpod_emulator.live_pods() == []


def test_no_public_ip_fails_over(runpod_emulator: RunpodEmulator, provider, spec, make_settings):
    runpod_emulator.queue_behaviours(PodBehaviour(public_ip=False, ssh="banner"))
    settings = make_settings()
    options = [candidate("NVIDIA L40S"), candidate("NVIDIA A100-SXM4-80GB")]

    result = try_candidates(provider, spec, options, settings, "podsmith-noip")

    assert result.pod is not None
    assert result.pod.gpu_type_id == "NVIDIA A100-SXM4-80GB"
    assert "port 22/tcp has no public mapping" in result.reasons[0][1]
    assert "terminated" in result.reasons[0][1]
    assert len(runpod_emulator.terminated) == 1
    provider.destroy_pod(pod=result.pod, settings=settings)
    assert runpod_emulator.live_pods() == []


def test_ports_never_mapped(runpod_emulator: RunpodEmulator, provider, spec, make_settings):
    runpod_emulator.pod_behaviour = PodBehaviour(ports_null_polls=-1, ssh="banner")

    with pytest.raises(PodStartError) as caught:
        provider.create_pod(spec=spec, candidate=candidate("NVIDIA L40S"), name="podsmith-ports", settings=make_settings())

    assert "within 1 s" in str(caught.value)
    assert "no public mapping" in str(caught.value)
    assert runpod_emulator.live_pods() == []
    assert runpod_emulator.count("podTerminate") == 1


def test_runtime_null_then_ready(runpod_emulator: RunpodEmulator, provider, make_settings, spec):
    runpod_emulator.pod_behaviour = PodBehaviour(runtime_null_polls=3, ports_null_polls=2, ssh="banner")
    spec = spec.model_copy(update={"ssh_timeout_min": 1.0})
    settings = make_settings()

    pod = provider.create_pod(spec=spec, candidate=candidate("NVIDIA L40S"), name="podsmith-slow", settings=settings)

    assert runpod_emulator.pods[pod.pod_id].polls == 6
    provider.destroy_pod(pod=pod, settings=settings)
    assert runpod_emulator.live_pods() == []


def test_start_delay_waited(runpod_emulator: RunpodEmulator, provider, spec, make_settings):
    runpod_emulator.pod_behaviour = PodBehaviour(start_delay_s=0.5, ssh="banner")
    settings = make_settings()
    started = time.monotonic()

    pod = provider.create_pod(spec=spec, candidate=candidate("NVIDIA L40S"), name="podsmith-delay", settings=settings)

    assert time.monotonic() - started >= 0.5
    assert runpod_emulator.pods[pod.pod_id].polls >= 3
    provider.destroy_pod(pod=pod, settings=settings)
    assert runpod_emulator.live_pods() == []


def test_slow_start_times_out(runpod_emulator: RunpodEmulator, provider, spec, make_settings):
    runpod_emulator.queue_behaviours(PodBehaviour(runtime_null_polls=10_000, ssh="banner"))
    settings = make_settings()
    options = [candidate("NVIDIA L40S"), candidate("NVIDIA RTX A6000")]

    result = try_candidates(provider, spec, options, settings, "podsmith-timeout")

    assert result.pod is not None
    assert "container runtime is not reported yet" in result.reasons[0][1]
    provider.destroy_pod(pod=result.pod, settings=settings)
    assert runpod_emulator.live_pods() == []


def test_exited_fails_fast(runpod_emulator: RunpodEmulator, provider, spec, make_settings):
    runpod_emulator.pod_behaviour = PodBehaviour(runtime_null_polls=100, exit_after_polls=2, ssh="banner")
    spec = spec.model_copy(update={"ssh_timeout_min": 5.0})
    started = time.monotonic()

    with pytest.raises(PodStartError) as caught:
        provider.create_pod(spec=spec, candidate=candidate("NVIDIA L40S"), name="podsmith-exit", settings=make_settings())

    assert time.monotonic() - started < 10
    assert "stopped while starting (status EXITED)" in str(caught.value)
    assert runpod_emulator.live_pods() == []


def test_interrupt_while_waiting(runpod_emulator: RunpodEmulator, provider, spec, make_settings, monkeypatch):
    runpod_emulator.pod_behaviour = PodBehaviour(ssh="banner")

    def interrupted(host: str, port: int, timeout: float = 5.0) -> bool:
        raise KeyboardInterrupt

    monkeypatch.setattr("podsmith_runpod.wait.read_ssh_banner", interrupted)

    with pytest.raises(KeyboardInterrupt):
        provider.create_pod(spec=spec, candidate=candidate("NVIDIA L40S"), name="podsmith-ctrlc", settings=make_settings())

    assert runpod_emulator.live_pods() == []
    assert runpod_emulator.count("podTerminate") == 1


def test_unknown_gpu_type_fails_over(runpod_emulator: RunpodEmulator, provider, spec, make_settings):
    runpod_emulator.pod_behaviour = PodBehaviour(ssh="banner")
    settings = make_settings()
    options = [candidate("NVIDIA Retired GPU"), candidate("NVIDIA L40S")]

    result = try_candidates(provider, spec, options, settings, "podsmith-retired")

    assert result.pod is not None
    assert result.reasons == [("NVIDIA Retired GPU", "Runpod does not offer GPU type 'NVIDIA Retired GPU'.")]
    assert runpod_emulator.count("podFindAndDeployOnDemand") == 1
    provider.destroy_pod(pod=result.pod, settings=settings)
    assert runpod_emulator.live_pods() == []
