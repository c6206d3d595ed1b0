"""The worker pool: threads that take jobs from the queue and hand them to ``Worker``.

It also feeds the queue from the state table (the queue is never the source of truth)
and stops cleanly: on shutdown no new job starts, running jobs finish, and whatever was
claimed but not finished is released, so nothing is left in PROCESSING.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

from sidecar.lifecycle import Lifecycle
from sidecar.planner import plan
from sidecar.state import Item, StateStore
from sidecar.worker import Worker
from sidecar.workqueue import Job, Priority, WorkQueue

log = logging.getLogger(__name__)


def full_scan_items(store: StateStore, done_since: str | None = None) -> list[Item]:
    """What a full scan refetches: every item present and not already in a worker's hands.
    Resuming one that was cut short, ``done_since`` is when it started: items it already
    refreshed (INDEXED with metadata written since then) are left out.  One definition for
    the CLI (``Engine.enqueue_all``) and the service's runs (``sidecar.scanrun``)."""
    return [i for i in store.iter_items()
            if i.state not in (Lifecycle.MISSING, Lifecycle.PROCESSING)
            and not (done_since and i.state == Lifecycle.INDEXED
                     and (i.metadata_updated_at or "") >= done_since)]


class Engine:
    """Queue + workers. ``enqueue_*`` may be called from any thread (scans, webhooks)."""

    def __init__(self, store: StateStore, worker: Worker, queue: WorkQueue, *, size: int = 2,
                 settle_before_ns: Callable[[], int] = lambda: time.time_ns()) -> None:
        self.store, self.worker, self.queue = store, worker, queue
        self.size = size
        self.settle_before_ns = settle_before_ns
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._busy = 0
        self._idle = threading.Condition()

    # -- feeding ---------------------------------------------------------------------------

    def enqueue_items(self, items: Iterable[Item], priority: Priority | None = None, *,
                      force: bool = False) -> int:
        """Queue jobs for ``items`` (grouped per show / per movie); returns the items queued."""
        queued = 0
        for job in plan(items, priority):
            self.queue.put(job.kind, job.key, job.paths, job.priority, force=force)
            queued += len(job.paths)
        return queued

    def enqueue_pending(self, *, states: Iterable[Lifecycle] | None = None,
                        priority: Priority | None = None) -> int:
        """Queue every settled item that is work now (start-up, after a scan)."""
        settled = self.settle_before_ns()
        items = (self.store.work(settle_before_ns=settled) if states is None
                 else self.store.work(settle_before_ns=settled, states=states))
        return self.enqueue_items(items, priority)

    def enqueue_all(self, priority: Priority = Priority.VERY_LOW, *,
                    done_since: str | None = None) -> int:
        """Full scan: everything present, refetched and rewritten.  Resuming a full scan
        that was cut short, ``done_since`` is when it started: items it already refreshed
        (INDEXED with metadata written since then) are not fetched again."""
        return self.enqueue_items(full_scan_items(self.store, done_since), priority, force=True)

    # -- running ----------------------------------------------------------------------------

    def start(self) -> None:
        self._stopping.clear()
        for number in range(self.size):
            thread = threading.Thread(target=self._run, name=f"worker-{number}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def _run(self) -> None:
        while not self._stopping.is_set():
            job = self.queue.get(timeout=0.5)
            if job is None:
                continue
            self._set_busy(+1)
            try:
                self._process(job)
            finally:
                self.queue.done(job)
                self._set_busy(-1)

    def _process(self, job: Job) -> None:
        if self._stopping.is_set():
            return
        self.worker.process(job)
        if self.worker.auth_error:
            self.queue.pause()

    def _set_busy(self, delta: int) -> None:
        with self._idle:
            self._busy += delta
            self._idle.notify_all()

    def idle(self) -> bool:
        """Nothing queued and nothing in flight (a job is in flight from the moment it leaves
        the queue), or fetching is stopped by an auth error."""
        if self.worker.auth_error is not None:
            return self._busy == 0
        return len(self.queue) == 0 and self.queue.in_flight() == 0

    def wait_idle(self, timeout: float | None = None,
                  tick: Callable[[], None] | None = None) -> bool:
        """Block until the queue is empty and no job runs (or fetching is paused)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._idle:
            while not self.idle():
                if deadline is not None and time.monotonic() >= deadline:
                    return False
                self._idle.wait(0.25)
                if tick:
                    tick()
        return True

    def stop(self, timeout: float = 30.0) -> int:
        """Stop taking work, let running jobs finish, release what this engine still holds.

        Only its own claims: another process on the same database (a ``scanarr scan`` next
        to ``serve``) keeps its in-flight items.  Returns the items released."""
        self._stopping.set()
        self.queue.close()
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()
        held = self.worker.claimed()
        for path in held:
            self.store.release(path)
        if held:
            log.info("released %d unfinished item(s) on shutdown", len(held))
        return len(held)

    def resume_fetching(self) -> None:
        """After the key was fixed: clear the auth stop and take work again -- including
        the items that were released while the key was refused (they left the queue)."""
        self.worker.auth_error = None
        self.worker.client.reset_auth()
        self.queue.resume()
        self.enqueue_pending()
