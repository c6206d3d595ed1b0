"""Background scan runs for the long-lived service: walk, then feed the queue and follow it.

A run is one row in ``scan_runs`` and one thread: the walk (``Scanner.scan``) under the
service's scan lock, then the fetch phase, which puts the run's jobs on the shared work
queue and waits until the workers are through them.  At most one run per mode at a time
(a quick scan may go on while the nightly refresh is still fetching).

Resource-aware (brief sections 14 and 19): refresh and full runs that are not urgent
(anything below CRITICAL, which is what a user's click gets) feed the queue in batches of
``batch_jobs`` and ask the host for active playback sessions before each batch.  While
someone is watching, they slow to one job per ``playback_pause`` seconds instead of
competing with the stream for disk and network; webhooks and quick scans are not slowed.

A library-wide full scan cut short (a crash, ``kill -9``, a stop) is not lost: at start-up
``resume_full`` starts it again, and the items the cut-short run(s) already refreshed are
not fetched again (``interrupted_full_scan``, shared with ``scanarr scan --mode full``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sidecar.engine import full_scan_items
from sidecar.planner import Planned, plan
from sidecar.state import Item, StateStore
from sidecar.workqueue import Priority

log = logging.getLogger(__name__)
MODES = ("quick", "refresh", "full")
THROTTLED_MODES = frozenset({"refresh", "full"})
USER_TRIGGERS = frozenset({"cli", "web", "api"})  # a person asked: full runs go at CRITICAL
RESUME_TRIGGER = "resume"


class Core(Protocol):
    """What a run needs of ``sidecar.app.App`` (the service may swap it on a settings save)."""

    settings: Any
    scanner: Any
    engine: Any


@dataclass
class Run:
    mode: str
    trigger: str
    paths: tuple[str, ...]
    priority: Priority | None
    started: float = field(default_factory=time.monotonic)
    started_at: str = ""
    phase: str = "walking"
    done: int = 0
    total: int = 0
    fetch_started: float | None = None
    walked: dict[str, int] = field(default_factory=dict)
    finished: bool = False
    slowed: bool = False  # yielding to playback right now
    done_since: str | None = None  # resuming a full scan: refreshed since then means done
    run_id: int = 0

    def eta(self) -> float | None:
        if self.phase != "fetching" or not self.done or self.fetch_started is None:
            return None
        elapsed = time.monotonic() - self.fetch_started
        return round(elapsed / self.done * max(0, self.total - self.done), 1)

    def as_dict(self) -> dict[str, Any]:
        return {"running": not self.finished, "mode": self.mode, "trigger": self.trigger,
                "phase": "idle" if self.finished else self.phase, "done": self.done,
                "total": self.total, "eta_seconds": self.eta(), "started_at": self.started_at,
                "walked": dict(self.walked), "slowed_for_playback": self.slowed}


IDLE = {"running": False, "mode": None, "phase": "idle", "done": 0, "total": 0,
        "eta_seconds": None, "started_at": None}


class ScanRunner:
    """Starts runs in threads and reports their progress."""

    def __init__(self, store: StateStore, core: Callable[[], Core], scan_lock: threading.Lock,
                 *, sessions: Callable[[], int] = lambda: 0, batch_jobs: int = 20,
                 playback_pause: float = 30.0, stopping: threading.Event | None = None) -> None:
        self.store, self._core, self._scan_lock = store, core, scan_lock
        self._sessions = sessions
        self.batch_jobs, self.playback_pause = batch_jobs, playback_pause
        self._stopping = stopping or threading.Event()
        self._lock = threading.Lock()
        self._runs: dict[str, Run] = {}
        self._last: Run | None = None
        self._threads: list[threading.Thread] = []
        self.durations: dict[str, list[float]] = {m: [] for m in MODES}

    def start(self, mode: str, *, priority: Priority | None = None, paths: Sequence[str] = (),
              trigger: str = "web", done_since: str | None = None) -> bool:
        """Start a run in the background; False if one of this mode is still going.

        The run's row is written before this returns, so rows are in the order runs were
        started (``RunStore.interrupted_full_runs`` relies on it)."""
        if mode not in MODES:
            raise ValueError(f"unknown scan mode {mode!r}")
        with self._lock:
            if mode in self._runs or self._stopping.is_set():
                return False
            run = Run(mode, trigger, tuple(paths), priority, started_at=self.store.now_iso(),
                      done_since=done_since)
            run.run_id = self.store.start_run(mode, trigger=trigger, paths=run.paths)
            self._runs[mode] = self._last = run
            thread = threading.Thread(target=self._execute, args=(run,), daemon=True,
                                      name=f"scan-{mode}")
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()
        return True

    def resume_full(self) -> bool:
        """Start again the library-wide full scan that was cut short, if the last ones were;
        True when one started.  Call it at start-up, after recovery (which marks the runs a
        crash left 'running' as 'interrupted') and before anything else starts a run."""
        cut_short = self.store.interrupted_full_runs()
        if not cut_short:
            return False
        since, priority = cut_short[-1]["started_at"], resume_priority(cut_short)
        if not self.start("full", priority=priority, trigger=RESUME_TRIGGER, done_since=since):
            return False
        log.info("resuming the full scan started %s (cut short %d time(s)) at %s priority: "
                 "items it already refreshed are not fetched again",
                 since, len(cut_short), priority.name)
        return True

    def running(self, mode: str | None = None) -> bool:
        with self._lock:
            return bool(self._runs) if mode is None else mode in self._runs

    def progress(self) -> dict[str, Any]:
        with self._lock:
            current = list(self._runs.values())
            last = self._last
        if not current:
            return dict(IDLE) if last is None else {**last.as_dict(), "running": False}
        report = current[-1].as_dict()
        report["active"] = [r.as_dict() for r in current]
        return report

    def join(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        for thread in list(self._threads):
            thread.join(max(0.0, deadline - time.monotonic()))

    # -- one run ---------------------------------------------------------------------------

    def _execute(self, run: Run) -> None:
        status, counts = "done", {}
        try:
            counts = self._walk(run)
            run.phase = "fetching"
            counts.update(self._fetch(run))
            if self._stopping.is_set():
                status = "interrupted"
        except Exception:
            log.exception("%s scan failed", run.mode)
            status = "failed"
        finally:
            seconds = time.monotonic() - run.started
            self.store.finish_run(run.run_id, counts, status=status,
                                  duration_ms=int(seconds * 1000))
            self.durations[run.mode] = (self.durations[run.mode] + [seconds])[-50:]
            with self._lock:
                run.finished = True
                self._runs.pop(run.mode, None)
            log.info("%s scan %s in %.1f s: %s", run.mode, status, seconds, counts)

    def _walk(self, run: Run) -> dict[str, int]:
        def progress(counts: Any) -> None:
            run.walked = {"files": counts["files"], "dirs": counts["dirs"]}

        with self._scan_lock:
            summary = self._core().scanner.scan(run.mode, run.paths, progress=progress)
        run.walked = {"files": summary.counts["files"], "dirs": summary.counts["dirs"]}
        for error in summary.errors[:20]:
            log.warning("%s scan: %s", run.mode, error)
        return dict(summary.counts)

    def _fetch(self, run: Run) -> dict[str, int]:
        core = self._core()
        if not core.settings.has_tmdb_key:
            return {"fetch_waiting_for_key": len(self._work(run, core))}
        jobs = plan(self._work(run, core), run.priority)
        run.total = sum(len(job.paths) for job in jobs)
        run.fetch_started = time.monotonic()
        force = run.mode == "full"
        while jobs and not self._stopping.is_set():
            batch, jobs = self._next_batch(run, jobs)
            self._feed(batch, force)
            self._follow(run)
        if not self._stopping.is_set():
            run.done = run.total
        return {"fetch_items": run.total}

    def _work(self, run: Run, core: Core) -> list[Item]:
        """The items this run queues: everything present (full) or what is work now."""
        if run.mode == "full":
            items = full_scan_items(self.store, run.done_since)
        else:
            items = self.store.work(settle_before_ns=core.scanner.settle_before_ns())
        if run.paths:
            items = [i for i in items if any(_inside(i.path, p) for p in run.paths)]
        return items

    def _next_batch(self, run: Run, jobs: list[Planned]) -> tuple[list[Planned], list[Planned]]:
        """All jobs at once, unless this run yields to playback (see module doc)."""
        throttled = run.mode in THROTTLED_MODES and run.priority != Priority.CRITICAL
        if not throttled:
            return jobs, []
        size = self.batch_jobs
        if self._sessions_active():
            run.slowed = True
            size = 1
            self._stopping.wait(self.playback_pause)
        else:
            run.slowed = False
        return jobs[:size], jobs[size:]

    def _sessions_active(self) -> bool:
        try:
            return self._sessions() > 0
        except Exception as exc:
            log.debug("session count unavailable: %s", exc)
            return False

    def _feed(self, batch: list[Planned], force: bool) -> None:
        queue = self._core().engine.queue
        for job in batch:
            queue.put(job.kind, job.key, job.paths, job.priority, force=force)

    def _follow(self, run: Run) -> None:
        """Wait until the queue drained (or we stop), counting the run's items as they go."""
        engine = self._core().engine
        base = engine.worker.items_done
        start_done = run.done
        while not self._stopping.is_set():
            current = self._core().engine
            if current is not engine:  # settings swapped the engine: count from its worker
                engine, base, start_done = current, current.worker.items_done, run.done
            run.done = min(run.total, start_done + engine.worker.items_done - base)
            if engine.wait_idle(timeout=0.25):
                run.done = min(run.total, start_done + engine.worker.items_done - base)
                return


def interrupted_full_scan(store: StateStore) -> str | None:
    """When the last library-wide full scans were cut short, when the first of them
    started (items refreshed since then are done); else None."""
    cut_short = store.interrupted_full_runs()
    return cut_short[-1]["started_at"] if cut_short else None


def resume_priority(cut_short: Sequence[dict[str, Any]]) -> Priority:
    """The priority the cut-short full scan had: CRITICAL when a person started it (the
    page, the API and the CLI all start full scans at CRITICAL); otherwise VERY_LOW, the
    background level, which also yields to playback.  That is the safe side for a run
    nobody is waiting for: a resumed run must not push ahead of webhooks and new files."""
    if any(run["trigger"] in USER_TRIGGERS for run in cut_short):
        return Priority.CRITICAL
    return Priority.VERY_LOW


def _inside(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix.rstrip("/") + "/")
