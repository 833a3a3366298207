"""Discord messages: the end of the output is kept within 2,000 characters, and code fences stay closed."""

from __future__ import annotations

import re
import time

from emulators.recorder import Reply

from podsmith_core.models import Event
from podsmith_notifiers.discord import DiscordNotifier, DiscordPlugin, render_event
from podsmith_notifiers.discord_text import CONTENT_LIMIT, ZERO_WIDTH_SPACE, discord_length

ERROR_LINE = "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB"


def failed_event(tail: list[str], message: str = "Training failed with exit status 1") -> Event:
    return Event(event="train_failed", message=message, level="error", stage="train", repo_id="unsloth/gemma-2b", run_id="r1", tail=tail)


def output_lines(count: int) -> list[str]:
    lines = [f"[train] step {index}: loss=0.{index:04d} reward=0.5 lr=1e-6 grad_norm=0.12" for index in range(count - 1)]
    return lines + [ERROR_LINE]


def test_tail_keeps_error_line():
    content = render_event(failed_event(output_lines(200)))

    assert discord_length(content) <= CONTENT_LIMIT
    assert content.endswith(ERROR_LINE + "\n```")
    assert "[train] step 198:" in content
    assert "[train] step 0:" not in content
    assert "of 200 output lines:" in content


def test_tail_label_counts_shown_lines():
    content = render_event(failed_event(output_lines(200)))

    label = next(line for line in content.splitlines() if line.startswith("Last "))
    shown = int(label.split()[1])
    block = content.split("```text\n", 1)[1].rsplit("\n```", 1)[0]
    assert len(block.split("\n")) == shown


def test_long_last_line_keeps_end():
    last = "x" * 5_000 + " RuntimeError: the end"

    content = render_event(failed_event(["before", last]))

    assert discord_length(content) <= CONTENT_LIMIT
    assert content.endswith("RuntimeError: the end\n```")


def test_wide_characters_within_limit():
    content = render_event(failed_event(["😀" * 300 for _ in range(20)]))

    assert discord_length(content) <= CONTENT_LIMIT
    assert len(content.encode("utf-16-le")) // 2 <= CONTENT_LIMIT


def test_long_message_shortened():
    message = "A" * 3_000 + " final cause"

    content = render_event(failed_event(output_lines(50), message=message))

    assert discord_length(content) <= CONTENT_LIMIT
    assert "final cause" in content
    assert content.endswith(ERROR_LINE + "\n```")


def test_code_fence_in_tail_neutralised():
    tail = ["```python", "print('hi')", "````", "ValueError: bad ``` marker"]

    content = render_event(failed_event(tail, message="see ``` here"))

    assert content.count("```") == 2
    assert content.endswith("\n```")
    assert "`" + ZERO_WIDTH_SPACE + "`" + ZERO_WIDTH_SPACE + "`python" in content
    assert "ValueError: bad `" in content


def test_event_without_tail():
    content = render_event(Event(event="pod_created", message="Pod podsmith-r1 created on 1x L40S", repo_id="a/b"))

    assert content == "**pod_created** · a/b\nPod podsmith-r1 created on 1x L40S"


def test_discord_body(recorder, closing):
    notifier = closing(DiscordNotifier(recorder.url("/api/webhooks/1/token-value")))
    notifier.submit(failed_event(output_lines(200)))

    body = recorder.wait_for(1)[0].json

    assert set(body) == {"content", "allowed_mentions"}
    assert body["allowed_mentions"] == {"parse": []}
    assert discord_length(body["content"]) <= CONTENT_LIMIT
    assert ERROR_LINE in body["content"]


def test_discord_log_batch_counts(recorder, closing):
    notifier = closing(DiscordNotifier(recorder.url(), log_interval_s=60))
    for index in range(1_000):
        notifier.submit(Event(event="log", message=f"line {index}", stage="train"))

    assert notifier.flush(5)

    contents = [body["content"] for body in recorder.bodies()]
    totals = []
    for content in contents:
        assert content.startswith("**log** · [train]\n")
        label = content.splitlines()[1]
        shown = len(content.split("```text\n", 1)[1].rsplit("\n```", 1)[0].split("\n"))
        match = re.fullmatch(r"(\d+) lines, (\d+) folded, latest (\d+):", label) or re.fullmatch(r"(\d+) lines?:", label)
        assert match, label
        total = int(match.group(1))
        assert shown == (int(match.group(3)) if match.lastindex == 3 else total)
        if match.lastindex == 3:
            assert int(match.group(2)) == total - shown
        totals.append(total)
    assert sum(totals) == 1_000
    assert len(contents) <= 3
    assert contents[-1].endswith("line 999\n```")


def test_discord_retry_after_json(recorder, closing):
    recorder.script(Reply.rate_limited(0.6, discord=True))
    notifier = closing(DiscordNotifier(recorder.url()))
    notifier.submit(failed_event(["boom"]))

    first, second = recorder.wait_for(2, timeout_s=5)

    assert second.arrived - first.arrived >= 0.6
    assert second.json == first.json


def test_discord_bucket_wait(recorder, closing):
    recorder.script(Reply(204, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset-After": "0.5"}))
    notifier = closing(DiscordNotifier(recorder.url()))
    notifier.submit(Event(event="first", message="one"))
    notifier.submit(Event(event="second", message="two"))

    first, second = recorder.wait_for(2, timeout_s=5)

    assert second.arrived - first.arrived >= 0.5


def test_discord_setting_enables(recorder, make_settings):
    plugin = DiscordPlugin()

    assert plugin.notifier_for(make_settings()) is None
    notifier = plugin.notifier_for(make_settings(DISCORD_WEBHOOK_URL=recorder.url()))
    assert isinstance(notifier, DiscordNotifier)
    assert plugin.notifier_for(make_settings(DISCORD_WEBHOOK_URL=recorder.url())) is notifier
    started = time.monotonic()
    plugin.flush_notifications(deadline_s=1, settings=make_settings())
    assert time.monotonic() - started < 0.5
