"""A hand-driven monotonic clock for code that takes ``clock=`` (and ``sleep=``).

Time moves only when the test advances it or the code under test sleeps, so rate limits,
back-offs, leases, debounces and queue ageing are tested instantly and never flake.
"""

from __future__ import annotations

import threading


class FakeClock:
    """``clock()`` reads it; ``advance`` (or ``now += ...``) and ``sleep`` move it.

    Safe across threads.  It remembers, per thread, the last value it handed out: inside a
    limiter's ``acquire`` the last clock read is the one the grant was decided on, i.e. the
    request's start time (``last_read``).  ``sleeps`` lists every wait asked for.
    """

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self._lock = threading.Lock()
        self._local = threading.local()

    def __call__(self) -> float:
        with self._lock:
            self._local.last = self.now
            return self.now

    @property
    def last_read(self) -> float:
        return float(self._local.last)

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds
