"""The webhook notifier against a real HTTP server on 127.0.0.1: payload, order, throttling, retries, deadlines."""

from __future__ import annotations

import logging
import time

from emulators.recorder import Reply
from notifier_test_values import WEBHOOK_TOKEN

from podsmith_core.models import Event
from podsmith_notifiers.webhook import WebhookNotifier

PAYLOAD_FIELDS = ["event", "message", "timestamp", "stage", "project", "repo_id", "run_id", "level", "tail", "data"]


def event(name: str, message: str = "", **fields: object) -> Event:
    return Event(event=name, message=message or name, project="podsmith", repo_id="unsloth/gemma-2b", run_id="r1", **fields)


def log_line(index: int, stage: str = "train") -> Event:
    return event("log", f"step {index}", stage=stage)


def test_payload_fields_and_order(recorder, closing):
    notifier = closing(WebhookNotifier(recorder.url()))
    notifier.submit(event("pod_created", "Pod podsmith-r1 created", stage="setup", data={"pod_id": "abc"}))

    body = recorder.wait_for(1)[0].json

    assert list(body) == PAYLOAD_FIELDS
    assert body["event"] == "pod_created"
    assert body["message"] == "Pod podsmith-r1 created"
    assert body["stage"] == "setup"
    assert body["project"] == "podsmith"
    assert body["repo_id"] == "unsloth/gemma-2b"
    assert body["run_id"] == "r1"
    assert body["data"] == {"pod_id": "abc"}
    assert body["timestamp"].endswith("+00:00")


def test_request_is_json_post(recorder, closing):
    notifier = closing(WebhookNotifier(recorder.url("/progress")))
    notifier.submit(event("started"))

    request = recorder.wait_for(1)[0]

    assert request.method == "POST"
    assert request.path == "/progress"
    assert request.headers["content-type"] == "application/json"


def test_events_arrive_in_order(recorder, closing):
    notifier = closing(WebhookNotifier(recorder.url(), log_interval_s=60))
    names = [f"step_{index}" for index in range(40)]
    for index, name in enumerate(names):
        notifier.submit(event(name))
        notifier.submit(log_line(index))

    assert notifier.flush(5)

    received = [body["event"] for body in recorder.bodies()]
    assert [name for name in received if name != "log"] == names
    assert received == [name for pair in zip(names, ["log"] * len(names)) for name in pair]


def test_log_stream_coalesced(recorder, closing):
    interval_s = 0.2
    notifier = closing(WebhookNotifier(recorder.url(), log_interval_s=interval_s))

    started = time.monotonic()
    for index in range(10_000):
        notifier.submit(log_line(index))
        if index % 500 == 499:
            time.sleep(0.05)
    submit_s = time.monotonic() - started
    assert notifier.flush(10)

    bodies = recorder.bodies()
    print(f"10,000 lines submitted in {submit_s:.2f} s, {len(bodies)} messages")
    assert submit_s < 5
    assert 2 <= len(bodies) <= submit_s / interval_s + 3
    assert sum(body["data"]["line_count"] for body in bodies) == 10_000
    for body in bodies:
        shown = body["message"].split("\n")
        assert body["data"]["folded_lines"] == body["data"]["line_count"] - len(shown)
    assert bodies[-1]["message"].split("\n")[-1] == "step 9999"
    assert notifier.stats.submitted == 10_000


def test_first_log_line_not_delayed(recorder, closing):
    notifier = closing(WebhookNotifier(recorder.url(), log_interval_s=60))
    notifier.submit(log_line(0, stage="setup"))

    body = recorder.wait_for(1, timeout_s=3)[0].json

    assert body["message"] == "step 0"
    assert body["stage"] == "setup"
    assert body["data"] == {"line_count": 1, "folded_lines": 0}


def test_retry_after_header_honoured(recorder, closing):
    recorder.script(Reply.rate_limited(1))
    notifier = closing(WebhookNotifier(recorder.url()))
    notifier.submit(event("started"))

    first, second = recorder.wait_for(2, timeout_s=5)

    assert second.arrived - first.arrived >= 1.0
    assert second.json == first.json
    assert notifier.flush(2)
    assert notifier.stats.delivered == 1
    assert notifier.stats.retries == 1


def test_server_errors_retried(recorder, closing):
    recorder.script(Reply(503), Reply(502))
    notifier = closing(WebhookNotifier(recorder.url(), backoff_base_s=0.05))
    notifier.submit(event("started"))

    assert notifier.flush(5)

    assert len(recorder.requests) == 3
    assert notifier.stats.delivered == 1
    assert notifier.stats.retries == 2
    assert notifier.stats.failed == 0


def test_client_error_not_retried(recorder, closing):
    recorder.script(Reply(404))
    notifier = closing(WebhookNotifier(recorder.url()))
    notifier.submit(event("started"))
    notifier.submit(event("finished"))

    assert notifier.flush(5)

    assert [request.json["event"] for request in recorder.requests] == ["started", "finished"]
    assert notifier.stats.failed == 1
    assert notifier.stats.last_failure == "HTTP status 404"


def test_retries_bounded(recorder, closing):
    recorder.default = Reply(500)
    notifier = closing(WebhookNotifier(recorder.url(), max_attempts=3, backoff_base_s=0.01))
    notifier.submit(event("started"))

    assert notifier.flush(5)

    assert len(recorder.requests) == 3
    assert notifier.stats.failed == 1
    assert notifier.stats.last_failure == "HTTP status 500, after 3 attempts"


def test_endpoint_down(dead_url, closing, caplog):
    notifier = closing(WebhookNotifier(dead_url, backoff_base_s=0.01))

    with caplog.at_level(logging.DEBUG, logger="podsmith.notifiers"):
        started = time.monotonic()
        for index in range(5):
            notifier.submit(event(f"step_{index}"))
        submit_s = time.monotonic() - started
        notifier.flush(5)

    failures = [record for record in caplog.records if "delivery failed" in record.getMessage()]
    assert submit_s < 0.5
    assert notifier.stats.failed == 5
    assert notifier.stats.delivered == 0
    assert len(failures) == 1
    assert failures[0].levelno == logging.WARNING
    assert "connection failed (ConnectError)" in failures[0].getMessage()
    assert all(WEBHOOK_TOKEN not in record.getMessage() for record in caplog.records)
    assert all("127.0.0.1" not in record.getMessage() for record in caplog.records)


def test_hanging_endpoint_flush_deadline(recorder, closing):
    recorder.default = Reply(hang_s=8)
    notifier = closing(WebhookNotifier(recorder.url(), timeout_s=6))
    notifier.submit(event("started"))
    notifier.submit(event("finished"))
    recorder.wait_for(1)

    started = time.monotonic()
    delivered = notifier.flush(deadline_s=2)
    flush_s = time.monotonic() - started

    assert not delivered
    assert flush_s < 2.5
    assert notifier.stats.dropped == 2
    assert notifier.stats.delivered == 0


def test_timeout_retried(recorder, closing):
    recorder.script(Reply(hang_s=1.5))
    notifier = closing(WebhookNotifier(recorder.url(), timeout_s=0.5, backoff_base_s=0.01))
    notifier.submit(event("started"))

    assert notifier.flush(5)

    assert len(recorder.requests) == 2
    assert notifier.stats.delivered == 1
    assert notifier.stats.retries == 1


def test_submit_never_waits(recorder, closing):
    recorder.default = Reply(hang_s=3)
    notifier = closing(WebhookNotifier(recorder.url(), timeout_s=5, max_queue=50))

    started = time.monotonic()
    for index in range(2_000):
        notifier.submit(event(f"step_{index}"))
    submit_s = time.monotonic() - started

    assert submit_s < 2
    assert notifier.stats.submitted == 2_000
