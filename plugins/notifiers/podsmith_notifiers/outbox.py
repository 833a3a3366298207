"""The ordered, bounded queue of a notifier, with log lines coalesced into batches.

Events leave in the order they arrived. Consecutive `log` events of one stage are folded into a single
`LogBatch` that counts every line and keeps the latest ones, and a batch leaves at most once per
`log_interval_s` per stage. A batch leaves early when another event is queued behind it or a flush is
running, so an error is never held back behind a throttled log batch.

The queue never blocks its caller. When it is full, the oldest info event is skipped and counted, and the
next message sent reports the count. An evicted log batch is carried into the next batch of its stage
(or sent on flush), so every line is counted in some message.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Union

if TYPE_CHECKING:
    from podsmith_core.models import Event

LOG_EVENT = "log"


@dataclass
class LogBatch:
    """Consecutive log lines of one stage: how many arrived, the latest of them, and the latest event."""

    stage: str | None
    latest: Event
    count: int = 0
    lines: deque[str] = field(default_factory=deque)

    def add(self, event: Event, lines: int = 1) -> None:
        self.latest = event
        self.count += lines
        self.lines.append(event.message)

    @property
    def folded(self) -> int:
        """Lines this batch represents but does not carry."""
        return self.count - len(self.lines)


# Forward references keep pydantic out of plugin loading; an item is an Event or a LogBatch.
Item = Union["Event", LogBatch]


class Outbox:
    """Not thread-safe: the notifier guards every call with its own lock."""

    def __init__(self, max_items: int = 500, keep_lines: int = 20, log_interval_s: float = 5.0) -> None:
        if max_items < 2:
            raise ValueError(f"max_items must be at least 2, got {max_items}")
        self.max_items = max_items
        self.keep_lines = keep_lines
        self.log_interval_s = log_interval_s
        self.skipped = 0
        self._items: deque[Item] = deque()
        self._last_log_sent: dict[str | None, float] = {}
        self._carried: dict[str | None, LogBatch] = {}

    def __len__(self) -> int:
        return len(self._items)

    def put(self, event: Event) -> None:
        if event.event == LOG_EVENT:
            self._put_line(event)
            return

        self._make_room()
        self._items.append(event)

    def _put_line(self, event: Event) -> None:
        last = self._items[-1] if self._items else None
        if isinstance(last, LogBatch) and last.stage == event.stage:
            last.add(event)
            return

        self._make_room()
        batch = self._carried.pop(event.stage, None)
        if batch is None:
            batch = LogBatch(stage=event.stage, latest=event, lines=deque(maxlen=self.keep_lines))
        batch.add(event)
        self._items.append(batch)

    def _make_room(self) -> None:
        if len(self._items) < self.max_items:
            return

        victim = next((item for item in self._items if not isinstance(item, LogBatch) and item.level == "info"), None)
        if victim is None:
            victim = self._items[0]
        self._items.remove(victim)

        if isinstance(victim, LogBatch):
            self._carry(victim)
        else:
            self.skipped += 1

    def _carry(self, batch: LogBatch) -> None:
        carried = self._carried.get(batch.stage)
        if carried is None:
            self._carried[batch.stage] = batch
            return
        carried.count += batch.count
        carried.lines.extend(batch.lines)
        carried.latest = batch.latest

    def pop_ready(self, now: float, flushing: bool) -> tuple[Item | None, float | None]:
        """Return the next item if it may leave now, else None and the seconds until it may (None: empty)."""
        if not self._items:
            if flushing and self._carried:
                return self._carried.pop(next(iter(self._carried))), 0.0
            return None, None

        head = self._items[0]
        if isinstance(head, LogBatch) and not flushing and len(self._items) == 1:
            ready_at = self._last_log_sent.get(head.stage, -math.inf) + self.log_interval_s
            if now < ready_at:
                return None, ready_at - now

        self._items.popleft()
        if isinstance(head, LogBatch):
            self._last_log_sent[head.stage] = now
        return head, 0.0

    def take_skipped(self) -> int:
        skipped, self.skipped = self.skipped, 0
        return skipped

    def drain(self) -> int:
        """Empty the queue and return how many events and log lines it held."""
        count = sum(item.count if isinstance(item, LogBatch) else 1 for item in self._items)
        count += sum(batch.count for batch in self._carried.values()) + self.take_skipped()
        self._items.clear()
        self._carried.clear()
        return count
