"""Delivery of notifications over HTTP without ever making the run wait.

Each `HttpNotifier` owns one endpoint, one `Outbox` and one background thread running an asyncio loop
with an `httpx.AsyncClient`. `submit` only queues and returns. The loop sends one message at a time, in
order, retrying rate limits (honouring `Retry-After`), server errors, timeouts and connection errors
with backoff for a bounded number of attempts. `flush` waits for the queue to empty until a deadline,
then abandons what is left and counts it.

A delivery failure never raises into the caller. The first one is logged on the `podsmith.notifiers` logger with
its status code, never the URL (a webhook URL embeds its token), and later ones are counted in `stats`.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from podsmith_core.redact import Redactor

from podsmith_notifiers.outbox import Item, Outbox
from podsmith_notifiers.retry import backoff_s, bucket_reset_s, retry_after_s

if TYPE_CHECKING:
    import httpx

    from podsmith_core.models import Event

logger = logging.getLogger("podsmith.notifiers")

# After this many messages in a row failed every attempt, each message gets one attempt until one succeeds,
# so an endpoint that is down does not hold the queue for minutes.
DOWN_AFTER_FAILURES = 3


@dataclass
class NotifierStats:
    submitted: int = 0
    delivered: int = 0
    failed: int = 0
    dropped: int = 0
    retries: int = 0
    last_failure: str | None = None


class HttpNotifier:
    """Base class: subclasses set `kind` and turn queued items into JSON bodies in `render`."""

    kind = "http"
    log_interval_s = 5.0
    keep_lines = 20

    def __init__(
        self,
        url: str,
        redactor: Redactor | None = None,
        *,
        timeout_s: float = 10.0,
        max_attempts: int = 5,
        backoff_base_s: float = 0.5,
        backoff_max_s: float = 30.0,
        max_retry_after_s: float = 120.0,
        log_interval_s: float | None = None,
        keep_lines: int | None = None,
        max_queue: int = 500,
    ) -> None:
        self.url = url
        self.redactor = redactor or Redactor([url])
        self.timeout_s = timeout_s
        self.max_attempts = max_attempts
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.max_retry_after_s = max_retry_after_s
        self.stats = NotifierStats()

        self._outbox = Outbox(
            max_items=max_queue,
            keep_lines=keep_lines or self.keep_lines,
            log_interval_s=self.log_interval_s if log_interval_s is None else log_interval_s,
        )
        self._cond = threading.Condition()
        self._busy = False
        self._flush_deadline: float | None = None
        self._consecutive_failures = 0
        self._not_before = 0.0

        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._current: asyncio.Task[None] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._closing = False
        self._failures_reported = 0

    # -- called from the run's thread ------------------------------------------------------------------

    def submit(self, event: Event) -> None:
        """Queue an event for delivery and return at once."""
        event = self.redactor.redact_event(event)
        with self._cond:
            self._outbox.put(event)
            self.stats.submitted += 1
        self._start()
        self._poke()

    def flush(self, deadline_s: float) -> bool:
        """Deliver what is queued, waiting at most `deadline_s` seconds; return whether everything left."""
        self.begin_flush(time.monotonic() + deadline_s)
        return self.wait_flushed()

    def begin_flush(self, deadline: float) -> None:
        """Send queued log batches without throttling from now on, until `deadline` (a monotonic time).

        A flush already running keeps its deadline when that is earlier.
        """
        with self._cond:
            running = self._active_deadline()
            if running is not None:
                deadline = min(deadline, running)
            self._flush_deadline = deadline
        self._poke()

    def wait_flushed(self) -> bool:
        with self._cond:
            deadline = self._flush_deadline or time.monotonic()
            while self._thread is not None and (len(self._outbox) or self._busy):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            done = not (len(self._outbox) or self._busy) or self._thread is None
            if not done:
                abandoned = self._outbox.drain() + (1 if self._busy else 0)
                self.stats.dropped += abandoned
                # The in-flight message is cancelled below; a later flush must not wait for the worker
                # to notice the cancellation.
                self._busy = False
            self._flush_deadline = None

        if not done:
            self._cancel_current()
            logger.warning(
                "%s notifier: flush deadline passed, %d queued events and lines not delivered",
                self.kind,
                abandoned,
            )
        if self.stats.failed > 1 and self.stats.failed > self._failures_reported:
            self._failures_reported = self.stats.failed
            logger.warning(
                "%s notifier: %d of %d messages not delivered (last failure: %s)",
                self.kind,
                self.stats.failed,
                self.stats.failed + self.stats.delivered,
                self.stats.last_failure,
            )
        return done

    def close(self, timeout_s: float = 2.0) -> None:
        """Stop the background thread; queued events are not sent (call `flush` first)."""
        self._closing = True
        loop, worker = self._loop, self._worker
        if loop is not None and worker is not None and not loop.is_closed():
            loop.call_soon_threadsafe(worker.cancel)
        if self._thread is not None:
            self._thread.join(timeout_s)
        self._thread = None

    def render(self, item: Item, skipped: int) -> dict[str, Any]:
        raise NotImplementedError

    # -- the background thread -------------------------------------------------------------------------

    def _start(self) -> None:
        with self._cond:
            if self._thread is not None:
                return
            self._closing = False
            self._thread = threading.Thread(target=self._thread_main, name=f"podsmith-{self.kind}", daemon=True)
        self._thread.start()

    def _poke(self) -> None:
        loop, wake = self._loop, self._wake
        if loop is None or wake is None:
            return
        try:
            loop.call_soon_threadsafe(wake.set)
        except RuntimeError:
            pass  # the loop closed: close() was called

    def _cancel_current(self) -> None:
        loop, current = self._loop, self._current
        if loop is not None and current is not None:
            try:
                loop.call_soon_threadsafe(current.cancel)
            except RuntimeError:
                pass

    def _thread_main(self) -> None:
        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(self._run())
        except asyncio.CancelledError:
            pass  # close() cancelled the worker while the client was opening or closing
        finally:
            loop.close()

    async def _run(self) -> None:
        # httpx is imported on the worker thread so that loading plugins at startup stays cheap.
        import httpx

        self._wake = asyncio.Event()
        self._worker = asyncio.current_task()
        self._loop = asyncio.get_running_loop()
        async with httpx.AsyncClient(timeout=self.timeout_s, follow_redirects=False) as client:
            try:
                await self._serve(client)
            except asyncio.CancelledError:
                pass

    async def _serve(self, client: httpx.AsyncClient) -> None:
        assert self._wake is not None
        while not self._closing:
            self._wake.clear()
            with self._cond:
                flushing = self._active_deadline() is not None
                item, wait_s = self._outbox.pop_ready(time.monotonic(), flushing=flushing)
                skipped = self._outbox.take_skipped() if item is not None else 0
                self._busy = item is not None
                if item is None:
                    self._cond.notify_all()

            if item is None:
                try:
                    await asyncio.wait_for(self._wake.wait(), wait_s)
                except asyncio.TimeoutError:
                    pass
                continue

            self._current = asyncio.ensure_future(self._deliver(client, item, skipped))
            try:
                await self._current
            except asyncio.CancelledError:
                if self._closing:
                    raise
            finally:
                self._current = None
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    async def _deliver(self, client: httpx.AsyncClient, item: Item, skipped: int) -> None:
        try:
            body = self.redactor.redact_obj(self.render(item, skipped))
        except Exception as exc:  # the worker must outlive one event it cannot render
            self.stats.failed += 1
            self._fail(f"could not render the message ({type(exc).__name__})")
            return
        if await self._post(client, body):
            self.stats.delivered += 1
            self._consecutive_failures = 0
        else:
            self.stats.failed += 1
            self._consecutive_failures += 1

    def _active_deadline(self) -> float | None:
        """Return the deadline of the running flush; None when no flush runs or its deadline has passed."""
        deadline = self._flush_deadline
        if deadline is None or deadline <= time.monotonic():
            return None
        return deadline

    def _remaining_s(self) -> float:
        deadline = self._active_deadline()
        return float("inf") if deadline is None else deadline - time.monotonic()

    async def _post(self, client: httpx.AsyncClient, body: dict[str, Any]) -> bool:
        import httpx

        attempts = 1 if self._consecutive_failures >= DOWN_AFTER_FAILURES else self.max_attempts
        for attempt in range(1, attempts + 1):
            wait_s = self._not_before - time.monotonic()
            if wait_s > 0:
                if wait_s > self._remaining_s():
                    return self._fail("rate limit wait exceeds the flush deadline")
                await asyncio.sleep(wait_s)

            timeout_s = min(self.timeout_s, self._remaining_s())
            if timeout_s <= 0:
                return self._fail("flush deadline passed")

            retry_in: float | None
            try:
                response = await client.post(self.url, json=body, timeout=timeout_s)
            except httpx.TimeoutException:
                reason, retry_in = f"timed out after {timeout_s:.1f} s", None
            except httpx.TransportError as exc:
                reason, retry_in = f"connection failed ({type(exc).__name__})", None
            else:
                status = response.status_code
                if status < 300:
                    reset_s = bucket_reset_s(response)
                    if reset_s:
                        self._not_before = time.monotonic() + min(reset_s, self.max_retry_after_s)
                    return True
                reason = f"HTTP status {status}"
                if status == 429:
                    retry_in = retry_after_s(response)
                elif status >= 500:
                    retry_in = None
                else:
                    return self._fail(reason)

            if attempt == attempts:
                return self._fail(f"{reason}, after {attempt} attempts")
            if retry_in is None:
                retry_in = backoff_s(attempt, self.backoff_base_s, self.backoff_max_s)
            if retry_in > min(self.max_retry_after_s, self._remaining_s()):
                return self._fail(f"{reason}, retry in {retry_in:.1f} s is past the allowed wait")

            self.stats.retries += 1
            logger.debug("%s notifier: %s, retrying in %.1f s (attempt %d of %d)", self.kind, reason, retry_in, attempt, attempts)
            await asyncio.sleep(retry_in)
        return False

    def _fail(self, reason: str) -> bool:
        reason = self.redactor.redact(reason)
        first = self.stats.last_failure is None
        self.stats.last_failure = reason
        if first:
            logger.warning(
                "%s notifier: delivery failed: %s; the run continues, and later failures are only counted",
                self.kind,
                reason,
            )
        return False
