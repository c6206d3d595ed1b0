"""Ordering for the work queue: priority levels, FIFO within a level, and aging.

Split from ``workqueue.py`` so the ordering can be read (and tested) apart from dedup,
follow-ups and locking.  Not thread-safe on its own: :class:`~sidecar.workqueue.WorkQueue`
holds its lock around every call.

Rank of an item at time ``now``: ``(effective, level, enqueued_at, arrival)`` with
``effective = max(0, level - waited // aging_seconds)``, smallest first.  Keeping one heap
per level ordered by ``(enqueued_at, arrival)`` makes each heap's head the oldest item of
its level, so it has the best effective level of that heap too: the best item overall is
among the heads, and :meth:`AgingQueue.pop` compares ``levels`` heads instead of scanning
100k items.  Moving an item to a more urgent level pushes it onto that heap and leaves a
stale copy behind (lazy deletion); stale copies are dropped when they reach a head, and
all heaps are rebuilt once stale copies outnumber live items, so memory stays O(live).
"""

from __future__ import annotations

import heapq
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
MIN_COMPACT = 1024  # never rebuild the heaps for fewer stale copies than this


@dataclass(eq=False, slots=True)
class _Slot(Generic[K, V]):
    key: K
    value: V
    level: int
    enqueued_at: float
    arrival: int


_HeapItem = tuple[float, int, _Slot[K, V]]  # (enqueued_at, arrival, slot): never ties


class AgingQueue(Generic[K, V]):
    """Items by key, handed out most urgent first; waiting makes an item more urgent."""

    def __init__(self, levels: int, aging_seconds: float) -> None:
        if levels < 1 or not aging_seconds > 0:
            raise ValueError(f"need levels >= 1 and aging_seconds > 0, got {levels}, "
                             f"{aging_seconds}")
        self.aging_seconds = aging_seconds
        self._heaps: list[list[_HeapItem[K, V]]] = [[] for _ in range(levels)]
        self._depth = [0] * levels
        self._slots: dict[K, _Slot[K, V]] = {}
        self._arrivals = 0
        self._stale = 0

    def __len__(self) -> int:
        return len(self._slots)

    def __contains__(self, key: object) -> bool:
        return key in self._slots

    def get(self, key: K) -> V | None:
        slot = self._slots.get(key)
        return None if slot is None else slot.value

    def push(self, key: K, value: V, level: int, enqueued_at: float) -> None:
        """Add a new item; ``enqueued_at`` (injected clock) is when it started waiting."""
        if key in self._slots:
            raise KeyError(f"{key!r} is already queued")
        self._arrivals += 1
        slot = _Slot(key, value, self._check(level), enqueued_at, self._arrivals)
        self._slots[key] = slot
        self._depth[level] += 1
        heapq.heappush(self._heaps[level], (enqueued_at, slot.arrival, slot))

    def promote(self, key: K, level: int) -> None:
        """Move an item to a more urgent level, keeping its place in line (no-op otherwise)."""
        slot = self._slots[key]
        if self._check(level) >= slot.level:
            return
        self._depth[slot.level] -= 1
        self._depth[level] += 1
        slot.level = level
        heapq.heappush(self._heaps[level], (slot.enqueued_at, slot.arrival, slot))
        self._mark_stale()

    def remove(self, key: K) -> V:
        slot = self._slots.pop(key)
        self._depth[slot.level] -= 1
        self._mark_stale()
        return slot.value

    def pop(self, now: float) -> tuple[K, V, int]:
        """Take the best-ranked item: ``(key, value, nominal level)``.  IndexError if empty."""
        best: tuple[int, int, float, int] | None = None
        for level in range(len(self._heaps)):
            head = self._head(level)
            if head is not None:
                rank = (self.effective(head.level, head.enqueued_at, now), level,
                        head.enqueued_at, head.arrival)
                best = rank if best is None or rank < best else best
        if best is None:
            raise IndexError("pop from an empty AgingQueue")
        slot = heapq.heappop(self._heaps[best[1]])[2]
        del self._slots[slot.key]
        self._depth[slot.level] -= 1
        return slot.key, slot.value, slot.level

    def effective(self, level: int, enqueued_at: float, now: float) -> int:
        """One level better per ``aging_seconds`` waited, never better than level 0."""
        waited = max(0.0, now - enqueued_at)
        return max(0, level - int(waited // self.aging_seconds))

    def depth(self) -> list[int]:
        """Items per nominal level."""
        return list(self._depth)

    def oldest_wait(self, now: float) -> float:
        """Seconds the longest-waiting item has waited (0.0 when empty)."""
        heads = [h for h in map(self._head, range(len(self._heaps))) if h is not None]
        return max((now - h.enqueued_at for h in heads), default=0.0)

    def _check(self, level: int) -> int:
        if not 0 <= level < len(self._heaps):
            raise ValueError(f"level {level} outside 0..{len(self._heaps) - 1}")
        return level

    def _head(self, level: int) -> _Slot[K, V] | None:
        """The oldest live item of ``level``, dropping stale copies off the top."""
        heap = self._heaps[level]
        while heap:
            slot = heap[0][2]
            if slot.level == level and self._slots.get(slot.key) is slot:
                return slot
            heapq.heappop(heap)
            self._stale -= 1
        return None

    def _mark_stale(self) -> None:
        """Count a dead heap copy; rebuild the heaps once the dead outnumber the living."""
        self._stale += 1
        if self._stale > MIN_COMPACT and self._stale > len(self._slots):
            heaps: list[list[_HeapItem[K, V]]] = [[] for _ in self._heaps]
            for slot in self._slots.values():
                heaps[slot.level].append((slot.enqueued_at, slot.arrival, slot))
            for heap in heaps:
                heapq.heapify(heap)
            self._heaps, self._stale = heaps, 0
