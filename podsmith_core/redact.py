"""Secret redaction for every string that leaves the process: notifications, logs, error texts.

A `Redactor` is built from the secret values of a run (tokens, API keys, webhook URLs) and replaces each one,
and the encoded forms it takes inside URLs and JSON, with `***`. All forms are matched by one compiled
regular expression, so redacting a long stream of log lines costs one scan per line.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any, Iterable
from urllib.parse import quote, quote_plus, urlsplit

if TYPE_CHECKING:
    from podsmith_core.models import Event
    from podsmith_core.settings import Settings

MASK = "***"

# Shorter values would match ordinary words and numbers and mangle the text around them.
MIN_SECRET_LENGTH = 6

# A path segment or query value of a secret URL this long is treated as a token of its own, because
# a client library may print the path or the query without the rest of the URL.
MIN_URL_TOKEN_LENGTH = 16


def secret_forms(secret: str) -> set[str]:
    """Return the secret and the forms it takes when URL-encoded, JSON-escaped or split out of a URL."""
    forms = {secret, quote(secret, safe=""), quote(secret), quote_plus(secret), json.dumps(secret)[1:-1]}

    parts = urlsplit(secret)
    if parts.scheme in ("http", "https") and parts.netloc:
        forms.add(parts.netloc + parts.path)
        for segment in parts.path.split("/"):
            if len(segment) >= MIN_URL_TOKEN_LENGTH:
                forms.add(segment)
        for pair in parts.query.split("&"):
            value = pair.partition("=")[2]
            if len(value) >= MIN_URL_TOKEN_LENGTH:
                forms.add(value)

    return {form for form in forms if len(form) >= MIN_SECRET_LENGTH}


class Redactor:
    """Replaces known secret values in text with `***`."""

    def __init__(self, secrets: Iterable[str]) -> None:
        forms: set[str] = set()
        for secret in secrets:
            if secret and len(secret) >= MIN_SECRET_LENGTH:
                forms.update(secret_forms(secret))

        # Longest first, so a URL is replaced whole before a token inside it is matched.
        ordered = sorted(forms, key=lambda form: (-len(form), form))
        self._pattern = re.compile("|".join(re.escape(form) for form in ordered)) if ordered else None
        self.size = len(ordered)

    @classmethod
    def from_settings(cls, settings: Settings, extra: Iterable[str] = ()) -> "Redactor":
        """Build a redactor for every secret setting, plus `extra` values such as a notifier's own URL."""
        return cls([*settings.secret_values(), *extra])

    def redact(self, text: str) -> str:
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(MASK, text)

    def redact_obj(self, value: Any) -> Any:
        """Return a copy of a JSON-like value with every string in it (keys too) redacted."""
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, dict):
            return {self.redact_obj(key): self.redact_obj(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.redact_obj(item) for item in value]
        return value

    def redact_event(self, event: Event) -> Event:
        """Return a copy of the event in which no field carries a secret."""
        if self._pattern is None:
            return event
        return type(event).model_validate(self.redact_obj(event.model_dump()))
