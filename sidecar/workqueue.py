"""The work queue between the scanner and the workers: dedup, priorities, aging (brief §4).

Why it has this shape:

* **One fetch per show.**  Jobs are keyed; ``("tv", show_dir)`` gathers every waiting
  episode of a show, so 200 new episodes put one by one become ONE job with 200 paths.
  A put for a key that is already queued merges into it and keeps its place in line.
* **Never one key fetched twice at once.**  While a key is in flight, paths that arrive
  for it wait in a *follow-up* job, queued when the worker calls :meth:`WorkQueue.done`.
* **A path belongs to at most one job** (queued, follow-up or in flight), whatever the
  key.  A put never leaves a path's work less urgent or less forced than it asked for: a
  duplicate path raises the priority (and ``force``) of the job that already holds it.
* **No starvation.**  Effective priority improves one level per ``aging_seconds`` waited.
  Ties go to the better *nominal* level, so a fresh CRITICAL (someone clicked "scan")
  still beats LOW work that has aged all the way up.
* **Cheap at 100k jobs.**  Ordering lives in :mod:`sidecar.agingqueue` (one heap per
  level, lazy deletion): ``get`` compares five heads, never scans the queue.

Nothing here is worth persisting: after a restart the queue is refilled from the state
store, so the module does no I/O and only the clock is injected.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Literal

from sidecar.agingqueue import AgingQueue

log = logging.getLogger(__name__)

Clock = Callable[[], float]
Kind = Literal["movie", "tv"]
Key = tuple[str, str]
KINDS: frozenset[str] = frozenset({"movie", "tv"})


class Priority(IntEnum):
    """Lower is more urgent (brief §4.2)."""

    CRITICAL = 0  # user-initiated scan
    HIGH = 1      # new files, no metadata yet
    MEDIUM = 2    # changed files
    LOW = 3       # stale metadata
    VERY_LOW = 4  # background full refresh


@dataclass(frozen=True)
class Job:
    """A unit of TMDB work handed to a worker.

    A movie job is usually one file (several for multi-part or multi-version movies); a
    show job holds every waiting episode file of one show, so the show is fetched once.
    ``force`` (full scan) means refetch and rewrite even items already INDEXED.
    """

    key: Key
    kind: Kind
    paths: frozenset[str]
    priority: Priority
    force: bool = False


@dataclass(eq=False)
class _Entry:
    """A job still waiting: mutable, because puts merge paths and raise its priority."""

    key: Key
    kind: Kind
    paths: set[str]
    level: Priority
    force: bool
    enqueued_at: float  # injected clock; a merge keeps it, so merged work keeps its place

    def to_job(self) -> Job:
        return Job(self.key, self.kind, frozenset(self.paths), self.level, self.force)


class WorkQueue:
    """Thread-safe deduplicating priority queue with aging and in-flight tracking.

    ``clock`` only measures waiting for aging (monotonic seconds); blocking uses real time.
    """

    def __init__(self, *, clock: Clock = time.monotonic, aging_seconds: float = 300.0) -> None:
        self._clock = clock
        self._queue: AgingQueue[Key, _Entry] = AgingQueue(len(Priority), aging_seconds)
        self._lock = threading.Lock()
        self._ready = threading.Condition(self._lock)  # getters wait here
        self._idle = threading.Condition(self._lock)   # wait_idle() waits here
        self._followups: dict[Key, _Entry] = {}
        self._in_flight: dict[Key, Job] = {}
        self._owner: dict[str, Key] = {}  # path -> key of the job holding it
        self._waiting = 0
        self._paused = False
        self._closed = False
        self._stats = dict.fromkeys(
            ("puts", "jobs_created", "merged", "duplicate_paths", "delivered", "completed",
             "discarded_paths"), 0)

    # -- producers ---------------------------------------------------------------------

    def put(self, kind: Kind, key: Key, paths: Iterable[str], priority: Priority, *,
            force: bool = False) -> bool:
        """Queue work for ``paths``; True only when a new job (or follow-up) was created.

        Paths already held by any job are not added again; that job is raised to
        ``priority`` instead.  A put for a queued key merges into it (False).  A put for a
        key in flight goes to the key's follow-up job.  After :meth:`close` puts are
        ignored (False): the state store still knows the work.
        """
        if isinstance(paths, str):
            raise TypeError("paths must be an iterable of paths, not one str")
        if kind not in KINDS:
            raise ValueError(f"kind must be 'movie' or 'tv', got {kind!r}")
        priority = Priority(priority)
        with self._lock:
            if self._closed:
                return False
            self._stats["puts"] += 1
            self._check_kind(key, kind)
            fresh = self._unowned(paths, priority, force)
            target = self._queue.get(key) or self._followups.get(key)
            if target is not None:
                self._adopt(target, fresh)
                self._raise(target, priority, force)
                self._stats["merged"] += 1
                return False
            if not fresh:
                return False
            entry = _Entry(key, kind, set(), priority, force, self._clock())
            self._adopt(entry, fresh)
            self._stats["jobs_created"] += 1
            if key in self._in_flight:
                self._followups[key] = entry
                log.debug("%s is in flight: %d path(s) wait as a follow-up", key, len(fresh))
            else:
                self._enqueue(entry)
            return True

    def discard_paths(self, paths: Iterable[str]) -> int:
        """Drop waiting paths (the file went MISSING); return how many were dropped.

        Paths in flight are left alone (the worker finds them gone); a job left with no
        paths disappears.
        """
        dropped = 0
        with self._lock:
            for path in paths:
                entry = self._waiting_entry(path)
                if entry is None:
                    continue
                entry.paths.discard(path)
                del self._owner[path]
                dropped += 1
                if not entry.paths:
                    self._drop(entry)
            self._stats["discarded_paths"] += dropped
            self._notify_if_idle()
        return dropped

    # -- consumers ---------------------------------------------------------------------

    def get(self, timeout: float | None = None) -> Job | None:
        """The most urgent job, marked in flight; None on timeout or once closed.

        Blocks while the queue is empty or paused.  ``timeout=0`` never blocks.
        """
        with self._lock:
            self._waiting += 1
            try:
                self._ready.wait_for(self._can_get, timeout)
            finally:
                self._waiting -= 1
            if self._closed or not self._can_get():
                return None
            job = self._queue.pop(self._clock())[1].to_job()
            self._in_flight[job.key] = job
            self._stats["delivered"] += 1
            return job

    def done(self, job: Job) -> None:
        """Finish ``job`` (success or failure alike): its paths may be queued again and
        its follow-up, if any, joins the queue.  Raises ValueError if it is not in flight."""
        with self._lock:
            if self._in_flight.get(job.key) != job:
                raise ValueError(f"job {job.key} is not in flight")
            del self._in_flight[job.key]
            for path in job.paths:
                if self._owner.get(path) == job.key:
                    del self._owner[path]
            followup = self._followups.pop(job.key, None)
            if followup is not None:
                self._enqueue(followup)
            self._stats["completed"] += 1
            self._notify_if_idle()

    # -- control -----------------------------------------------------------------------

    def pause(self) -> None:
        """Hold all jobs (TMDB auth failed, or a 429 pause): get() blocks, puts still merge."""
        with self._lock:
            self._paused = True

    def resume(self) -> None:
        with self._lock:
            self._paused = False
            self._ready.notify_all()

    def close(self) -> None:
        """Shut down: every getter wakes with None, and get() returns None from now on."""
        with self._lock:
            self._closed = True
            self._ready.notify_all()
            self._idle.notify_all()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until nothing is queued or in flight (a one-shot scan is finished).

        Returns False on timeout, or when the queue was closed before it drained.
        """
        with self._lock:
            self._idle.wait_for(lambda: self._closed or self._is_idle(), timeout)
            return self._is_idle()

    # -- introspection -----------------------------------------------------------------

    def __len__(self) -> int:
        """Jobs waiting to be handed out (follow-ups not included: they wait on a worker)."""
        with self._lock:
            return len(self._queue)

    def in_flight(self) -> int:
        with self._lock:
            return len(self._in_flight)

    def depth_by_priority(self) -> dict[str, int]:
        """Queued jobs per nominal priority name, every level present."""
        with self._lock:
            return self._depth()

    def snapshot(self) -> dict[str, Any]:
        """Everything the status page and /metrics show, read in one consistent moment."""
        with self._lock:
            flying = sum(len(job.paths) for job in self._in_flight.values())
            following = sum(len(entry.paths) for entry in self._followups.values())
            return {
                "queued": len(self._queue),
                "queued_paths": len(self._owner) - flying - following,
                "in_flight": len(self._in_flight),
                "in_flight_paths": flying,
                "follow_ups": len(self._followups),
                "follow_up_paths": following,
                "by_priority": self._depth(),
                "oldest_wait_seconds": self._queue.oldest_wait(self._clock()),
                "waiting_getters": self._waiting,
                "paused": self._paused,
                "closed": self._closed,
                **self._stats,
            }

    # -- internals (caller holds the lock) -----------------------------------------------

    def _check_kind(self, key: Key, kind: str) -> None:
        held = self._queue.get(key) or self._followups.get(key) or self._in_flight.get(key)
        if held is not None and held.kind != kind:
            raise ValueError(f"key {key} is already queued as {held.kind!r}, not {kind!r}")

    def _unowned(self, paths: Iterable[str], priority: Priority, force: bool) -> list[str]:
        """Paths no job holds yet; the waiting jobs that hold the others are raised."""
        fresh: dict[str, None] = {}  # ordered set: a path listed twice counts once
        for path in paths:
            if path not in self._owner:
                fresh[path] = None
                continue
            self._stats["duplicate_paths"] += 1
            holder = self._waiting_entry(path)
            if holder is not None:
                self._raise(holder, priority, force)
        return list(fresh)

    def _adopt(self, entry: _Entry, paths: list[str]) -> None:
        entry.paths.update(paths)
        for path in paths:
            self._owner[path] = entry.key

    def _waiting_entry(self, path: str) -> _Entry | None:
        """The queued or follow-up job holding ``path``; None if unheld or in flight."""
        key = self._owner.get(path)
        if key is None:
            return None
        for entry in (self._queue.get(key), self._followups.get(key)):
            if entry is not None and path in entry.paths:
                return entry
        return None

    def _raise(self, entry: _Entry, priority: Priority, force: bool) -> None:
        """Make ``entry`` at least as urgent and forced as asked; it keeps its arrival."""
        entry.force = entry.force or force
        if priority < entry.level:
            entry.level = priority
            if self._queue.get(entry.key) is entry:
                self._queue.promote(entry.key, priority)

    def _enqueue(self, entry: _Entry) -> None:
        self._queue.push(entry.key, entry, entry.level, entry.enqueued_at)
        self._ready.notify()

    def _drop(self, entry: _Entry) -> None:
        if self._followups.get(entry.key) is entry:
            del self._followups[entry.key]
        else:
            self._queue.remove(entry.key)

    def _depth(self) -> dict[str, int]:
        counts = self._queue.depth()
        return {level.name: counts[level] for level in Priority}

    def _can_get(self) -> bool:
        return self._closed or (not self._paused and bool(self._queue))

    def _is_idle(self) -> bool:
        return not self._queue and not self._in_flight

    def _notify_if_idle(self) -> None:
        if self._is_idle():
            self._idle.notify_all()
