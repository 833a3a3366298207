"""Logging for the command line: warnings and errors only, on stderr, with every secret value removed.

Libraries log request URLs at INFO (httpx does, and a webhook URL embeds its token). Some configure the
root logger when imported: the runpod SDK calls `logging.basicConfig(level=INFO)`. Installing podsmith's
handler first makes that call a no-op, and the redacting filter covers every record that still gets out.
"""

from __future__ import annotations

import logging
import os

# Loggers that print full request URLs or connection details at INFO.
NOISY_LOGGERS = ("httpx", "httpcore", "urllib3", "requests", "paramiko", "asyncio", "filelock")

_handler: logging.Handler | None = None


class RedactingFilter(logging.Filter):
    """Replace known secret values in each record's final message."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: list[str] = []
        self._redactor = None

    def set_secrets(self, secrets: list[str]) -> None:
        from podsmith_core.redact import Redactor

        self.secrets = sorted(set(self.secrets) | set(secrets))
        self._redactor = Redactor(self.secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        if self._redactor is not None:
            record.msg = self._redactor.redact(record.getMessage())
            record.args = None
        return True


def configure_logging() -> None:
    """Install podsmith's stderr handler once; PODSMITH_DEBUG=1 shows DEBUG records."""
    global _handler
    root = logging.getLogger()
    if _handler is None:
        _handler = logging.StreamHandler()
        _handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        _handler.addFilter(RedactingFilter())
        root.addHandler(_handler)
    debug = os.environ.get("PODSMITH_DEBUG") == "1"
    root.setLevel(logging.DEBUG if debug else logging.WARNING)
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def add_log_secrets(secrets: list[str]) -> None:
    """Redact `secrets` from every log record from now on."""
    if _handler is None:
        return
    for log_filter in _handler.filters:
        if isinstance(log_filter, RedactingFilter):
            log_filter.set_secrets(secrets)
