"""Built-in console notifier: streamed lines with their `[setup]`/`[train]` prefix, other events as status."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from podsmith_core.hookspecs import hookimpl

if TYPE_CHECKING:
    from podsmith_core.models import Event


class ConsoleNotifier:
    def __init__(self) -> None:
        self.quiet = False

    @hookimpl
    def notify(self, event: Event) -> None:
        if self.quiet:
            return
        if event.event == "log":
            if not event.message.strip():
                # Progress bars redraw with blank lines between frames; they carry nothing to read.
                return
            print(f"[{event.stage or 'remote'}] {event.message}", flush=True)
            return
        if event.event == "error":
            # The command line prints the error itself, as one line with its fix.
            return
        stream = sys.stderr if event.level == "error" else sys.stdout
        print(f"podsmith: {event.message}", file=stream, flush=True)


plugin = ConsoleNotifier()
