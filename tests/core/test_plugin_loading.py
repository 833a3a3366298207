import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from podsmith_core.errors import PluginError
from podsmith_core.testing import FakeProvider, FakeTrainer, RecordingNotifier, make_host

PODSMITH = [sys.executable, "-m", "podsmith_core.cli"]


def write_distribution(root: Path, name: str, module_source: str, entry_point: str) -> None:
    """Write a minimal installed distribution (dist-info + module) that importlib.metadata finds on sys.path."""
    module = name.replace("-", "_")
    (root / f"{module}.py").write_text(module_source)
    info = root / f"{module}-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.2.3\n")
    (info / "entry_points.txt").write_text(f"[podsmith]\n{entry_point} = {module}:plugin\n")


def run_cli(args: list[str], extra_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(extra_path), "PODSMITH_HOME": str(extra_path / "home")}
    return subprocess.run(PODSMITH + args, capture_output=True, text=True, env=env, timeout=60)


def test_broken_plugin_listed_as_failed(tmp_path):
    write_distribution(tmp_path, "podsmith-broken", "raise ImportError('no such thing: libfoo')\n", "broken")

    help_result = run_cli(["--help"], tmp_path)
    assert help_result.returncode == 0
    assert "Commands:" in help_result.stdout

    result = run_cli(["plugins", "--json"], tmp_path)
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["broken"]["error"] == "ImportError: no such thing: libfoo"
    assert rows["broken"]["distribution"] == "podsmith-broken"
    assert rows["broken"]["version"] == "1.2.3"
    assert rows["local"]["kind"] == "provider"
    assert rows["local"]["error"] is None


def test_broken_plugin_warns_once_for_run(tmp_path):
    write_distribution(tmp_path, "podsmith-broken", "raise RuntimeError('boom')\n", "broken")
    result = run_cli(["status"], tmp_path)
    assert result.returncode == 0
    result = run_cli(["gpus", "--provider", "local"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("plugin 'broken' from podsmith-broken failed to load") == 1


def test_third_party_plugin_listed_with_hooks(tmp_path):
    source = (
        "from podsmith_core.hookspecs import hookimpl\n"
        "class Notifier:\n"
        "    @hookimpl\n"
        "    def notify(self, event):\n"
        "        pass\n"
        "plugin = Notifier()\n"
    )
    write_distribution(tmp_path, "podsmith-extra", source, "extra")
    result = run_cli(["plugins", "--json"], tmp_path)
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["extra"]["kind"] == "notifier"
    assert rows["extra"]["hooks"] == ["notify"]


def test_unknown_provider_lists_installed(tmp_path):
    host = make_host([("alpha", FakeProvider(tmp_path)), ("beta", FakeProvider(tmp_path))])
    with pytest.raises(PluginError) as caught:
        host.require("provider", "gamma")
    assert "Unknown provider 'gamma'" in caught.value.message
    assert "Installed providers: alpha, beta." in caught.value.message


def test_trainer_name_is_not_a_provider(tmp_path):
    host = make_host([("alpha", FakeProvider(tmp_path)), ("trainer-x", FakeTrainer())])
    with pytest.raises(PluginError) as caught:
        host.require("provider", "trainer-x")
    assert "Installed providers: alpha." in caught.value.message


def test_hooks_reach_only_chosen_plugins(tmp_path):
    alpha, beta = FakeProvider(tmp_path / "a"), FakeProvider(tmp_path / "b")
    trainer_one, trainer_two = FakeTrainer(), FakeTrainer()
    notifier = RecordingNotifier()
    host = make_host([("alpha", alpha), ("beta", beta), ("one", trainer_one), ("two", trainer_two), ("rec", notifier)])

    host.caller("select_gpu", "beta", "two")(spec=None, estimator=None, settings=None)
    host.caller("prepare_run", "beta", "two")(spec=type("S", (), {"trainer": "two"})(), facts=None, settings=None)

    assert alpha.calls == []
    assert [name for name, _ in beta.calls] == ["select_gpu"]
    assert trainer_one.calls == []
    assert trainer_two.calls == ["prepare_run"]


def test_failing_notifier_does_not_stop_others(tmp_path):
    from podsmith_core.models import Event

    failing, healthy = RecordingNotifier(fail=True), RecordingNotifier()
    host = make_host([("failing", failing), ("healthy", healthy)])
    host.broadcast_isolated("notify", None, None, event=Event(event="x", message="m"), settings=None)
    assert [event.message for event in failing.events] == ["m"]
    assert [event.message for event in healthy.events] == ["m"]


HEAVY_MODULES = ("pydantic", "httpx", "rich", "runpod", "huggingface_hub", "fabric", "paramiko", "torch", "transformers")


@pytest.mark.parametrize("argv", [["--help"], ["plugins"]])
def test_startup_imports_no_heavy_module(tmp_path, argv):
    probe = (
        "import runpy, sys\n"
        f"sys.argv = ['podsmith', *{argv!r}]\n"
        "try:\n    runpy.run_module('podsmith_core.cli', run_name='__main__')\nexcept SystemExit:\n    pass\n"
        f"print('LOADED=' + ','.join(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY_MODULES!r}))))\n"
    )
    env = {**os.environ, "PODSMITH_HOME": str(tmp_path)}
    output = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60).stdout
    loaded = next(line for line in output.splitlines() if line.startswith("LOADED="))
    assert loaded == "LOADED="
