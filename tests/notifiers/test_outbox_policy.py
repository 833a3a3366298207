"""Outbox: order, per-stage throttling, and the full-queue policy that skips and counts, never blocks."""

from __future__ import annotations

from podsmith_core.models import Event
from podsmith_notifiers.outbox import LogBatch, Outbox


def line(text: str, stage: str = "train") -> Event:
    return Event(event="log", message=text, stage=stage)


def drain_ready(outbox: Outbox, now: float, flushing: bool = False) -> list:
    items = []
    while True:
        item, _wait = outbox.pop_ready(now, flushing)
        if item is None:
            return items
        items.append(item)


def test_lines_coalesce_per_stage():
    outbox = Outbox(keep_lines=3)
    for index in range(5):
        outbox.put(line(f"setup {index}", stage="setup"))
    for index in range(4):
        outbox.put(line(f"train {index}"))

    setup, train = drain_ready(outbox, now=0.0)

    assert (setup.stage, setup.count, list(setup.lines), setup.folded) == ("setup", 5, ["setup 2", "setup 3", "setup 4"], 2)
    assert (train.stage, train.count, list(train.lines)) == ("train", 4, ["train 1", "train 2", "train 3"])


def test_batch_waits_for_interval():
    outbox = Outbox(log_interval_s=5.0)
    outbox.put(line("a"))
    first, _ = outbox.pop_ready(10.0, flushing=False)
    outbox.put(line("b"))

    held, wait_s = outbox.pop_ready(12.0, flushing=False)
    released, _ = outbox.pop_ready(15.0, flushing=False)

    assert isinstance(first, LogBatch)
    assert held is None
    assert wait_s == 3.0
    assert isinstance(released, LogBatch)
    assert list(released.lines) == ["b"]


def test_event_releases_batch_early():
    outbox = Outbox(log_interval_s=5.0)
    outbox.put(line("a"))
    outbox.pop_ready(10.0, flushing=False)
    outbox.put(line("b"))
    outbox.put(Event(event="train_failed", message="exit 1", level="error"))

    items = drain_ready(outbox, now=11.0)

    assert [type(item).__name__ for item in items] == ["LogBatch", "Event"]


def test_flush_releases_batch():
    outbox = Outbox(log_interval_s=5.0)
    outbox.put(line("a"))
    outbox.pop_ready(10.0, flushing=False)
    outbox.put(line("b"))

    assert outbox.pop_ready(11.0, flushing=False)[0] is None
    assert isinstance(outbox.pop_ready(11.0, flushing=True)[0], LogBatch)


def test_full_queue_skips_oldest_info():
    outbox = Outbox(max_items=3)
    outbox.put(Event(event="e1", message="1"))
    outbox.put(Event(event="boom", message="failed", level="error"))
    outbox.put(Event(event="e2", message="2"))
    outbox.put(Event(event="e3", message="3"))

    items = drain_ready(outbox, now=0.0)

    assert [item.event for item in items] == ["boom", "e2", "e3"]
    assert outbox.take_skipped() == 1


def test_evicted_lines_carried():
    outbox = Outbox(max_items=2)
    outbox.put(line("early 1"))
    outbox.put(line("early 2"))
    outbox.put(Event(event="boom", message="failed", level="error"))
    outbox.put(Event(event="boom2", message="failed again", level="error"))
    outbox.put(line("late"))

    items = drain_ready(outbox, now=0.0, flushing=True)

    batches = [item for item in items if isinstance(item, LogBatch)]
    assert sum(batch.count for batch in batches) == 3
    assert list(batches[-1].lines)[-1] == "late"


def test_carried_lines_sent_on_flush():
    outbox = Outbox(max_items=2)
    outbox.put(line("only"))
    outbox.put(Event(event="boom", message="x", level="error"))
    outbox.put(Event(event="boom2", message="y", level="error"))

    items = drain_ready(outbox, now=0.0, flushing=True)

    assert [getattr(item, "event", "batch") for item in items] == ["boom", "boom2", "batch"]
    assert items[2].count == 1
    assert list(items[2].lines) == ["only"]


def test_drain_counts_everything():
    outbox = Outbox()
    outbox.put(Event(event="e1", message="1"))
    for index in range(7):
        outbox.put(line(str(index)))

    assert outbox.drain() == 8
    assert len(outbox) == 0
