"""Follow a growing log file on a Pod by byte offset and turn it into lines.

`\\r`, `\\n` and `\\r\\n` each end a line, so tqdm bars never glue onto the traceback that follows them.
The offset advances only past complete lines: a follower that stops and a new one that starts from the
stored offset together emit every line exactly once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

from podsmith_core.errors import TransportError
from podsmith_core.transport.base import Transport

CHUNK_BYTES = 1 << 20
# A line longer than this is emitted in pieces of this size so memory stays bounded.
MAX_LINE_BYTES = 1 << 20


@dataclass
class LineSplitter:
    """Split a byte stream into decoded lines; `consumed` counts the bytes of the lines emitted so far."""

    consumed: int = 0
    _buffer: bytearray = field(default_factory=bytearray)

    def feed(self, data: bytes) -> list[str]:
        self._buffer.extend(data)
        lines: list[str] = []
        start = 0
        buffer = self._buffer
        length = len(buffer)
        index = 0
        while index < length:
            byte = buffer[index]
            if byte == 0x0A or byte == 0x0D:
                if byte == 0x0D and index + 1 == length:
                    # A trailing \r may be the first half of \r\n: wait for the next byte.
                    break
                end = index + 1
                if byte == 0x0D and buffer[index + 1] == 0x0A:
                    end = index + 2
                lines.append(_decode(buffer[start:index]))
                start = end
                index = end
                continue
            if index - start + 1 >= MAX_LINE_BYTES:
                lines.append(_decode(buffer[start : index + 1]))
                start = index + 1
            index += 1
        del buffer[:start]
        self.consumed += start
        return lines

    def flush(self) -> list[str]:
        """Emit what is left (the job has exited): a last line without a newline, or a lone `\\r`."""
        if not self._buffer:
            return []
        text = bytes(self._buffer).rstrip(b"\r")
        self.consumed += len(self._buffer)
        self._buffer.clear()
        return [_decode(text)]


def _decode(data: bytes | bytearray) -> str:
    return bytes(data).decode("utf-8", errors="replace")


class LogFollower:
    """Read `log_path` from `offset` until `is_finished()` is true and the file is read to its end."""

    def __init__(
        self,
        transport: Transport,
        log_path: str,
        *,
        offset: int = 0,
        poll_interval: float = 0.5,
        reconnect_deadline_s: float = 300.0,
    ) -> None:
        self.transport = transport
        self.log_path = log_path
        self.splitter = LineSplitter(consumed=offset)
        self.poll_interval = poll_interval
        self.reconnect_deadline_s = reconnect_deadline_s

    @property
    def offset(self) -> int:
        """Byte offset just after the last emitted line; start a new follower here to resume."""
        return self.splitter.consumed

    def follow(self, on_line: Callable[[str], None], is_finished: Callable[[], bool]) -> None:
        read_offset = self.offset
        while True:
            # The finished flag is read before the file, so output written just before exit is still read.
            finished = self._retrying(is_finished)
            data = self._retrying(lambda: self.transport.read_range(self.log_path, read_offset, CHUNK_BYTES))
            if data:
                read_offset += len(data)
                for line in self.splitter.feed(data):
                    on_line(line)
                continue
            if finished:
                for line in self.splitter.flush():
                    on_line(line)
                return
            time.sleep(self.poll_interval)

    def _retrying(self, call: Callable):
        """Run `call`, reconnecting the transport on errors until the reconnect deadline passes."""
        deadline = None
        delay = 1.0
        while True:
            try:
                return call()
            except TransportError:
                now = time.monotonic()
                deadline = deadline or now + self.reconnect_deadline_s
                if now >= deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 15.0)
                try:
                    self.transport.reconnect()
                except TransportError:
                    continue
