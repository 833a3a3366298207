"""The file notifier on its own, and inside a whole podsmith run with the fake provider and trainer."""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path

import pytest

from podsmith_core.errors import CheckFailed
from podsmith_core.hookspecs import hookimpl
from podsmith_core.models import Event, ModelFacts, RunSpec
from podsmith_core.pipeline import Session, execute, make_plan
from podsmith_core.settings import Settings
from podsmith_core.state import StateStore
from podsmith_core.testing import FakeTrainer, make_host
from podsmith_file_notifier import SETTING, FileNotifier

HF_TOKEN = "hf_exampleSECRET0123456789"


class TinyModelFacts:
    """Model facts for a small model, so the run needs no Hugging Face Hub."""

    @hookimpl
    def model_facts(self, spec: RunSpec) -> ModelFacts:
        config = {"model_type": "llama", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 1000}
        return ModelFacts(repo_id=spec.repo_id, config=config, parameter_count=200_000, parameters_by_dtype={"BF16": 200_000})


def run_host(provider, trainer, notifier):
    return make_host(
        [("facts", TinyModelFacts()), ("fake", provider), ("fake-trainer", trainer), ("file-notifier", notifier)]
    )


def settings_with(tmp_path: Path, **values: str) -> Settings:
    return Settings.load(cli=values, environ={}, project_dir=tmp_path)


def read_events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_entry_point_installed():
    (entry_point,) = metadata.entry_points(group="podsmith", name="file-notifier")

    assert entry_point.value == "podsmith_file_notifier:plugin"
    assert isinstance(entry_point.load(), FileNotifier)


def test_events_appended_as_json_lines(tmp_path):
    target = tmp_path / "events.jsonl"
    host = make_host([("file-notifier", FileNotifier())])
    settings = settings_with(tmp_path, **{SETTING: str(target)})

    for name in ("start", "done"):
        host.broadcast_isolated("notify", None, None, event=Event(event=name, message=f"{name} message", run_id="r1"), settings=settings)

    events = read_events(target)
    assert [event["event"] for event in events] == ["start", "done"]
    assert list(events[0])[:7] == ["event", "message", "timestamp", "stage", "project", "repo_id", "run_id"]
    assert events[1]["message"] == "done message"


def test_unset_setting_writes_nothing(tmp_path):
    notifier = FileNotifier()

    notifier.notify(event=Event(event="start", message="x"), settings=settings_with(tmp_path))

    assert list(tmp_path.iterdir()) == []


def test_secret_replaced(tmp_path):
    target = tmp_path / "events.jsonl"
    settings = settings_with(tmp_path, HF_TOKEN=HF_TOKEN, **{SETTING: str(target)})

    FileNotifier().notify(event=Event(event="error", message=f"401 for token {HF_TOKEN}", tail=[HF_TOKEN]), settings=settings)

    text = target.read_text(encoding="utf-8")
    assert HF_TOKEN not in text
    assert read_events(target)[0]["message"] == "401 for token ***"


def test_whole_run_written(tmp_path, podsmith_home, fake_provider):
    target = tmp_path / "events.jsonl"
    host = run_host(fake_provider, FakeTrainer("echo hello; echo world"), FileNotifier())
    spec = RunSpec(repo_id="org/model", provider="fake", trainer="fake-trainer")
    session = Session(spec, settings_with(tmp_path, **{SETTING: str(target)}), host)

    result = execute(session, make_plan(session), StateStore())

    events = read_events(target)
    names = [event["event"] for event in events]
    assert result.exit_status == 0
    assert names[0] == "start"
    assert names.index("done") > max(index for index, name in enumerate(names) if name == "log")
    assert [event["message"] for event in events if event["event"] == "log"] == ["hello", "world"]
    assert {event["stage"] for event in events if event["event"] == "log"} == {"train"}
    assert {event["run_id"] for event in events} == {session.run_id}
    assert {event["repo_id"] for event in events} == {"org/model"}


def test_missing_directory_rejected(tmp_path, podsmith_home, fake_provider):
    missing = tmp_path / "no-such-dir" / "events.jsonl"
    host = run_host(fake_provider, FakeTrainer(), FileNotifier())
    spec = RunSpec(repo_id="org/model", provider="fake", trainer="fake-trainer")
    session = Session(spec, settings_with(tmp_path, **{SETTING: str(missing)}), host)

    with pytest.raises(CheckFailed) as caught:
        make_plan(session)

    assert "does not exist" in str(caught.value)
    assert fake_provider.hook_names() == []
