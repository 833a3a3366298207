"""podsmith-file-notifier: append each progress event as one JSON line to the file in PODSMITH_NOTIFY_FILE."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from podsmith_core.hookspecs import hookimpl
from podsmith_core.redact import Redactor
from podsmith_core.settings import Settings

# Importing the models only for type checking keeps `podsmith --help` fast: podsmith loads every plugin.
if TYPE_CHECKING:
    from podsmith_core.models import Event, Finding, ModelFacts, RunSpec

SETTING = "PODSMITH_NOTIFY_FILE"

logger = logging.getLogger("podsmith.notifiers.file")


class FileNotifier:
    """Writes `Event.payload()` as JSON, one event per line, to the file named by PODSMITH_NOTIFY_FILE."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failure_logged = False

    @hookimpl
    def gate_check(self, spec: RunSpec, facts: ModelFacts | None, settings: Settings) -> list[Finding] | None:
        from podsmith_core.models import Finding

        path = settings.get(SETTING)
        if not path:
            return None

        directory = Path(path).expanduser().parent
        if directory.is_dir():
            return None
        return [
            Finding(
                level="error",
                code="file-notifier-directory",
                message=f"{SETTING} is {path!r}, but the directory {str(directory)!r} does not exist.",
                fix=f"Create {directory} or point {SETTING} at an existing directory.",
                source="file-notifier",
            )
        ]

    @hookimpl
    def notify(self, event: Event, settings: Settings) -> None:
        path = settings.get(SETTING)
        if not path:
            return

        # The host redacts events before notifiers see them; a second pass costs little and
        # keeps secrets out of the file even when a caller forgot.
        payload = Redactor.from_settings(settings).redact_obj(event.payload())
        line = json.dumps(payload, ensure_ascii=False)

        try:
            with self._lock, open(Path(path).expanduser(), "a", encoding="utf-8") as handle:
                handle.write(line + "\n")
        except OSError as exc:
            if not self._failure_logged:
                self._failure_logged = True
                logger.warning("file-notifier: cannot append to %s (%s); later failures are not logged", path, exc.strerror)


plugin = FileNotifier()
