"""Progress on stderr: a live bar with ETA on a terminal, a line now and then otherwise.

Kept apart from the commands so the scan code only reports numbers and never formats.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

PLAIN_EVERY_S = 5.0
WIDTH = 30


def eta_text(done: int, total: int, elapsed: float) -> str:
    """Remaining time at the rate seen so far; '?' until there is a rate."""
    if done <= 0 or elapsed <= 0 or total <= done:
        return "?" if total > done else "0:00"
    seconds = int((total - done) * elapsed / done)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


class ProgressBar:
    def __init__(self, stream: TextIO, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream
        self.clock = clock
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.total = 0
        self.started = clock()
        self._last_plain = 0.0

    def walking(self, files: int, dirs: int) -> None:
        self._emit(f"walking: {files} files in {dirs} folders")

    def start(self, total: int) -> None:
        self.total, self.started = total, self.clock()
        self.update(0)

    def update(self, done: int) -> None:
        done = min(done, self.total)
        filled = int(WIDTH * done / self.total) if self.total else WIDTH
        eta = eta_text(done, self.total, self.clock() - self.started)
        self._emit(f"fetching [{'#' * filled}{'-' * (WIDTH - filled)}] "
                   f"{done}/{self.total} items  ETA {eta}")

    def _emit(self, text: str) -> None:
        if self.tty:
            self.stream.write("\r\x1b[K" + text)
            self.stream.flush()
        elif self.clock() - self._last_plain >= PLAIN_EVERY_S:
            self._last_plain = self.clock()
            self.stream.write(text + "\n")
            self.stream.flush()

    def clear(self) -> None:
        if self.tty:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
