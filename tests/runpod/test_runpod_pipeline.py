"""The core's failover loop driving the Runpod provider, loaded through its entry point."""

from __future__ import annotations

import pytest

from emulators.runpod import RunpodEmulator
from emulators.runpod_pods import PodBehaviour
from podsmith_core.errors import ProviderError
from podsmith_core.models import ModelFacts
from podsmith_core.cleanup import cleanup_pod
from podsmith_core.pipeline import Plan, Session, _create_first_fitting
from podsmith_core.plugins import build_plugin_host
from podsmith_core.state import StateStore
from runpod_test_support import candidate


@pytest.fixture
def session(spec, make_settings) -> Session:
    spec = spec.model_copy(update={"provider": "runpod", "trainer": "trl-sft"})
    return Session(spec, make_settings(), build_plugin_host(warn=False), run_id="r1a2b3")


def _plan(session: Session, *gpu_ids: str) -> Plan:
    candidates = [candidate(gpu_id) for gpu_id in gpu_ids]
    return Plan(spec=session.spec, facts=ModelFacts(repo_id=session.spec.repo_id), findings=[], candidates=candidates)


def test_core_failover_to_third(runpod_emulator: RunpodEmulator, session, tmp_path):
    runpod_emulator.no_capacity("NVIDIA L40S")
    runpod_emulator.queue_behaviours(PodBehaviour(exit_after_polls=1, ssh="banner"), PodBehaviour(ssh="banner"))
    state = StateStore(tmp_path / "state.db")
    state.add_run(session.run_id, "runpod", "trl-sft", session.spec.repo_id, None)
    plan = _plan(session, "NVIDIA L40S", "NVIDIA A100-SXM4-80GB", "NVIDIA H100 80GB HBM3")

    pod = _create_first_fitting(session, plan, state)

    assert pod.name == "podsmith-r1a2b3-3"
    assert pod.gpu_type_id == "NVIDIA H100 80GB HBM3"
    assert runpod_emulator.count("podFindAndDeployOnDemand") == 3
    assert len(runpod_emulator.terminated) == 1
    cleanup_pod(session, state, pod)
    assert runpod_emulator.live_pods() == []


def test_core_reasons_table(runpod_emulator: RunpodEmulator, session, tmp_path):
    runpod_emulator.no_capacity("NVIDIA L40S")
    runpod_emulator.pod_behaviour = PodBehaviour(public_ip=False, ssh="banner")
    state = StateStore(tmp_path / "state.db")
    state.add_run(session.run_id, "runpod", "trl-sft", session.spec.repo_id, None)
    plan = _plan(session, "NVIDIA L40S", "NVIDIA A100-SXM4-80GB")

    with pytest.raises(ProviderError) as caught:
        _create_first_fitting(session, plan, state)

    lines = str(caught.value).splitlines()
    assert lines[0] == "No Pod could be created; every candidate failed:"
    assert "1x NVIDIA L40S (ALL)" in lines[1]
    assert "no longer any instances available" in lines[1]
    assert "1x NVIDIA A100-SXM4-80GB (ALL)" in lines[2]
    assert "no public mapping" in lines[2]
    assert runpod_emulator.live_pods() == []
