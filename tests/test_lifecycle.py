"""The lifecycle: the transition table pinned, every one of the 49 moves tried through the
store, the birth states, and the timing rules (retry cooldown, refresh ages, dates)."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

import pytest

from sidecar import lifecycle
from sidecar.errors import IllegalTransition
from sidecar.lifecycle import ALLOWED, CLAIMABLE, INITIAL, PRESENT, Lifecycle
from sidecar.state import TABLE, StateStore
from tests.corekit import new_store

L = Lifecycle
# The spec, written out once more on purpose: changing the table in lifecycle.py must be a
# deliberate act that also changes this test.
EXPECTED: dict[Lifecycle, set[Lifecycle]] = {
    L.NEW: {L.PROCESSING, L.INDEXED, L.ERROR, L.MISSING, L.CHANGED},
    L.PROCESSING: {L.INDEXED, L.ERROR, L.NEW, L.CHANGED, L.STALE, L.MISSING},
    L.INDEXED: {L.PROCESSING, L.STALE, L.CHANGED, L.MISSING},
    L.STALE: {L.PROCESSING, L.CHANGED, L.MISSING, L.INDEXED},
    L.CHANGED: {L.PROCESSING, L.MISSING, L.ERROR, L.INDEXED},
    L.MISSING: {L.NEW, L.CHANGED},
    L.ERROR: {L.PROCESSING, L.CHANGED, L.MISSING, L.NEW},
}
PAIRS = list(itertools.product(Lifecycle, Lifecycle))
PATH = "/lib/Movies/Heat (1995)/Heat (1995).mkv"


@pytest.fixture
def store(tmp_path: Path) -> StateStore:
    return new_store(tmp_path / "state.db")


def force_state(store: StateStore, path: str, state: Lifecycle) -> None:
    """Put a row in ``state`` behind the state machine's back (test set-up only)."""
    with store.db.conn:
        store.db.execute(f"UPDATE {TABLE} SET scan_state = ? WHERE media_path = ?",
                         [state.value, path])


def test_table_is_the_spec() -> None:
    assert set(ALLOWED) == set(Lifecycle)
    assert {k: set(v) for k, v in ALLOWED.items()} == EXPECTED


def test_no_state_moves_to_itself() -> None:
    """A self-move is never a transition: callers update fields instead."""
    assert all(state not in ALLOWED[state] for state in Lifecycle)


def test_every_state_is_reachable_and_can_leave() -> None:
    reachable = set(INITIAL)
    frontier = list(INITIAL)
    while frontier:
        for target in ALLOWED[frontier.pop()]:
            if target not in reachable:
                reachable.add(target)
                frontier.append(target)
    assert reachable == set(Lifecycle)
    assert all(ALLOWED[state] for state in Lifecycle)


def test_derived_sets() -> None:
    assert set(INITIAL) == {L.NEW, L.INDEXED, L.ERROR}
    assert set(CLAIMABLE) == {L.NEW, L.CHANGED, L.STALE, L.ERROR}
    assert set(PRESENT) == set(Lifecycle) - {L.MISSING}
    assert all(L.PROCESSING in ALLOWED[state] for state in CLAIMABLE)


@pytest.mark.parametrize(("source", "target"), PAIRS, ids=[f"{s}->{t}" for s, t in PAIRS])
def test_transition_through_the_store(store: StateStore, source: Lifecycle,
                                      target: Lifecycle) -> None:
    store.add_new([{"media_path": PATH, "media_type": "movie", "media_name": "Heat"}])
    force_state(store, PATH, source)
    assert lifecycle.allowed(source, target) is (target in EXPECTED[source])
    if target in EXPECTED[source]:
        item = store.transition(PATH, target, media_name="moved")
        assert item.state is target
        assert item.title == "moved"  # fields ride along in the same write
    else:
        with pytest.raises(IllegalTransition, match=f"{source} -> {target}"):
            store.transition(PATH, target, media_name="moved")
        item = store.get(PATH)
        assert item is not None
        assert (item.state, item.title) == (source, "Heat")  # nothing written


def test_transition_of_an_unknown_path_raises(store: StateStore) -> None:
    with pytest.raises(IllegalTransition, match="no item"):
        store.transition("/nowhere.mkv", L.INDEXED)


@pytest.mark.parametrize("state", list(Lifecycle))
def test_initial_states(store: StateStore, state: Lifecycle) -> None:
    record = {"media_path": PATH, "media_type": "movie", "scan_state": state.value}
    if state in (L.NEW, L.INDEXED, L.ERROR):
        assert store.add_new([record]) == 1
        item = store.get(PATH)
        assert item is not None and item.state is state
    else:
        with pytest.raises(IllegalTransition, match="cannot start"):
            store.add_new([record])
        assert store.get(PATH) is None


def test_add_new_defaults_to_new_and_rejects_a_bad_batch_whole(store: StateStore) -> None:
    good = {"media_path": "/a.mkv", "media_type": "movie"}
    bad = {"media_path": "/b.mkv", "media_type": "movie", "scan_state": "PROCESSING"}
    with pytest.raises(IllegalTransition):
        store.add_new([good, bad])
    assert store.counts()["NEW"] == 0  # checked before anything is inserted
    store.add_new([good])
    item = store.get("/a.mkv")
    assert item is not None and item.state is L.NEW


@pytest.mark.parametrize(("count", "seconds"), [
    (0, 60), (1, 60), (2, 120), (3, 240), (4, 480), (10, 60 * 512), (11, 61_440),
    (12, 86_400), (50, 86_400), (10_000, 86_400),
])
def test_retry_delay_doubles_from_a_minute_to_a_day(count: int, seconds: float) -> None:
    assert lifecycle.retry_delay(count) == seconds


TODAY = dt.date(2024, 6, 1)


@pytest.mark.parametrize(("release", "days"), [
    (None, 30),
    (TODAY, 3),
    (TODAY + dt.timedelta(days=40), 3),       # not out yet: changes fastest
    (TODAY - dt.timedelta(days=29), 3),
    (TODAY - dt.timedelta(days=30), 14),
    (TODAY - dt.timedelta(days=179), 14),
    (TODAY - dt.timedelta(days=180), 30),
    (TODAY - dt.timedelta(days=364), 30),
    (TODAY - dt.timedelta(days=365), 90),
    (TODAY - dt.timedelta(days=1824), 90),
    (TODAY - dt.timedelta(days=1825), 180),
    (dt.date(1950, 1, 1), 180),
])
def test_refresh_days_by_release_age(release: dt.date | None, days: int) -> None:
    assert lifecycle.refresh_days(release, TODAY) == days


@pytest.mark.parametrize(("text", "expected"), [
    ("2010-07-16", dt.date(2010, 7, 16)),
    ("2010-07-16T00:00:00.000Z", dt.date(2010, 7, 16)),
    ("", None),
    (None, None),
    ("2010", None),
    ("not a date", None),
    ("2010-13-45", None),
])
def test_parse_date(text: str | None, expected: dt.date | None) -> None:
    assert lifecycle.parse_date(text) == expected
