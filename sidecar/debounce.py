"""Turn bursts into batches: one background thread that waits for quiet, then runs a batch.

Webhook intake and host refreshes both get work in bursts (a season lands as 20 events,
a library scan finishes hundreds of jobs) and both want ONE batch per burst, not one per
arrival.  :class:`Debouncer` holds the part they share: the window (``quiet`` seconds
after the last arrival, at most ``max_delay`` after the first, so a steady trickle cannot
postpone a batch forever), the thread that sleeps until the window closes, and a clean
stop.  What a batch *does* stays with the owner, passed in as ``fire``.

Locking: the debouncer never calls ``fire`` or ``also_due`` while holding its own lock,
so an owner may call :meth:`Debouncer.note` and :meth:`Debouncer.clear` under its lock.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Protocol

log = logging.getLogger(__name__)


def debounce_due(first: float, last: float, quiet: float, max_delay: float) -> float:
    """When a debounced batch fires: ``quiet`` after the last arrival, capped by ``max_delay``
    after the first, so a steady trickle of events cannot postpone it forever."""
    return min(last + quiet, first + max_delay)


class Timing(Protocol):
    """Where a debouncer reads its window, at every check: usually its owner, whose
    ``debounce`` and ``max_delay`` attributes may then change at any time (tests,
    settings)."""

    debounce: float  # quiet seconds that end a burst
    max_delay: float  # the longest the first arrival of a burst waits


def _nothing_else() -> float | None:
    return None


class Debouncer:
    """Runs ``fire()`` on a thread named ``name`` once arrivals have gone quiet.

    The owner calls :meth:`note` for every arrival and :meth:`clear` when it takes the work
    (before reading it, so whatever arrives meanwhile opens a new window and is not lost).
    ``timing`` gives the window's lengths (see :class:`Timing`).  ``also_due()`` returns the
    clock time of other work the owner has scheduled (a retry), or None.  ``poll`` caps each
    sleep so a clock that is not wall time is still looked at.  ``fire`` should handle its
    own failures; one that escapes is logged and the batch tried again after
    ``error_pause`` seconds.
    """

    def __init__(self, fire: Callable[[], object], *, name: str, timing: Timing,
                 clock: Callable[[], float] = time.monotonic,
                 also_due: Callable[[], float | None] = _nothing_else,
                 poll: float = 1.0, error_pause: float = 1.0) -> None:
        self._fire, self.name, self._timing = fire, name, timing
        self._clock, self._also_due = clock, also_due
        self.poll, self.error_pause = poll, error_pause
        self._lock = threading.Lock()
        self._first: float | None = None  # None: no window open
        self._last = 0.0
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # -- the window --------------------------------------------------------------------

    def note(self) -> None:
        """Something arrived: open the window (or push its end out) and wake the thread."""
        now = self._clock()
        with self._lock:
            if self._first is None:
                self._first = now
            self._last = now
        self._wake.set()

    def due_now(self) -> None:
        """Make the next batch due at once (a backlog, work left by an earlier run)."""
        with self._lock:
            self._first = self._last = -math.inf
        self._wake.set()

    def clear(self) -> None:
        """The owner is taking everything that arrived so far: close the window.
        :meth:`run_due` does this before it fires; call it when taking the work directly."""
        with self._lock:
            self._first = None

    def due_in(self) -> float | None:
        """Seconds until the next batch (0 when due now); None when nothing is waiting."""
        with self._lock:
            first, last = self._first, self._last
        times = [t for t in (self._also_due(),) if t is not None]
        if first is not None:
            times.append(debounce_due(first, last, self._timing.debounce,
                                      self._timing.max_delay))
        return max(0.0, min(times) - self._clock()) if times else None

    def run_due(self) -> bool:
        """Run ``fire`` if a batch is due; True when it ran.  One step of the thread."""
        wait = self.due_in()
        if wait is None or wait > 0:
            return False
        self.clear()
        self._fire()
        return True

    # -- the thread --------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start the thread (again after :meth:`stop`); a no-op while it runs."""
        if self.running:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread: a batch in progress finishes (up to ``timeout``), none starts."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()  # before looking: a note() from now on cuts the sleep short
            try:
                if self.run_due():
                    continue
            except Exception:
                log.exception("%s: batch failed; trying again in %.0f s", self.name,
                              self.error_pause)
                if not self._stopping.wait(self.error_pause):
                    self.due_now()
                continue
            wait = self.due_in()
            self._wake.wait(self.poll if wait is None else min(wait, self.poll))
