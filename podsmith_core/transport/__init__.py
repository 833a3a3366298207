"""Remote execution: the transport interface, the local and SSH transports, detached jobs, the streamer."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from podsmith_core.models import PodHandle
    from podsmith_core.settings import Settings
    from podsmith_core.transport.base import Transport


def connect(pod: "PodHandle", settings: "Settings") -> "Transport":
    """Return a transport to `pod`: local for Pods without an SSH address, SSH otherwise."""
    if pod.ssh is None:
        from podsmith_core.transport.local import LocalTransport

        return LocalTransport()

    from podsmith_core.transport.ssh import SshTransport

    return SshTransport.for_pod(pod, settings)
