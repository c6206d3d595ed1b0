"""AgingQueue: per-level ordering, aging rank, lazy deletion and compaction."""

from __future__ import annotations

import pytest

from sidecar import agingqueue
from sidecar.agingqueue import AgingQueue


def pops(q: AgingQueue[str, str], now: float = 0.0) -> list[str]:
    out = []
    while q:
        out.append(q.pop(now)[0])
    return out


def test_level_then_arrival() -> None:
    q: AgingQueue[str, str] = AgingQueue(3, aging_seconds=10)
    q.push("b1", "B1", 1, 0.0)
    q.push("a", "A", 0, 5.0)
    q.push("b2", "B2", 1, 0.0)  # same instant: arrival order decides
    q.push("c", "C", 2, 1.0)
    assert pops(q, now=5.0) == ["a", "b1", "b2", "c"]


def test_ordered_by_enqueue_time_not_push_order() -> None:
    """A follow-up released late keeps the time it started waiting."""
    q: AgingQueue[str, str] = AgingQueue(2, aging_seconds=100)
    q.push("late", "", 1, 5.0)
    q.push("early", "", 1, 1.0)
    assert pops(q, now=6.0) == ["early", "late"]


def test_effective_level() -> None:
    q: AgingQueue[str, str] = AgingQueue(5, aging_seconds=10)
    assert q.effective(3, 0.0, 9.9) == 3
    assert q.effective(3, 0.0, 10.0) == 2
    assert q.effective(3, 0.0, 1e9) == 0
    assert q.effective(3, 50.0, 0.0) == 3  # clock behind: never worse than nominal


def test_aged_item_wins_but_ties_go_to_nominal_level() -> None:
    q: AgingQueue[str, str] = AgingQueue(4, aging_seconds=10)
    q.push("old", "", 3, 0.0)
    q.push("fresh", "", 1, 20.0)
    assert q.pop(20.0)[0] == "fresh"  # old is effective 1: tie, nominal 1 wins
    q.push("fresh2", "", 1, 30.0)
    assert q.pop(30.0)[0] == "old"    # old is effective 0 now


def test_promote_keeps_place_and_counts() -> None:
    q: AgingQueue[str, int] = AgingQueue(3, aging_seconds=1e9)
    q.push("x", 1, 1, 0.0)
    q.push("y", 2, 2, 1.0)
    q.promote("y", 1)
    q.promote("y", 2)  # never demoted
    assert q.depth() == [0, 2, 0]
    assert q.pop(2.0) == ("x", 1, 1)
    assert q.pop(2.0) == ("y", 2, 1)
    with pytest.raises(IndexError):
        q.pop(2.0)


def test_remove_and_errors() -> None:
    q: AgingQueue[str, str] = AgingQueue(2, aging_seconds=1)
    q.push("x", "X", 0, 0.0)
    with pytest.raises(KeyError):
        q.push("x", "X", 0, 0.0)
    with pytest.raises(ValueError):
        q.push("y", "Y", 2, 0.0)
    assert q.remove("x") == "X"
    assert "x" not in q and len(q) == 0 and q.oldest_wait(5.0) == 0.0
    with pytest.raises(ValueError):
        AgingQueue(0, 1.0)


def test_stale_copies_are_compacted() -> None:
    q: AgingQueue[int, int] = AgingQueue(5, aging_seconds=1e9)
    n = 3 * agingqueue.MIN_COMPACT
    for i in range(n):
        q.push(i, i, 4, float(i))
    for level in (3, 2, 1, 0):
        for i in range(n):
            q.promote(i, level)
    assert sum(len(h) for h in q._heaps) <= 2 * n + agingqueue.MIN_COMPACT + 1
    assert q.oldest_wait(float(n)) == n
    assert [q.pop(0.0)[0] for _ in range(n)] == list(range(n))
