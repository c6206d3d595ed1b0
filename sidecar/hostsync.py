"""Ask the media server to pick up what Scanarr wrote: debounced, batched, never blocking.

The worker calls :meth:`HostSync.add` with the folders of every job it finished.  A
burst of jobs (a season, a new library) would otherwise become one partial scan per
job, so folders are collected until nothing new arrived for ``debounce`` seconds (at
most ``max_delay`` after the first), collapsed to the outermost folders (the show
folder covers its season folders), mapped to the host's paths and sent as ONE
``Host.refresh`` call.  A host that is down is logged and the batch retried a couple of
times; scanning never waits for it, and the host's own periodic scan catches up if
every retry fails.

It also remembers which folders it just refreshed: the host reacts to our own writes
(Jellyfin's realtime monitor, Plex "scan on change"; research section 7.9), and intake
uses :meth:`HostSync.recently_written` to ignore those echoes.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from sidecar.debounce import Debouncer
from sidecar.errors import ScanarrError
from sidecar.host import Host
from sidecar.pathmap import PathMapper

log = logging.getLogger(__name__)

Target = Callable[[], "tuple[Host, PathMapper] | None"]


def within(path: str, folder: str) -> bool:
    """``path`` is ``folder`` or inside it (whole components: /tv is not /tvshows)."""
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def outermost(folders: Iterable[str]) -> list[str]:
    """Drop folders inside another folder of the batch; order of first appearance kept."""
    unique = list(dict.fromkeys(os.path.normpath(f) for f in folders if f))
    return [f for f in unique if not any(o != f and within(f, o) for o in unique)]


class HostSync:
    """Collects written folders and refreshes them on the host in batches.

    ``target()`` returns the current ``(host, mapper)`` or None when no host is
    configured (then batches are simply dropped); it is called per batch so a host
    changed on the settings page is used from the next batch on.
    """

    def __init__(self, target: Target, *, debounce: float = 5.0, max_delay: float = 30.0,
                 retries: int = 2, echo_seconds: float = 300.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._target = target
        self.debounce, self.max_delay = debounce, max_delay
        self.retries, self.echo_seconds = retries, echo_seconds
        self._clock = clock
        self._lock = threading.Lock()  # taken before the debouncer's, never after
        self._pending: dict[str, None] = {}  # the debouncer's window is open iff this is not empty
        self._attempts: dict[str, int] = {}
        self._recent: dict[str, float] = {}
        self._batches = Debouncer(self.flush, name="hostsync", timing=self, clock=clock)
        self.stats: Counter[str] = Counter()

    # -- producers ---------------------------------------------------------------------

    def add(self, folders: Iterable[str]) -> None:
        """The worker's ``notify`` callback: cheap, never blocks on the host."""
        with self._lock:
            for folder in folders:
                self._pending[os.path.normpath(folder)] = None
            if self._pending:
                self._batches.note()

    def recently_written(self, path: str) -> bool:
        """True when ``path`` lies in a folder we refreshed in the last ``echo_seconds``."""
        now = self._clock()
        with self._lock:
            return any(within(path, folder) and now - when < self.echo_seconds
                       for folder, when in self._recent.items())

    # -- flushing ------------------------------------------------------------------------

    def due_in(self) -> float | None:
        """Seconds until the pending batch should be sent; None when nothing is pending."""
        return self._batches.due_in()

    def flush(self) -> int:
        """Send everything pending now as one refresh; returns the folders sent."""
        with self._lock:
            batch = outermost(self._pending)
            self._pending.clear()
            self._batches.clear()
        if not batch:
            return 0
        target = self._target()
        if target is None:
            self._count(dropped_no_host=len(batch))
            return 0
        host, mapper = target
        try:
            host.refresh([mapper.to_host(folder) for folder in batch])
        except Exception as exc:
            self._failed(batch, exc)
            return 0
        self._succeeded(batch)
        return len(batch)

    def _succeeded(self, batch: list[str]) -> None:
        now = self._clock()
        with self._lock:
            for folder in batch:
                self._attempts.pop(folder, None)
                self._recent[folder] = now
            self._recent = {f: t for f, t in self._recent.items()
                            if now - t < self.echo_seconds}
        self._count(refresh_calls=1, folders_refreshed=len(batch))
        log.info("asked the host to rescan %d folder(s)", len(batch))

    def _failed(self, batch: list[str], exc: Exception) -> None:
        """Log, and put the batch back for a later try unless it failed too often."""
        level = logging.WARNING if isinstance(exc, ScanarrError) else logging.ERROR
        log.log(level, "host refresh of %d folder(s) failed: %s", len(batch), exc)
        self._count(refresh_failures=1)
        retry = []
        with self._lock:
            for folder in batch:
                attempts = self._attempts.get(folder, 0) + 1
                if attempts > self.retries:
                    self._attempts.pop(folder, None)
                    self.stats["folders_dropped"] += 1
                else:
                    self._attempts[folder] = attempts
                    retry.append(folder)
        if retry:
            self.add(retry)
        elif batch:
            log.warning("gave up asking the host to rescan %s (its own scan will catch up)",
                        ", ".join(batch[:3]) + (" ..." if len(batch) > 3 else ""))

    # -- thread ---------------------------------------------------------------------------

    def start(self) -> None:
        self._batches.start()

    def stop(self, *, flush: bool = True, timeout: float = 10.0) -> None:
        """Stop the thread; with ``flush`` the last batch is sent once (best effort)."""
        self._batches.stop(timeout)
        if flush:
            self.flush()

    def _count(self, **deltas: int) -> None:
        with self._lock:
            self.stats.update(deltas)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"pending_folders": len(self._pending), **self.stats}
