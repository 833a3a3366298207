"""The emulator itself: Pod-scoped keys, and GraphQL validation of the text the SDK sends."""

from __future__ import annotations

import paramiko
import pytest

from emulators.runpod import RunpodEmulator
from runpod_test_support import candidate


def _sdk(api_key: str):
    import runpod

    runpod.api_key = api_key
    return runpod


def test_pod_key_terminates_own_pod(runpod_emulator: RunpodEmulator, provider, spec, make_settings, client_key):
    from runpod.api.graphql import run_graphql_query
    from runpod.api.mutations.pods import generate_pod_terminate_mutation

    pod = provider.create_pod(spec=spec, candidate=candidate("NVIDIA L40S"), name="podsmith-self", settings=make_settings())
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect(pod.ssh.host, pod.ssh.port, username=pod.ssh.user, key_filename=str(client_key.private_path))
    try:
        _, stdout, _ = client.exec_command("echo $RUNPOD_POD_ID $RUNPOD_API_KEY $RUNPOD_API_BASE_URL")
        pod_id, pod_key, base_url = stdout.read().decode().split()
    finally:
        client.close()

    assert pod_id == pod.pod_id
    assert base_url == runpod_emulator.url
    assert pod_key != runpod_emulator.api_key
    run_graphql_query(generate_pod_terminate_mutation(pod_id), api_key=pod_key)
    assert runpod_emulator.live_pods() == []
    assert runpod_emulator.requests[-1].scope == f"pod:{pod_id}"


def test_pod_key_scope_limited(runpod_emulator: RunpodEmulator, provider, spec, make_settings):
    from runpod import error
    from runpod.api.graphql import run_graphql_query
    from runpod.api.mutations.pods import generate_pod_terminate_mutation

    runpod_emulator.pod_behaviour.ssh = "banner"
    settings = make_settings()
    first = provider.create_pod(spec=spec, candidate=candidate("NVIDIA L40S"), name="podsmith-a", settings=settings)
    second = provider.create_pod(spec=spec, candidate=candidate("NVIDIA L40S"), name="podsmith-b", settings=settings)
    first_key = runpod_emulator.pods[first.pod_id].api_key

    with pytest.raises(error.QueryError, match="Forbidden"):
        run_graphql_query(generate_pod_terminate_mutation(second.pod_id), api_key=first_key)
    with pytest.raises(error.QueryError, match="Forbidden"):
        _sdk(first_key).get_pods(api_key=first_key)

    assert [request.status for request in runpod_emulator.requests[-2:]] == [403, 403]
    assert len(runpod_emulator.live_pods()) == 2
    for pod in (first, second):
        provider.destroy_pod(pod=pod, settings=settings)
    assert runpod_emulator.live_pods() == []


def test_unescaped_quote_breaks_request(runpod_emulator: RunpodEmulator):
    from runpod import error

    runpod = _sdk(runpod_emulator.api_key)

    with pytest.raises(error.QueryError, match="only one input field named 'imageName'"):
        runpod.create_pod(name='x", imageName: "evil', image_name="img", gpu_type_id="NVIDIA L40S")

    assert runpod_emulator.live_pods() == []
    assert runpod_emulator.requests[-1].status == 400


def test_unescaped_quote_injects_field(runpod_emulator: RunpodEmulator):
    runpod_emulator.pod_behaviour.ssh = "banner"
    runpod = _sdk(runpod_emulator.api_key)

    created = runpod.create_pod(name='x", countryCode: "ZZ', image_name="img", gpu_type_id="NVIDIA L40S")

    assert runpod_emulator.pods[created["id"]].name == "x"
    runpod.terminate_pod(created["id"])
    assert runpod_emulator.live_pods() == []
