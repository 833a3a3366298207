"""The Hub checks inside the run pipeline: a failing check stops the run before any provider hook."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

from hub_support import READ_TOKEN
from emulators.hub.server import HubEmulator
from podsmith_core.errors import CheckFailed
from podsmith_core.hub.plugin import plugin
from podsmith_core.models import RunSpec
from podsmith_core.pipeline import Session, make_plan
from podsmith_core.settings import Settings
from podsmith_core.testing import FakeProvider, FakeTrainer, make_host


@pytest.mark.parametrize(
    ("repo_id", "code"),
    [
        ("meta-llama/Llama-3.1-8B", "model-gated"),
        ("unsloth/gemma-2b", "token-cannot-write"),
        ("nobody/missing", "model-not-found"),
    ],
)
def test_failing_check_stops_plan(
    hub_emulator: HubEmulator, hub_settings: Callable[..., Settings], tmp_path: Path, repo_id: str, code: str
) -> None:
    hub_emulator.add_token(READ_TOKEN, "alice", role="read")
    provider = FakeProvider(tmp_path / "pods")
    trainer = FakeTrainer()
    host = make_host([("hub", plugin), ("fake", provider), ("fake-trainer", trainer)])
    spec = RunSpec(repo_id=repo_id, provider="fake", trainer="fake-trainer")
    with pytest.raises(CheckFailed) as caught:
        make_plan(Session(spec, hub_settings(READ_TOKEN), host))
    assert code in [finding.code for finding in caught.value.findings]
    assert repo_id in str(caught.value) or "alice" in str(caught.value)
    assert provider.calls == []


def test_passing_checks_reach_provider(
    hub_emulator: HubEmulator, hub_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    hub_emulator.add_token("hf_writer0123456789", "alice", role="write")
    provider = FakeProvider(tmp_path / "pods")
    host = make_host([("hub", plugin), ("fake", provider), ("fake-trainer", FakeTrainer())])
    spec = RunSpec(repo_id="Qwen/Qwen2.5-1.5B-Instruct", provider="fake", trainer="fake-trainer", push_to_hub=True)
    plan = make_plan(Session(spec, hub_settings("hf_writer0123456789"), host))
    assert plan.facts.parameter_count == 1_543_714_304
    assert plan.facts.hub_model_id == "alice/Qwen2.5-1.5B-Instruct-trainer"
    assert [finding.level for finding in plan.findings if finding.source == "hub"] == ["info"]
    assert provider.calls[0][0] == "select_gpu"


def test_no_push_local_plan(hub_emulator: HubEmulator, hub_settings: Callable[..., Settings], tmp_path: Path) -> None:
    # Nothing comes from or goes to the Hub, so a revoked HF_TOKEN must not fail the plan.
    model = tmp_path / "tiny"
    model.mkdir()
    (model / "config.json").write_text('{"model_type": "llama"}')
    data = tmp_path / "data"
    data.mkdir()
    provider = FakeProvider(tmp_path / "pods")
    host = make_host([("hub", plugin), ("local", provider), ("fake-trainer", FakeTrainer())])
    spec = RunSpec(
        repo_id=str(model), dataset_name=str(data), provider="local", trainer="fake-trainer", push_to_hub=False
    )
    plan = make_plan(Session(spec, hub_settings("hf_revokedTOKEN000000000"), host))
    assert [finding.code for finding in plan.findings if finding.level == "error"] == []
    assert plan.facts.local_path == str(model.resolve())
    assert hub_emulator.requests == []
    assert provider.calls[0][0] == "select_gpu"
