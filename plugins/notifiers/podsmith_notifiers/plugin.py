"""The pluggy side of a notifier: one `HttpNotifier` per configured URL, created on first use."""

from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from podsmith_core.hookspecs import hookimpl
from podsmith_core.redact import Redactor
from podsmith_notifiers.notifier import HttpNotifier

if TYPE_CHECKING:
    from podsmith_core.models import Event, Finding, ModelFacts, RunSpec
    from podsmith_core.settings import Settings

logger = logging.getLogger("podsmith.notifiers")

# Setting that overrides the minimum seconds between two log messages of one stage.
LOG_INTERVAL_SETTING = "PODSMITH_NOTIFY_LOG_INTERVAL"

# Seconds the interpreter waits at exit for notifications the run did not flush itself.
EXIT_FLUSH_S = 2.0

_live_plugins: "weakref.WeakSet[NotifierPlugin]" = weakref.WeakSet()


class NotifierPlugin:
    """Subclasses set `name`, `setting_key` and `notifier_class`; keyword options go to every notifier."""

    name = "notifier"
    setting_key = ""
    notifier_class: type[HttpNotifier] = HttpNotifier

    def __init__(self, **options: Any) -> None:
        self.options = options
        self._notifiers: dict[str, HttpNotifier] = {}
        self._lock = threading.Lock()
        self._broken_logged = False
        self._redactor_key: tuple[str, ...] = ()
        self._redactor = Redactor([])
        _live_plugins.add(self)

    def notifier_for(self, settings: Settings) -> HttpNotifier | None:
        """Return the notifier for the URL in `settings`, creating it on first use; None when unset."""
        url = settings.get(self.setting_key)
        if not url or not is_http_url(url):
            return None

        with self._lock:
            notifier = self._notifiers.get(url)
            if notifier is None:
                options = dict(self.options)
                interval = settings.get(LOG_INTERVAL_SETTING)
                if interval and _is_non_negative_number(interval) and "log_interval_s" not in options:
                    options["log_interval_s"] = float(interval)
                notifier = self.notifier_class(url, **options)
                self._notifiers[url] = notifier
        secrets = (*settings.secret_values(), url)
        if secrets != self._redactor_key:
            self._redactor_key = secrets
            self._redactor = Redactor(secrets)
        notifier.redactor = self._redactor
        return notifier

    @property
    def notifiers(self) -> list[HttpNotifier]:
        with self._lock:
            return list(self._notifiers.values())

    @hookimpl
    def notify(self, event: Event, settings: Settings) -> None:
        try:
            notifier = self.notifier_for(settings)
            if notifier is not None:
                notifier.submit(event)
        except Exception as exc:  # a notifier must never stop the run
            if not self._broken_logged:
                self._broken_logged = True
                logger.warning("%s notifier: event not queued (%s)", self.name, type(exc).__name__)

    @hookimpl
    def flush_notifications(self, deadline_s: float, settings: Settings) -> None:
        """Flush every live notifier of this package side by side, so the calls together take about `deadline_s`.

        The host calls this hook once per notifier plugin, one after another. The first call drains or
        abandons every queue by the deadline, so the later calls find nothing left and return at once.
        """
        flush_all(live_notifiers(), deadline_s)

    @hookimpl
    def gate_check(self, spec: RunSpec, facts: ModelFacts | None, settings: Settings) -> list[Finding] | None:
        from podsmith_core.models import Finding

        url = settings.get(self.setting_key)
        if url and not is_http_url(url):
            return [
                Finding(
                    level="error",
                    code=f"{self.name}-url",
                    message=f"{self.setting_key} is not an http:// or https:// URL (from {settings.source(self.setting_key)}).",
                    fix=f"Set {self.setting_key} to the full webhook URL, or unset it.",
                    source=self.name,
                )
            ]
        interval = settings.get(LOG_INTERVAL_SETTING)
        if interval and not _is_non_negative_number(interval):
            return [
                Finding(
                    level="error",
                    code=f"{self.name}-log-interval",
                    message=f"{LOG_INTERVAL_SETTING}={interval!r} is not a number of seconds.",
                    fix=f"Set {LOG_INTERVAL_SETTING} to a number such as 5, or unset it.",
                    source=self.name,
                )
            ]
        return None


def flush_all(notifiers: list[HttpNotifier], deadline_s: float) -> None:
    """Flush notifiers side by side, so together they take at most `deadline_s` seconds."""
    deadline = time.monotonic() + deadline_s
    for notifier in notifiers:
        notifier.begin_flush(deadline)
    for notifier in notifiers:
        notifier.wait_flushed()


def is_http_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _is_non_negative_number(text: str) -> bool:
    try:
        return float(text) >= 0
    except ValueError:
        return False


def live_notifiers() -> list[HttpNotifier]:
    return [notifier for plugin in list(_live_plugins) for notifier in plugin.notifiers]


@atexit.register
def _flush_at_exit() -> None:
    notifiers = live_notifiers()
    if notifiers:
        flush_all(notifiers, EXIT_FLUSH_S)
