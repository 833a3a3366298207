"""Host keys of Pods: trusted on first use, then pinned for the rest of the run.

A Pod's host key is generated when the Pod starts, so no known_hosts file can contain it in advance.
The first connection records the key's SHA256 fingerprint, in the form `ssh-keygen -l` prints. The
caller stores it in `PodHandle.host_key` and the state database. Every later connection to that Pod must
present the same key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from podsmith_core.errors import PodsmithError

if TYPE_CHECKING:
    import paramiko


class HostKeyMismatch(PodsmithError):
    """The Pod presented a different host key than the one recorded for it; the connection was closed."""


def pinning_policy(address: str, expected: str | None) -> "paramiko.MissingHostKeyPolicy":
    """Return a paramiko policy that accepts the first key seen, or only `expected` when one is recorded."""
    import paramiko

    class PinHostKey(paramiko.MissingHostKeyPolicy):
        def __init__(self) -> None:
            self.fingerprint = expected

        def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
            seen = key.fingerprint
            if self.fingerprint is not None and seen != self.fingerprint:
                raise HostKeyMismatch(
                    f"The host key of {address} changed from {self.fingerprint} to {seen}; "
                    "podsmith closed the connection.",
                    "If the Pod was replaced on purpose, start a new run; otherwise someone may be "
                    "intercepting the connection.",
                )
            self.fingerprint = seen

    return PinHostKey()
