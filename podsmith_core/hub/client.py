"""Access to the Hub through huggingface_hub, imported lazily, with errors sorted into kinds a check can report."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from huggingface_hub import HfApi

    from podsmith_core.settings import Settings

DEFAULT_ENDPOINT = "https://huggingface.co"

# Seconds to wait for one Hub request before reporting the Hub unreachable.
REQUEST_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class HubAccess:
    """The Hub endpoint and token one run uses; the token is never part of `repr`."""

    endpoint: str
    token: str | None = None

    def __repr__(self) -> str:
        return f"HubAccess(endpoint={self.endpoint!r}, token={'set' if self.token else 'unset'})"

    @classmethod
    def from_settings(cls, settings: Settings) -> HubAccess:
        endpoint = (settings.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")
        return cls(endpoint=endpoint, token=settings.hf_token)

    def api(self) -> HfApi:
        from huggingface_hub import HfApi

        # token=False keeps huggingface_hub from falling back to a token stored by `hf auth login`, so the
        # checks see exactly the token that the run will send to the Pod.
        return HfApi(endpoint=self.endpoint, token=self.token or False)

    @property
    def request_token(self) -> str | bool:
        return self.token or False

    def cache_key(self, *parts: str | None) -> tuple[str | None, ...]:
        """Return a key that identifies this endpoint and token without holding the token itself."""
        digest = hashlib.sha256(self.token.encode()).hexdigest() if self.token else None
        return (self.endpoint, digest, *parts)

    def settings_url(self) -> str:
        return f"{self.endpoint}/settings/tokens"


def network_errors() -> tuple[type[BaseException], ...]:
    """Return the exception types that mean the Hub could not be reached (connection, timeout, offline)."""
    errors: list[type[BaseException]] = [OSError]
    try:
        import httpx2

        errors.append(httpx2.TransportError)
    except ImportError:
        pass
    try:
        import httpx

        errors.append(httpx.TransportError)
    except ImportError:
        pass
    from huggingface_hub.errors import OfflineModeIsEnabled

    errors.append(OfflineModeIsEnabled)
    return tuple(errors)


def status_of(error: BaseException) -> int | None:
    """Return the HTTP status of a huggingface_hub HTTP error, or None."""
    response = getattr(error, "response", None)
    return getattr(response, "status_code", None)


def short_error(error: BaseException) -> str:
    """Return the first two lines of an error, which for huggingface_hub errors contain the status and the URL."""
    text = str(error).strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    summary = " ".join(lines[:2]) if lines else type(error).__name__
    return summary[:300]
