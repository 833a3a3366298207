"""The `webhook` notifier: each event as a JSON POST to `PROGRESS_WEBHOOK_URL`.

The body is `Event.payload()`: `event`, `message`, `timestamp`, `stage`, `project`, `repo_id`, `run_id`,
`level`, `tail`, `data`, in that order. A coalesced log message has `event` "log", the shown lines
joined by newlines in `message`, and in `data` the number of lines it stands for (`line_count`) and how
many of them it does not carry (`folded_lines`).
"""

from __future__ import annotations

from typing import Any

from podsmith_notifiers.notifier import HttpNotifier
from podsmith_notifiers.outbox import Item, LogBatch
from podsmith_notifiers.plugin import NotifierPlugin


class WebhookNotifier(HttpNotifier):
    kind = "webhook"
    log_interval_s = 5.0
    keep_lines = 20

    def render(self, item: Item, skipped: int) -> dict[str, Any]:
        if isinstance(item, LogBatch):
            data = {
                "line_count": item.count,
                "folded_lines": item.folded,
            }
            event = item.latest.model_copy(update={"message": "\n".join(item.lines), "data": data})
        else:
            event = item

        body = event.payload()
        if skipped:
            body["data"] = {**body["data"], "skipped_events": skipped}
        return body


class WebhookPlugin(NotifierPlugin):
    name = "webhook"
    setting_key = "PROGRESS_WEBHOOK_URL"
    notifier_class = WebhookNotifier


plugin = WebhookPlugin()
