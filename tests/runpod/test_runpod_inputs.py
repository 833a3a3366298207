"""Input checks before any request, and secrets kept out of requests and error texts."""

from __future__ import annotations

import json

import pytest

from emulators.runpod import RunpodEmulator
from emulators.runpod_pods import PodBehaviour
from podsmith_core.errors import AuthError, ProviderError, UsageError
from podsmith_core.settings import Settings
from runpod_test_support import HF_TOKEN_VALUE, WANDB_KEY_VALUE, candidate

BAD_VALUES = ['say "hi"', "back\\slash", "two\nlines", "bell\x07"]


@pytest.mark.parametrize("value", BAD_VALUES)
def test_bad_pod_name_rejected(runpod_emulator: RunpodEmulator, provider, spec, make_settings, value):
    with pytest.raises(UsageError) as caught:
        provider.create_pod(spec=spec, candidate=candidate("NVIDIA L40S"), name=f"podsmith-{value}", settings=make_settings())

    assert "Invalid Pod name" in str(caught.value)
    assert runpod_emulator.requests == []


@pytest.mark.parametrize("value", BAD_VALUES)
def test_bad_image_rejected(runpod_emulator: RunpodEmulator, provider, spec, make_settings, value):
    spec = spec.model_copy(update={"image": f"example/{value}"})

    with pytest.raises(UsageError) as caught:
        provider.create_pod(spec=spec, candidate=candidate("NVIDIA L40S"), name="podsmith-img", settings=make_settings())

    assert "Invalid image" in str(caught.value)
    assert runpod_emulator.requests == []


def test_bad_gpu_type_rejected(runpod_emulator: RunpodEmulator, provider, spec, make_settings):
    option = candidate('NVIDIA L40S", cloudType: SECURE, gpuTypeId: "NVIDIA H200')

    with pytest.raises(UsageError) as caught:
        provider.create_pod(spec=spec, candidate=option, name="podsmith-gpu", settings=make_settings())

    assert "Invalid GPU type" in str(caught.value)
    assert runpod_emulator.requests == []


def test_bad_public_key_rejected(runpod_emulator: RunpodEmulator, provider, spec, make_settings):
    settings = make_settings(SSH_PUBLIC_KEY='ssh-ed25519 AAAAC3Nza" }, { key: "X", value: "1')

    with pytest.raises(UsageError) as caught:
        provider.create_pod(spec=spec, candidate=candidate("NVIDIA L40S"), name="podsmith-key", settings=settings)

    assert "SSH public key from SSH_PUBLIC_KEY" in str(caught.value)
    assert "double quote" in str(caught.value)
    assert runpod_emulator.requests == []


def test_bad_gpu_count_rejected(runpod_emulator: RunpodEmulator, provider, spec, make_settings):
    with pytest.raises(UsageError) as caught:
        provider.create_pod(spec=spec, candidate=candidate("NVIDIA L40S", count=3), name="podsmith-3", settings=make_settings())

    assert "Invalid GPU count 3" in str(caught.value)
    assert "1, 2, 4, 6, 8" in caught.value.fix
    assert runpod_emulator.requests == []


def test_missing_key_rejected(runpod_emulator: RunpodEmulator, provider, spec, client_key, tmp_path):
    settings = Settings.load(environ={"SSH_PUBLIC_KEY": client_key.public_key}, project_dir=tmp_path)

    with pytest.raises(AuthError) as caught:
        provider.create_pod(spec=spec, candidate=candidate("NVIDIA L40S"), name="podsmith-nokey", settings=settings)

    assert "RUNPOD_API_KEY is not set" in str(caught.value)
    assert runpod_emulator.requests == []


def test_missing_public_key_rejected(runpod_emulator: RunpodEmulator, provider, spec, tmp_path):
    environ = {"RUNPOD_API_KEY": runpod_emulator.api_key, "SSH_PRIVATE_KEY_PATH": str(tmp_path / "id_missing")}
    settings = Settings.load(environ=environ, project_dir=tmp_path)

    with pytest.raises(UsageError) as caught:
        provider.create_pod(spec=spec, candidate=candidate("NVIDIA L40S"), name="podsmith-nopub", settings=settings)

    assert str(tmp_path / "id_missing.pub") in str(caught.value)
    assert "ssh-keygen" in caught.value.fix
    assert runpod_emulator.requests == []


def test_public_key_next_to_private(runpod_emulator: RunpodEmulator, provider, spec, client_key, tmp_path):
    environ = {"RUNPOD_API_KEY": runpod_emulator.api_key, "SSH_PRIVATE_KEY_PATH": str(client_key.private_path)}
    environ["PODSMITH_RUNPOD_POLL_INTERVAL_S"] = "0.05"
    environ["PODSMITH_SSH_CONNECT_TIMEOUT_S"] = "2"
    settings = Settings.load(environ=environ, project_dir=tmp_path)
    runpod_emulator.pod_behaviour = PodBehaviour(ssh="banner")

    pod = provider.create_pod(spec=spec, candidate=candidate("NVIDIA L40S"), name="podsmith-pub", settings=settings)

    assert runpod_emulator.pods[pod.pod_id].env["PUBLIC_KEY"] == client_key.public_key
    provider.destroy_pod(pod=pod, settings=settings)
    assert runpod_emulator.live_pods() == []


def test_secrets_absent_from_requests(runpod_emulator: RunpodEmulator, provider, spec, make_settings):
    settings = make_settings()
    provider.select_gpu(spec=spec, estimator=lambda count: _estimate(count), settings=settings)
    pod = provider.create_pod(spec=spec, candidate=candidate("NVIDIA L40S"), name="podsmith-sec", settings=settings)
    provider.list_pods(name_prefix="podsmith-", settings=settings)
    provider.destroy_pod(pod=pod, settings=settings)

    log = runpod_emulator.log_text()
    assert HF_TOKEN_VALUE not in log
    assert WANDB_KEY_VALUE not in log
    assert runpod_emulator.api_key not in log
    assert set(runpod_emulator.auth_headers) == {f"Bearer {runpod_emulator.api_key}"}
    assert runpod_emulator.live_pods() == []


def test_query_text_not_in_errors(runpod_emulator: RunpodEmulator, provider, spec, make_settings, client_key):
    echo = json.dumps({"errors": [{"message": f"Invalid env value {HF_TOKEN_VALUE} for key TOKEN"}]})
    runpod_emulator.fail(200, operation="podFindAndDeployOnDemand", body=echo)

    with pytest.raises(ProviderError) as caught:
        provider.create_pod(spec=spec, candidate=candidate("NVIDIA L40S"), name="podsmith-echo", settings=make_settings())

    assert caught.value.__context__ is None
    assert caught.value.__cause__ is None
    text = str(caught.value)
    assert HF_TOKEN_VALUE not in text
    assert "***" in text
    assert client_key.public_key not in text
    assert "podFindAndDeployOnDemand" not in text
    assert runpod_emulator.live_pods() == []


def test_gate_check_findings(provider, spec, tmp_path):
    bad_spec = spec.model_copy(update={"image": 'img"x'})
    settings = Settings.load(environ={"SSH_PRIVATE_KEY_PATH": str(tmp_path / "none")}, project_dir=tmp_path)

    plan_findings = provider.gate_check(spec=bad_spec, facts=None, settings=settings, intent="plan")
    run_findings = provider.gate_check(spec=bad_spec, facts=None, settings=settings, intent="run")

    assert {(f.code, f.level) for f in plan_findings} == {
        ("runpod-image", "error"),
        ("runpod-api-key", "warning"),
        ("runpod-ssh-key", "warning"),
    }
    assert {(f.code, f.level) for f in run_findings} == {
        ("runpod-image", "error"),
        ("runpod-api-key", "error"),
        ("runpod-ssh-key", "error"),
    }


def _estimate(count: int):
    from podsmith_core.models import GB, MemoryEstimate

    return MemoryEstimate(method="lora", gpu_count=count, per_gpu_bytes=10 * GB)
