"""Transient API failures: reads are retried, an ambiguous create is reconciled by the Pod's name."""

from __future__ import annotations

import pytest

from emulators.runpod import RunpodEmulator
from emulators.runpod_pods import PodBehaviour
from podsmith_core.errors import AuthError, PodStartError, ProviderError
from runpod_test_support import candidate, fixed_estimator


@pytest.fixture(autouse=True)
def banner_pods(runpod_emulator: RunpodEmulator) -> None:
    runpod_emulator.pod_behaviour = PodBehaviour(ssh="banner")


@pytest.mark.parametrize("style", ["500", "drop", "no-data"])
def test_create_then_error_adopts(runpod_emulator: RunpodEmulator, provider, spec, make_settings, style):
    runpod_emulator.create_then_error(style)
    settings = make_settings()

    pod = provider.create_pod(spec=spec, candidate=candidate("NVIDIA L40S"), name="podsmith-amb", settings=settings)

    assert runpod_emulator.count("podFindAndDeployOnDemand") == 1
    assert runpod_emulator.count("myself") == 1
    assert len(runpod_emulator.pods) == 1
    assert pod.pod_id in runpod_emulator.pods
    assert pod.data["adopted"] is True
    provider.destroy_pod(pod=pod, settings=settings)
    assert runpod_emulator.live_pods() == []


def test_create_then_error_start_fails(runpod_emulator: RunpodEmulator, provider, spec, make_settings):
    runpod_emulator.create_then_error("500")
    runpod_emulator.pod_behaviour = PodBehaviour(exit_after_polls=1, ssh="banner")

    with pytest.raises(PodStartError):
        provider.create_pod(spec=spec, candidate=candidate("NVIDIA L40S"), name="podsmith-amb2", settings=make_settings())

    assert runpod_emulator.count("podFindAndDeployOnDemand") == 1
    assert runpod_emulator.live_pods() == []
    assert len(runpod_emulator.terminated) == 1


def test_create_5xx_before_pod_retries(runpod_emulator: RunpodEmulator, provider, spec, make_settings):
    runpod_emulator.fail(502, operation="podFindAndDeployOnDemand")
    settings = make_settings()

    pod = provider.create_pod(spec=spec, candidate=candidate("NVIDIA L40S"), name="podsmith-5xx", settings=settings)

    statuses = [r.status for r in runpod_emulator.requests if "podFindAndDeployOnDemand" in r.operations]
    assert statuses == [502, 200]
    assert runpod_emulator.count("myself") == 1
    assert len(runpod_emulator.pods) == 1
    assert pod.data["adopted"] is False
    provider.destroy_pod(pod=pod, settings=settings)
    assert runpod_emulator.live_pods() == []


def test_create_reconcile_unreadable(runpod_emulator: RunpodEmulator, provider, spec, make_settings):
    runpod_emulator.create_then_error("500")
    runpod_emulator.fail(503, operation="myself", times=100)

    with pytest.raises(ProviderError) as caught:
        provider.create_pod(spec=spec, candidate=candidate("NVIDIA L40S"), name="podsmith-lost", settings=make_settings())

    assert "Could not check whether Pod podsmith-lost was created" in str(caught.value)
    assert "terminate it" in caught.value.fix
    assert runpod_emulator.count("podFindAndDeployOnDemand") == 1


def test_duplicate_names_terminated(runpod_emulator: RunpodEmulator, provider, spec, make_settings):
    settings = make_settings()
    first = provider.create_pod(spec=spec, candidate=candidate("NVIDIA L40S"), name="podsmith-dup", settings=settings)
    runpod_emulator.create_then_error("500")

    second = provider.create_pod(spec=spec, candidate=candidate("NVIDIA L40S"), name="podsmith-dup", settings=settings)

    assert second.pod_id == first.pod_id
    assert len(runpod_emulator.live_pods()) == 1
    assert len(runpod_emulator.terminated) == 1
    provider.destroy_pod(pod=second, settings=settings)
    assert runpod_emulator.live_pods() == []


def test_rate_limited_polls_retried(runpod_emulator: RunpodEmulator, provider, spec, make_settings):
    runpod_emulator.fail(429, operation="pod", times=2, retry_after=0.01)
    settings = make_settings()

    pod = provider.create_pod(spec=spec, candidate=candidate("NVIDIA L40S"), name="podsmith-429", settings=settings)

    statuses = [r.status for r in runpod_emulator.requests if "pod" in r.operations]
    assert statuses == [429, 429, 200]
    provider.destroy_pod(pod=pod, settings=settings)
    assert runpod_emulator.live_pods() == []


def test_non_json_poll_retried(runpod_emulator: RunpodEmulator, provider, spec, make_settings):
    runpod_emulator.fail(200, operation="pod")
    runpod_emulator.fail(500, operation="pod")
    settings = make_settings()

    pod = provider.create_pod(spec=spec, candidate=candidate("NVIDIA L40S"), name="podsmith-json", settings=settings)

    statuses = [r.status for r in runpod_emulator.requests if "pod" in r.operations]
    assert statuses == [200, 500, 200]
    provider.destroy_pod(pod=pod, settings=settings)
    assert runpod_emulator.live_pods() == []


def test_polls_failing_terminates(runpod_emulator: RunpodEmulator, provider, spec, make_settings):
    runpod_emulator.fail(503, operation="pod", times=100)

    with pytest.raises(PodStartError) as caught:
        provider.create_pod(spec=spec, candidate=candidate("NVIDIA L40S"), name="podsmith-503", settings=make_settings())

    assert "status could not be read" in str(caught.value)
    assert "failed 5 times" in str(caught.value)
    assert runpod_emulator.count("pod") == 5
    assert runpod_emulator.live_pods() == []


def test_terminate_retried(runpod_emulator: RunpodEmulator, provider, spec, make_settings):
    settings = make_settings()
    pod = provider.create_pod(spec=spec, candidate=candidate("NVIDIA L40S"), name="podsmith-term", settings=settings)
    runpod_emulator.fail(500, operation="podTerminate")
    runpod_emulator.drop(operation="podTerminate")

    assert provider.destroy_pod(pod=pod, settings=settings) is True

    assert runpod_emulator.count("podTerminate") == 3
    assert runpod_emulator.live_pods() == []


def test_gpu_query_retried(runpod_emulator: RunpodEmulator, provider, spec, make_settings):
    runpod_emulator.fail(502, operation="gpuTypes")
    runpod_emulator.fail(429, operation="gpuTypes", retry_after=1)

    candidates = provider.select_gpu(spec=spec, estimator=fixed_estimator(10), settings=make_settings())

    assert candidates
    assert [r.status for r in runpod_emulator.requests] == [502, 429, 200]


def test_wrong_key_rejected(runpod_emulator: RunpodEmulator, provider, spec, make_settings):
    settings = make_settings(RUNPOD_API_KEY="rpa_wrong_key_0123456789")

    with pytest.raises(AuthError) as caught:
        provider.create_pod(spec=spec, candidate=candidate("NVIDIA L40S"), name="podsmith-401", settings=settings)

    assert "RUNPOD_API_KEY was rejected" in str(caught.value)
    assert "https://www.runpod.io/console/user/settings" in caught.value.fix
    assert "rpa_wrong_key_0123456789" not in str(caught.value)
    assert [r.status for r in runpod_emulator.requests] == [401]
    assert runpod_emulator.count("podFindAndDeployOnDemand") == 0


def test_forbidden_rejected(runpod_emulator: RunpodEmulator, provider, spec, make_settings):
    runpod_emulator.fail(403, operation="podFindAndDeployOnDemand")

    with pytest.raises(AuthError) as caught:
        provider.create_pod(spec=spec, candidate=candidate("NVIDIA L40S"), name="podsmith-403", settings=make_settings())

    assert "RUNPOD_API_KEY was rejected" in caught.value.fix
    assert runpod_emulator.live_pods() == []


def test_wrong_key_on_select(runpod_emulator: RunpodEmulator, provider, spec, make_settings):
    settings = make_settings(RUNPOD_API_KEY="rpa_wrong_key_0123456789")

    with pytest.raises(AuthError):
        provider.select_gpu(spec=spec, estimator=fixed_estimator(10), settings=settings)

    assert [r.status for r in runpod_emulator.requests] == [401]


def test_null_data_poll_retried(runpod_emulator: RunpodEmulator, provider, spec, make_settings):
    runpod_emulator.fail(200, operation="pod", body='{"data": null}')
    settings = make_settings()

    pod = provider.create_pod(spec=spec, candidate=candidate("NVIDIA L40S"), name="podsmith-null", settings=settings)

    statuses = [r.status for r in runpod_emulator.requests if "pod" in r.operations]
    assert statuses == [200, 200]
    provider.destroy_pod(pod=pod, settings=settings)
    assert runpod_emulator.live_pods() == []
