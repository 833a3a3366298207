"""Both notifiers through a pluggy manager and the podsmith host: isolation, flush deadlines, exit."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import time

import pluggy
from emulators.recorder import Reply

from podsmith_core import hookspecs
from podsmith_core.models import Event
from podsmith_core.testing import RecordingNotifier, make_host
from podsmith_notifiers.discord import DiscordPlugin
from podsmith_notifiers.plugin import EXIT_FLUSH_S
from podsmith_notifiers.webhook import WebhookPlugin


def manager(*plugins: object) -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    for plugin in plugins:
        pm.register(plugin)
    return pm


def close_all(*plugins) -> None:
    for plugin in plugins:
        for notifier in plugin.notifiers:
            notifier.close()


def test_entry_points_registered():
    entry_points = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="podsmith")}

    assert entry_points["webhook"] == "podsmith_notifiers.webhook:plugin"
    assert entry_points["discord"] == "podsmith_notifiers.discord:plugin"
    (webhook_entry_point,) = importlib.metadata.entry_points(group="podsmith", name="webhook")
    assert isinstance(webhook_entry_point.load(), WebhookPlugin)


def test_failing_notifier_isolated(recorder, dead_url, make_settings):
    webhook, discord = WebhookPlugin(backoff_base_s=0.01), DiscordPlugin()
    pm = manager(webhook, discord)
    settings = make_settings(PROGRESS_WEBHOOK_URL=dead_url, DISCORD_WEBHOOK_URL=recorder.url("/api/webhooks/1/abc"))

    try:
        started = time.monotonic()
        for index in range(5):
            pm.hook.notify(event=Event(event=f"step_{index}", message=f"step {index}"), settings=settings)
        notify_s = time.monotonic() - started
        pm.hook.flush_notifications(deadline_s=5, settings=settings)
    finally:
        close_all(webhook, discord)

    contents = [body["content"] for body in recorder.bodies()]
    assert notify_s < 0.5
    assert [content.splitlines()[0] for content in contents] == [f"**step_{index}**" for index in range(5)]
    assert webhook.notifiers[0].stats.failed == 5
    assert discord.notifiers[0].stats.delivered == 5


def test_host_isolates_raising_notifier(recorder, dead_url, make_settings):
    webhook, discord = WebhookPlugin(backoff_base_s=0.01), DiscordPlugin()
    raising = RecordingNotifier(fail=True)
    host = make_host([("webhook", webhook), ("raising", raising), ("discord", discord)])
    settings = make_settings(PROGRESS_WEBHOOK_URL=dead_url, DISCORD_WEBHOOK_URL=recorder.url("/api/webhooks/1/abc"))

    try:
        for index in range(3):
            host.broadcast_isolated("notify", None, None, event=Event(event=f"step_{index}", message="x"), settings=settings)
        host.broadcast_isolated("flush_notifications", None, None, deadline_s=5, settings=settings)
    finally:
        close_all(webhook, discord)

    assert raising.names() == ["step_0", "step_1", "step_2"]
    assert len(recorder.requests) == 3
    assert webhook.notifiers[0].stats.failed == 3


def test_unset_urls_send_nothing(make_settings):
    webhook, discord = WebhookPlugin(), DiscordPlugin()
    pm = manager(webhook, discord)

    pm.hook.notify(event=Event(event="started", message="x"), settings=make_settings())
    pm.hook.flush_notifications(deadline_s=1, settings=make_settings())

    assert webhook.notifiers == []
    assert discord.notifiers == []


def test_flush_shares_deadline(recorder, make_settings):
    recorder.default = Reply(hang_s=6)
    webhook, discord = WebhookPlugin(timeout_s=5), DiscordPlugin(timeout_s=5)
    pm = manager(webhook, discord)
    settings = make_settings(PROGRESS_WEBHOOK_URL=recorder.url("/w"), DISCORD_WEBHOOK_URL=recorder.url("/d"))

    try:
        pm.hook.notify(event=Event(event="finished", message="done"), settings=settings)
        recorder.wait_for(2)
        started = time.monotonic()
        pm.hook.flush_notifications(deadline_s=2, settings=settings)
        flush_s = time.monotonic() - started
    finally:
        close_all(webhook, discord)

    assert flush_s < 2.5
    assert webhook.notifiers[0].stats.dropped == 1
    assert discord.notifiers[0].stats.dropped == 1


def test_gate_check_rejects_bad_url(make_settings):
    findings = WebhookPlugin().gate_check(spec=None, facts=None, settings=make_settings(PROGRESS_WEBHOOK_URL="hooks.example.test/x"))

    assert len(findings) == 1
    assert findings[0].level == "error"
    assert "PROGRESS_WEBHOOK_URL is not an http:// or https:// URL" in findings[0].message
    assert "hooks.example.test" not in findings[0].message


def test_gate_check_rejects_bad_interval(make_settings):
    settings = make_settings(PODSMITH_NOTIFY_LOG_INTERVAL="often")

    findings = DiscordPlugin().gate_check(spec=None, facts=None, settings=settings)

    assert [finding.code for finding in findings] == ["discord-log-interval"]


def test_log_interval_setting(recorder, make_settings):
    plugin = WebhookPlugin()

    notifier = plugin.notifier_for(make_settings(PROGRESS_WEBHOOK_URL=recorder.url(), PODSMITH_NOTIFY_LOG_INTERVAL="0.5"))

    assert notifier._outbox.log_interval_s == 0.5


EXIT_SCRIPT = """
import sys
from pathlib import Path
from podsmith_core.models import Event
from podsmith_core.settings import Settings
from podsmith_notifiers.webhook import plugin

settings = Settings.load(cli={"PROGRESS_WEBHOOK_URL": sys.argv[1]}, environ={}, project_dir=Path(sys.argv[2]))
plugin.notify(event=Event(event="error", message="last words", level="error"), settings=settings)
"""


def run_and_exit(url: str, tmp_path) -> float:
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", EXIT_SCRIPT, url, str(tmp_path)], check=True, timeout=30)
    return time.monotonic() - started


def test_exit_flushes_queue(recorder, tmp_path):
    run_and_exit(recorder.url(), tmp_path)

    assert [body["message"] for body in recorder.bodies()] == ["last words"]


def test_exit_bounded_on_hang(recorder, tmp_path):
    recorder.default = Reply(hang_s=20)

    elapsed_s = run_and_exit(recorder.url(), tmp_path)

    assert len(recorder.requests) == 1
    assert elapsed_s < EXIT_FLUSH_S + 3
