"""Periodic scans: the safety net behind webhooks (missed events, no Plex Pass, NFS).

Two jobs on a private ``schedule.Scheduler`` (never the module-level default, which
any imported library could also fill): a quick scan every ``scan_interval`` minutes
and the metadata refresh daily at ``refresh_time`` (local time).  Each job only asks
``run_scan(mode, trigger)`` to start a run; that call returns False when a run of the
same kind is still going, and the tick is then skipped (counted, logged) rather than
queued behind it.  Being resource-aware (slowing down during playback) is the scan
runner's job, because it feeds the work queue in batches.

With several Scanarr processes sharing a library, only one should scan: ``leader()``
is asked before each run (``sidecar.leader.Leadership.try_acquire`` when a shared
backend is configured) and a process that is not the leader skips the tick.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import schedule

log = logging.getLogger(__name__)
RunScan = Callable[[str, str], bool]
TRIGGER = "schedule"
RENEW_SECONDS = 60.0


class Scheduler:
    """Owns the ``schedule.Scheduler`` and the thread that ticks it."""

    def __init__(self, run_scan: RunScan, *, interval_minutes: int = 15,
                 refresh_time: str = "03:00", leader: Callable[[], bool] | None = None,
                 run_at_start: bool = True, tick_seconds: float = 1.0) -> None:
        self._run_scan = run_scan
        self._leader = leader
        self.run_at_start = run_at_start
        self.tick_seconds = tick_seconds
        self._sched = schedule.Scheduler()
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.stats: Counter[str] = Counter()
        self.interval_minutes, self.refresh_time = interval_minutes, refresh_time
        self.reschedule(interval_minutes, refresh_time)

    def reschedule(self, interval_minutes: int, refresh_time: str) -> None:
        """(Re)create both jobs: a settings change applies from the next tick, no restart."""
        with self._lock:
            self._sched.clear()
            self.interval_minutes, self.refresh_time = interval_minutes, refresh_time
            self._sched.every(interval_minutes).minutes.do(self.fire, "quick").tag("quick")
            self._sched.every().day.at(refresh_time).do(self.fire, "refresh").tag("refresh")
        log.info("scheduled: quick scan every %d min, refresh daily at %s",
                 interval_minutes, refresh_time)

    def fire(self, mode: str) -> bool:
        """Start one scheduled run of ``mode``; False when skipped. Never raises (a raising
        job would end the scheduler thread)."""
        try:
            if self._leader is not None and not self._leader():
                self._count(f"{mode}_not_leader")
                log.debug("scheduled %s scan skipped: another Scanarr is the leader", mode)
                return False
            started = self._run_scan(mode, TRIGGER)
        except Exception:
            log.exception("scheduled %s scan could not start", mode)
            self._count(f"{mode}_failed")
            return False
        if not started:
            self._count(f"{mode}_skipped")
            log.info("scheduled %s scan skipped: the previous one is still running", mode)
            return False
        self._count(f"{mode}_started")
        return True

    def _count(self, name: str) -> None:
        with self._lock:
            self.stats[name] += 1

    def tick(self) -> None:
        """Run the jobs that are due (the thread calls this every ``tick_seconds``)."""
        with self._lock:
            self._sched.run_pending()

    def next_runs(self) -> dict[str, str | None]:
        """ISO local times of the next quick scan and refresh, for the status page."""
        with self._lock:
            runs: dict[str, str | None] = {"quick": None, "refresh": None}
            for job in self._sched.get_jobs():
                tag = next(iter(job.tags), None)
                if tag in runs and isinstance(job.next_run, dt.datetime):
                    runs[tag] = job.next_run.isoformat(timespec="seconds")
            return runs

    def start(self) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="scheduler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        if self.run_at_start:
            self.fire("quick")
        renewed = time.monotonic()
        while not self._stopping.wait(self.tick_seconds):
            self.tick()
            if self._leader is not None and time.monotonic() - renewed >= RENEW_SECONDS:
                renewed = time.monotonic()
                self._renew()

    def _renew(self) -> None:
        """Keep the leader's lease fresh between runs (a long refresh outlives one tick)."""
        try:
            assert self._leader is not None
            self._leader()
        except Exception:
            log.exception("renewing the scheduler lease failed")

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"interval_minutes": self.interval_minutes,
                    "refresh_time": self.refresh_time, "next": self.next_runs(), **self.stats}
