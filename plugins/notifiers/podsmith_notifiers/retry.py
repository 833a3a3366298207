"""How long to wait before the next attempt: rate-limit responses and exponential backoff."""

from __future__ import annotations

import datetime as dt
import email.utils
import random
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx


def retry_after_s(response: httpx.Response) -> float | None:
    """Return the wait a 429 response requests, in seconds, or None when it names none.

    Discord's JSON body carries `retry_after` in seconds with a fraction, which is more precise than the
    whole-second `Retry-After` header it also sends, so the body wins. `Retry-After` may be a number of
    seconds or an HTTP date.
    """
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("retry_after"), (int, float)):
        return max(0.0, float(body["retry_after"]))

    header = response.headers.get("Retry-After")
    if not header:
        return None
    try:
        return max(0.0, float(header))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return max(0.0, (when - dt.datetime.now(dt.timezone.utc)).total_seconds())


def bucket_reset_s(response: httpx.Response) -> float | None:
    """Return the seconds until Discord's rate-limit bucket refills, when this response emptied it."""
    if response.headers.get("X-RateLimit-Remaining") != "0":
        return None
    try:
        return max(0.0, float(response.headers.get("X-RateLimit-Reset-After", "")))
    except ValueError:
        return None


def backoff_s(attempt: int, base_s: float, max_s: float) -> float:
    """Return the wait after failed attempt number `attempt` (1-based): doubling, capped, with jitter."""
    ceiling = min(max_s, base_s * 2 ** (attempt - 1))
    return random.uniform(ceiling / 2, ceiling)
