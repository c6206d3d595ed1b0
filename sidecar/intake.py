"""Host events -> work: persisted, debounced, resolved, mapped, recorded, enqueued.

The webhook route only stores the event (:meth:`Intake.submit`) and answers 202, so
the host never waits on us and an accepted event survives a restart.  This module's
thread then takes the stored events in batches -- it waits until no event arrived for
``debounce`` seconds (at most ``max_delay``), because a season landing as 20 webhooks
should become one scan of its folder and one show job -- and for each event:

1. asks the host for the item's paths (neither host's webhook carries one);
2. maps them to Scanarr's paths; a path outside the library roots (a bad mapping, a
   ``..`` trick) is dropped with a logged reason and never scanned or written;
3. records the files (a scan of just those folders) and gives NEW movies the ids the
   host already knows (Plex ``Guid``, Jellyfin ``Provider_tmdb``), so no search is needed;
4. queues the NEW/CHANGED items at HIGH priority right away: the host imported them
   already, so the settle window that protects half-copied files does not apply.

An event the host cannot resolve yet (host down, item unknown) is retried with backoff
a few times and then dropped with its reason in the log; it never blocks other events.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sidecar.debounce import Debouncer
from sidecar.errors import HostError, OutsideRoots
from sidecar.host import HostEvent
from sidecar.hostevents import Latencies, event_of, event_payload, with_host_ids
from sidecar.hostsync import Target, outermost
from sidecar.lifecycle import Lifecycle
from sidecar.state import Item, StateStore

log = logging.getLogger(__name__)
RETRY_DELAYS = (5.0, 15.0, 60.0, 180.0)  # then the event is dropped
BATCH_LIMIT = 500
SCAN_LIMIT = 20_000
QUEUED_STATES = frozenset({Lifecycle.NEW, Lifecycle.CHANGED})


class Intake:
    """Stored host events -> recorded, queued items.  ``record(folders)`` scans folders;
    ``enqueue(items)`` queues items at HIGH; ``echo(path)`` says we just wrote there."""

    def __init__(self, store: StateStore, target: Target, *,
                 record: Callable[[Sequence[str]], None],
                 enqueue: Callable[[list[Item]], int],
                 echo: Callable[[str], bool] | None = None,
                 debounce: float = 1.0, max_delay: float = 3.0,
                 retry_delays: Sequence[float] = RETRY_DELAYS, resolvers: int = 4,
                 dedupe_seconds: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.store, self._target = store, target
        self._record, self._enqueue, self._echo = record, enqueue, echo
        self.debounce, self.max_delay = debounce, max_delay
        self.retry_delays = tuple(retry_delays)
        self._resolvers = resolvers
        self.dedupe_seconds = dedupe_seconds
        self._resolved: dict[tuple[str, str], float] = {}  # (host, item id) -> when
        self._clock = clock
        self._lock = threading.Lock()
        self._retry_at: dict[int, float] = {}  # event id -> when; only the batch touches it
        self._arrived: dict[int, float] = {}
        self._batches = Debouncer(self.process_due, name="intake", timing=self, clock=clock,
                                  also_due=self._next_retry)
        self.stats: Counter[str] = Counter()
        self.latency = Latencies()  # event stored -> its items queued

    # -- producers ---------------------------------------------------------------------

    def submit(self, event: HostEvent) -> int:
        """Persist an ``added`` event and wake the thread; returns the stored id."""
        event_id = self.store.add_event(event.host, event.item_id, event_payload(event))
        with self._lock:
            self._arrived[event_id] = self._clock()
            self.stats["submitted"] += 1
        self._batches.note()
        return event_id

    # -- the batch ----------------------------------------------------------------------

    def process_due(self) -> Counter[str]:
        """Handle every stored event that is due now (the thread calls this; tests too)."""
        self._batches.clear()
        now = self._clock()
        due = [r for r in self.store.pending_events(SCAN_LIMIT)
               if self._retry_at.get(r["id"], 0.0) <= now]
        rows = due[:BATCH_LIMIT]
        if len(due) > BATCH_LIMIT:
            self._batches.due_now()  # the rest right after this batch, without waiting for an event
        outcome: Counter[str] = Counter()
        if not rows:
            return outcome
        rows = self._coalesce(rows, outcome)
        resolved = self._resolve_all(rows, outcome)
        if resolved:
            self._act(resolved, outcome)
        with self._lock:
            self.stats.update(outcome)
        return outcome

    def _coalesce(self, rows: list[dict[str, Any]], outcome: Counter[str]) -> list[dict[str, Any]]:
        """The same item twice (Jellyfin sends ItemAdded 2-3 times), in this batch or resolved
        within ``dedupe_seconds``, is one event."""
        now = self._clock()
        self._resolved = {k: t for k, t in self._resolved.items()
                          if now - t < self.dedupe_seconds}
        seen: dict[tuple[str, str], dict[str, Any]] = {}
        for row in rows:
            key = (row["host"], row["item_id"])
            if key in seen or key in self._resolved:
                self._finish(row["id"])
                self._arrived.pop(row["id"], None)
                outcome["duplicates"] += 1
            else:
                seen[key] = row
        return list(seen.values())

    def _resolve_all(self, rows: list[dict[str, Any]],
                     outcome: Counter[str]) -> list[tuple[dict[str, Any], list[str]]]:
        """Host paths -> local paths, in parallel (each lookup is one host round trip)."""
        target = self._target()
        if target is None:
            for row in rows:
                self._failed(row, "no media server is configured", outcome)
            return []
        host, mapper = target

        def lookup(row: dict[str, Any]) -> list[str] | Exception:
            try:
                return host.resolve_paths(event_of(row))
            except Exception as exc:
                return exc

        with ThreadPoolExecutor(max(1, min(self._resolvers, len(rows)))) as pool:
            answers = list(pool.map(lookup, rows))
        resolved = []
        for row, answer in zip(rows, answers, strict=True):
            if isinstance(answer, Exception):
                self._failed(row, _describe(answer), outcome, unexpected=answer)
                continue
            local = self._map(row, answer, mapper.to_local, outcome)
            if local:
                resolved.append((row, local))
        return resolved

    def _map(self, row: dict[str, Any], host_paths: list[str], to_local: Callable[[str], str],
             outcome: Counter[str]) -> list[str]:
        local = []
        for path in host_paths:
            try:
                local.append(to_local(path))
            except OutsideRoots as exc:
                log.warning("webhook %s item %s: dropped %r: %s", row["host"], row["item_id"],
                            path, exc.problem)
                outcome["paths_outside_roots"] += 1
        if not local:
            self._finish(row["id"])
            outcome["dropped_outside_roots"] += 1
        return local

    def _act(self, resolved: list[tuple[dict[str, Any], list[str]]], outcome: Counter[str]) -> None:
        """One scan of every touched folder, then ids, then one enqueue for the batch."""
        fresh = [(row, paths) for row, paths in resolved if not self._is_echo(paths, outcome, row)]
        if not fresh:
            return
        folders = outermost(p if os.path.isdir(p) else os.path.dirname(p)
                            for _, paths in fresh for p in paths)
        try:
            self._record(folders)
        except Exception as exc:
            log.exception("recording webhook items failed")
            for row, _ in fresh:
                self._failed(row, f"scan failed: {exc}", outcome)
            return
        work: dict[str, Item] = {}
        for row, paths in fresh:
            items = self._items(row, paths, outcome)
            if items is not None:
                work.update((i.path, i) for i in items if i.state in QUEUED_STATES)
        if work:
            outcome["items_queued"] += self._enqueue(list(work.values()))

    def _is_echo(self, paths: list[str], outcome: Counter[str], row: dict[str, Any]) -> bool:
        """Every file is INDEXED and inside a folder we just wrote: the host echoing us."""
        if self._echo is None or not all(self._echo(p) for p in paths):
            return False
        items = [self.store.get(p) for p in paths]
        if not all(i is not None and i.state == Lifecycle.INDEXED for i in items):
            return False
        self._finish(row["id"])
        outcome["echoes_ignored"] += 1
        return True

    def _items(self, row: dict[str, Any], paths: list[str],
               outcome: Counter[str]) -> list[Item] | None:
        """The event's items after recording; host ids applied; None when none exist."""
        event = event_of(row)
        items = [i for p in paths for i in self._items_at(p)]
        if not items:
            self._failed(row, f"nothing to scan at {', '.join(paths)} (is path_map right?)",
                         outcome)
            return None
        items = [with_host_ids(self.store, event, item) for item in items]
        self._finish(row["id"])
        self._resolved[(row["host"], row["item_id"])] = self._clock()
        outcome["resolved"] += 1
        arrived = self._arrived.pop(row["id"], None)
        if arrived is not None:
            self.latency.add(self._clock() - arrived)
        return items

    def _items_at(self, path: str) -> list[Item]:
        item = self.store.get(path)
        if item is not None:
            return [item]
        return [i for p in self.store.paths_under(path) if (i := self.store.get(p)) is not None]

    # -- bookkeeping ------------------------------------------------------------------------

    def _finish(self, event_id: int) -> None:
        self.store.delete_event(event_id)
        self._retry_at.pop(event_id, None)

    def _failed(self, row: dict[str, Any], reason: str, outcome: Counter[str], *,
                unexpected: Exception | None = None) -> None:
        """Retry later with backoff; after the last delay, drop with the reason logged."""
        if unexpected is not None and not isinstance(unexpected, HostError):
            log.error("webhook %s item %s: unexpected %r", row["host"], row["item_id"],
                      unexpected)
        attempts = self.store.bump_event(row["id"], reason)
        if attempts > len(self.retry_delays):
            self._finish(row["id"])
            self._arrived.pop(row["id"], None)
            outcome["dropped_failed"] += 1
            log.warning("webhook %s item %s dropped after %d attempts: %s", row["host"],
                        row["item_id"], attempts, reason)
            return
        delay = self.retry_delays[attempts - 1]
        self._retry_at[row["id"]] = self._clock() + delay
        outcome["retried"] += 1
        log.info("webhook %s item %s: %s; retry in %.0f s", row["host"], row["item_id"],
                 reason, delay)

    # -- thread -----------------------------------------------------------------------------

    def _next_retry(self) -> float | None:
        return min(self._retry_at.values(), default=None)

    def wait_time(self) -> float:
        """Seconds until the next batch is due (debounce, or the earliest retry); the poll
        interval when nothing is waiting."""
        wait = self._batches.due_in()
        return self._batches.poll if wait is None else wait

    def start(self) -> None:
        """Start the thread; events stored by an earlier run are handled first."""
        if self.store.pending_events(1):
            self._batches.due_now()  # events an earlier run accepted but did not finish
        self._batches.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._batches.stop(timeout)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            stats = dict(self.stats)
        return {"pending": self.store.count_events(),
                "latency_seconds": self.latency.summary(), **stats}


def _describe(exc: Exception) -> str:
    return str(exc) or type(exc).__name__
