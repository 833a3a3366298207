"""The `discord` notifier: each event as a text message to `DISCORD_WEBHOOK_URL`.

`--discord-webhook-url` on the command line sets the same setting. Error events carry the end of the
recent output in a code block. Mentions in the text never ping anyone (`allowed_mentions` is empty).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from podsmith_notifiers.discord_text import compose
from podsmith_notifiers.notifier import HttpNotifier
from podsmith_notifiers.outbox import Item, LogBatch
from podsmith_notifiers.plugin import NotifierPlugin

if TYPE_CHECKING:
    from podsmith_core.models import Event

LEVEL_MARKS = {"error": "🔴 ", "warning": "🟠 ", "info": ""}


def header_line(event: Event, title: str) -> str:
    parts = [f"{LEVEL_MARKS.get(event.level, '')}**{title}**"]
    if event.stage:
        parts.append(f"[{event.stage}]")
    if event.repo_id or event.project:
        parts.append(event.repo_id or event.project or "")
    if event.run_id:
        parts.append(f"run {event.run_id}")
    return " · ".join(parts)


def render_event(event: Event, skipped: int = 0) -> str:
    header = header_line(event, event.event)
    if skipped:
        header += f" ({skipped} earlier events skipped: notifier queue full)"
    return compose(header, event.message, event.tail, len(event.tail), tail_label)


def render_log_batch(batch: LogBatch, skipped: int = 0) -> str:
    header = header_line(batch.latest, "log")
    if skipped:
        header += f" ({skipped} earlier events skipped: notifier queue full)"
    return compose(header, "", list(batch.lines), batch.count, log_label)


def tail_label(shown: int, total: int) -> str:
    return f"Last {shown} of {total} output lines:" if shown < total else f"Output ({total} {plural(total, 'line')}):"


def log_label(shown: int, total: int) -> str:
    if shown == total:
        return f"{total} {plural(total, 'line')}:"
    return f"{total} lines, {total - shown} folded, latest {shown}:"


def plural(count: int, word: str) -> str:
    return word if count == 1 else word + "s"


class DiscordNotifier(HttpNotifier):
    kind = "discord"
    log_interval_s = 10.0
    keep_lines = 15

    def render(self, item: Item, skipped: int) -> dict[str, Any]:
        if isinstance(item, LogBatch):
            content = render_log_batch(item, skipped)
        else:
            content = render_event(item, skipped)
        return {"content": content, "allowed_mentions": {"parse": []}}


class DiscordPlugin(NotifierPlugin):
    name = "discord"
    setting_key = "DISCORD_WEBHOOK_URL"
    notifier_class = DiscordNotifier


plugin = DiscordPlugin()
