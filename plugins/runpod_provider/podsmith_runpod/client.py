"""A thin layer over the runpod SDK: lazy import, API key, error classification, retried reads.

runpod-python 1.12 sends each call as one POST without retries. It raises `AuthenticationError` on HTTP
401, `QueryError` for a JSON body with `errors` (its `.query` attribute contains the whole request text,
env values included, so it is never read here), a JSON decode error for a non-JSON body, `KeyError` for
JSON without `data`, and `requests` exceptions for network trouble.
"""

from __future__ import annotations

import logging
import re
import time
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from podsmith_core.errors import AuthError, ProviderError
from podsmith_core.redact import Redactor
from podsmith_core.settings import Settings

if TYPE_CHECKING:
    from types import ModuleType

log = logging.getLogger("podsmith.runpod")

T = TypeVar("T")

CAPACITY = "capacity"
AUTH = "auth"
TRANSIENT = "transient"
NOT_FOUND = "not_found"
UNKNOWN_GPU = "unknown_gpu"
OTHER = "other"

AUTH_FIX = "RUNPOD_API_KEY was rejected; create a key at https://www.runpod.io/console/user/settings"
MISSING_KEY_FIX = "Set RUNPOD_API_KEY; create a key at https://www.runpod.io/console/user/settings"

_CAPACITY_TEXTS = ("no longer any instances available", "not enough free gpus")
_AUTH_TEXTS = ("unauthorized", "unauthenticated", "forbidden", "permission denied", "invalid api key")
_TRANSIENT_TEXTS = (
    "too many requests",
    "rate limit",
    "internal server error",
    "service unavailable",
    "bad gateway",
    "gateway timeout",
    "timed out",
    "timeout",
    "try again later",
)
_FORBIDDEN_BODY = re.compile(r"\b403\b|forbidden", re.IGNORECASE)


def load_sdk(api_key: str | None) -> ModuleType:
    """Import runpod (about 1.5 s, so only when a request is made) and set its module-level key."""
    import runpod

    runpod.api_key = api_key
    return runpod


def classify(exc: BaseException) -> str:
    """Return the kind of an SDK failure: capacity, auth, transient, not_found, unknown_gpu or other."""
    import requests
    from runpod import error as sdk_error

    if isinstance(exc, sdk_error.AuthenticationError):
        return AUTH
    if isinstance(exc, requests.exceptions.JSONDecodeError):
        body = getattr(exc, "doc", "") or ""
        return AUTH if _FORBIDDEN_BODY.search(body[:2000]) else TRANSIENT
    if isinstance(exc, (requests.exceptions.RequestException, KeyError)):
        return TRANSIENT
    if isinstance(exc, TypeError) and "'NoneType' object is not subscriptable" in str(exc):
        # A JSON body whose `data` (or the requested field) is null.
        return TRANSIENT
    if isinstance(exc, ValueError) and "No GPU found" in str(exc):
        return UNKNOWN_GPU
    if isinstance(exc, sdk_error.QueryError):
        text = (exc.message or "").lower()
        if any(part in text for part in _CAPACITY_TEXTS):
            return CAPACITY
        if "not found to terminate" in text:
            return NOT_FOUND
        if any(part in text for part in _AUTH_TEXTS):
            return AUTH
        if any(part in text for part in _TRANSIENT_TEXTS):
            return TRANSIENT
    return OTHER


class RunpodClient:
    """Calls into the SDK for one settings object, with secrets redacted from every error text."""

    def __init__(self, settings: Settings, sleep: Callable[[float], None] = time.sleep) -> None:
        self.api_key = settings.get("RUNPOD_API_KEY")
        self.redactor = Redactor.from_settings(settings)
        self.retry_base_s = float(settings.get("PODSMITH_RUNPOD_RETRY_BASE_S", "1.0") or 1.0)
        self.read_attempts = int(settings.get("PODSMITH_RUNPOD_READ_ATTEMPTS", "5") or 5)
        self.sleep = sleep

    def sdk(self) -> ModuleType:
        if not self.api_key:
            raise AuthError("RUNPOD_API_KEY is not set.", MISSING_KEY_FIX)
        return load_sdk(self.api_key)

    def redact(self, text: str) -> str:
        return self.redactor.redact(text)

    def describe(self, exc: BaseException) -> str:
        """Return a one-line, redacted description of an SDK failure; never the request text."""
        message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        if isinstance(exc, KeyError):
            message = f"response without {exc}"
        first_line = str(message).strip().splitlines()[0] if str(message).strip() else type(exc).__name__
        return self.redact(f"{type(exc).__name__}: {first_line[:300]}")

    def backoff_s(self, attempt: int) -> float:
        return min(self.retry_base_s * (2**attempt), 30.0)

    def auth_error(self, summary: str) -> AuthError:
        return AuthError(f"Runpod rejected the request ({summary}).", AUTH_FIX)

    def read(self, operation: str, call: Callable[[Any], T]) -> T:
        """Run a read-only SDK call, retrying transient failures with exponential backoff.

        The SDK hides response headers, so a 429's Retry-After cannot be honoured and the backoff is used instead.
        Errors are raised outside the `except` block, so the SDK exception (whose `.query` holds the
        request text) is not kept as their `__context__`.
        """
        runpod = self.sdk()
        for attempt in range(self.read_attempts):
            try:
                return call(runpod)
            except Exception as exc:  # noqa: BLE001 - the SDK raises several unrelated types; classify() sorts them
                kind = classify(exc)
                summary = self.describe(exc)
            if kind == AUTH:
                raise self.auth_error(summary)
            if kind != TRANSIENT:
                raise ProviderError(f"Runpod {operation} failed: {summary}")
            if attempt + 1 == self.read_attempts:
                raise ProviderError(
                    f"Runpod {operation} failed {self.read_attempts} times: {summary}",
                    "Check https://status.runpod.io and try again.",
                )
            delay = self.backoff_s(attempt)
            log.warning("Runpod %s failed (%s); retry %d in %.1f s", operation, summary, attempt + 1, delay)
            self.sleep(delay)
        raise AssertionError("unreachable")

    def query(self, operation: str, text: str) -> dict[str, Any]:
        """Send a custom read-only GraphQL query through the SDK and return its `data`."""
        def call(runpod: ModuleType) -> dict[str, Any]:
            from runpod.api.graphql import run_graphql_query

            return run_graphql_query(text, api_key=self.api_key)["data"]

        return self.read(operation, call)
