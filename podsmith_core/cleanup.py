"""Pod cleanup at the end of a run: destroy with retries, find a Pod whose create was interrupted.

Ctrl-C is ignored while cleanup runs, so a second Ctrl-C cannot leave a Pod billing. A destroy that still
fails after its retries is reported with the exact `podsmith down` command and recorded as
`cleanup-failed`.
"""

from __future__ import annotations

import logging
import signal
import time
from typing import TYPE_CHECKING

from podsmith_core.models import PodHandle
from podsmith_core.state import StateStore

if TYPE_CHECKING:
    from podsmith_core.pipeline import Session

log = logging.getLogger("podsmith.cleanup")

DESTROY_ATTEMPTS = 4


def cleanup_pod(session: Session, state: StateStore, pod: PodHandle | None) -> None:
    """Destroy the Pod, or a Pod whose create was interrupted, with retries; provider errors are reported."""
    spec = session.spec
    pending = session.pending_pod_name
    previous_sigint = signal.getsignal(signal.SIGINT)
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:
        previous_sigint = None
    try:
        if pod is not None and spec.keep_pod:
            session.say("kept", f"Pod {pod_label(pod)} is kept. Remove it with: podsmith down {pod.name}")
            state.update_pod(pod.name, status="kept")
            return
        if pod is None and pending:
            pod = _find_pending_pod(session, pending)
        if pod is None:
            return
        _destroy_with_retries(session, state, pod)
    finally:
        if previous_sigint is not None:
            signal.signal(signal.SIGINT, previous_sigint)


def _find_pending_pod(session: Session, name: str) -> PodHandle | None:
    """Look up a Pod whose create call was interrupted, by its unique name."""
    try:
        records = session.call("list_pods", name_prefix=name) or []
    except Exception as exc:  # noqa: BLE001 - cleanup continues whatever the provider raises
        session.say("cleanup-warning", f"Could not list Pods to find {name}: {exc}", level="warning")
        return None
    for record in records:
        if record.name == name:
            return PodHandle(pod_id=record.pod_id, name=record.name, provider=session.spec.provider, workspace="")
    return None


def _destroy_with_retries(session: Session, state: StateStore, pod: PodHandle) -> None:
    delay = 2.0
    for attempt in range(1, DESTROY_ATTEMPTS + 1):
        try:
            session.call("destroy_pod", pod=pod)
        except Exception as exc:  # noqa: BLE001 - every failure is retried, the last one reported
            log.warning("Destroying Pod %s failed (attempt %d): %s", pod.pod_id, attempt, type(exc).__name__)
            if attempt == DESTROY_ATTEMPTS:
                state.update_pod(pod.name, status="cleanup-failed")
                session.say(
                    "cleanup-failed",
                    f"Could not terminate Pod {pod_label(pod)}: {exc}. "
                    f"It may still be billing. Remove it with: podsmith down {pod.name} --provider {pod.provider}",
                    level="error",
                )
                return
            time.sleep(delay)
            delay *= 2
            continue
        state.update_pod(pod.name, status="terminated")
        session.say("terminated", f"Pod {pod_label(pod)} terminated.")
        return


def pod_label(pod: PodHandle) -> str:
    """Return the Pod's name, with the provider's id in brackets when it differs from the name."""
    return pod.name if pod.pod_id == pod.name else f"{pod.name} ({pod.pod_id})"
