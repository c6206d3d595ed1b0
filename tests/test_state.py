"""The state store: atomic claims, release and crash recovery, the retry cooldown on an
injected clock, smart aging, what counts as work, locked-database retries, and the
small tables (settings, directory cache, scan runs, shows)."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from sidecar.errors import IllegalTransition
from sidecar.lifecycle import Lifecycle
from sidecar.state import StateStore, iso, retry_locked
from sidecar.state import base as state_base
from tests.corekit import NOW, Clock, new_store, parse_iso

L = Lifecycle
SEC = 1_000_000_000  # ns


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> StateStore:
    return new_store(tmp_path / "state.db", clock=clock)


def add(store: StateStore, path: str, state: Lifecycle = L.NEW, **fields: Any) -> None:
    parent = path.rsplit("/", 1)[0]
    store.add_new([{"media_path": path, "media_type": "movie", "parent_path": parent,
                    "scan_state": state.value, "mtime_ns": int((NOW - 3600) * SEC), **fields}])


def state_of(store: StateStore, path: str) -> Lifecycle:
    item = store.get(path)
    assert item is not None
    return item.state


# --- connections ----------------------------------------------------------------------


def test_wal_and_one_connection_per_thread(store: StateStore) -> None:
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    seen: list[int] = []
    thread = threading.Thread(target=lambda: seen.append(id(store.db)))
    thread.start()
    thread.join()
    assert seen and seen[0] != id(store.db)
    assert id(store.db) == id(store.db)


def test_close_then_reuse_reconnects(store: StateStore) -> None:
    add(store, "/m/a.mkv")
    store.close()
    assert store.get("/m/a.mkv") is not None


def test_item_round_trips_json_columns(store: StateStore) -> None:
    add(store, "/tv/S/Season 01/S - S01E01-E03.mkv", media_type="episode", season_number=1,
        episode_numbers=[1, 2, 3], candidates=[{"tmdb_id": 1, "title": "A"}], tmdb_id=7)
    item = store.get("/tv/S/Season 01/S - S01E01-E03.mkv")
    assert item is not None
    assert (item.media_type, item.season, item.episodes) == ("episode", 1, (1, 2, 3))
    assert item.candidates == [{"tmdb_id": 1, "title": "A"}]
    assert item.tmdb_id == 7


def test_iso_is_fixed_width_utc() -> None:
    assert iso(0) == "1970-01-01T00:00:00.000000Z"
    assert iso(NOW) < iso(NOW + 0.5) < iso(NOW + 60)
    assert len({len(iso(t)) for t in (0, NOW, 4e9)}) == 1


# --- claiming -------------------------------------------------------------------------


def test_claim_is_atomic_across_threads(store: StateStore) -> None:
    paths = [f"/m/f{i}.mkv" for i in range(20)]
    for path in paths:
        add(store, path)
    wins: dict[str, list[str]] = {path: [] for path in paths}
    barrier = threading.Barrier(2)

    def contender(name: str) -> None:
        for path in paths:
            barrier.wait(timeout=10)
            if store.claim(path) is not None:
                wins[path].append(name)

    threads = [threading.Thread(target=contender, args=(n,)) for n in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert all(len(winners) == 1 for winners in wins.values()), wins
    assert store.counts()["PROCESSING"] == len(paths)


@pytest.mark.parametrize("source", [L.NEW, L.CHANGED, L.STALE, L.ERROR])
def test_claim_then_release_restores_the_earlier_state(store: StateStore,
                                                       source: Lifecycle) -> None:
    add(store, "/m/a.mkv")
    if source is not L.NEW:
        store.transition("/m/a.mkv", L.INDEXED if source is L.STALE else source)
        if source is L.STALE:
            store.transition("/m/a.mkv", L.STALE)
    claimed = store.claim("/m/a.mkv")
    assert claimed is not None
    assert (claimed.state, claimed.claimed_from) == (L.PROCESSING, source.value)
    assert store.claim("/m/a.mkv") is None  # taken
    store.release("/m/a.mkv")
    item = store.get("/m/a.mkv")
    assert item is not None and (item.state, item.claimed_from) == (source, None)


@pytest.mark.parametrize("state", [L.INDEXED, L.MISSING, L.PROCESSING])
def test_claim_refuses_what_is_not_work(store: StateStore, state: Lifecycle) -> None:
    add(store, "/m/a.mkv", L.INDEXED)
    if state is L.MISSING:
        store.transition("/m/a.mkv", L.MISSING)
    elif state is L.PROCESSING:
        store.claim("/m/a.mkv", force=True)
    assert store.claim("/m/a.mkv") is None
    assert state_of(store, "/m/a.mkv") is state
    assert store.claim("/nowhere.mkv") is None


def test_forced_claim_takes_indexed_and_gives_it_back(store: StateStore) -> None:
    add(store, "/m/a.mkv", L.INDEXED)
    assert store.claim("/m/a.mkv", force=True) is not None
    store.release("/m/a.mkv")
    assert state_of(store, "/m/a.mkv") is L.INDEXED


def test_release_of_an_unclaimed_item_changes_nothing(store: StateStore) -> None:
    add(store, "/m/a.mkv", L.INDEXED)
    store.release("/m/a.mkv")
    assert state_of(store, "/m/a.mkv") is L.INDEXED


def test_recover_processing_restores_every_claim(store: StateStore) -> None:
    add(store, "/m/new.mkv")
    add(store, "/m/indexed.mkv", L.INDEXED)
    add(store, "/m/error.mkv", L.ERROR)
    add(store, "/m/untouched.mkv")
    for path in ("/m/new.mkv", "/m/error.mkv"):
        assert store.claim(path) is not None
    assert store.claim("/m/indexed.mkv", force=True) is not None
    # A crash: the claims survive in the database, a new process opens it.
    fresh = StateStore(store.path)
    assert fresh.recover_processing() == 3
    assert fresh.recover_processing() == 0
    assert [state_of(fresh, p) for p in ("/m/new.mkv", "/m/indexed.mkv", "/m/error.mkv",
                                         "/m/untouched.mkv")] == [L.NEW, L.INDEXED, L.ERROR,
                                                                  L.NEW]
    assert fresh.counts()["PROCESSING"] == 0


# --- marking ----------------------------------------------------------------------------


def test_mark_error_cooldown_doubles_from_a_minute_to_a_day(store: StateStore,
                                                            clock: Clock) -> None:
    add(store, "/m/a.mkv")
    waits = []
    for _ in range(14):
        assert store.claim("/m/a.mkv") is not None
        item = store.mark_error("/m/a.mkv", "unavailable", "TMDB is down", retryable=True)
        assert item.state is L.ERROR and item.error_reason == "unavailable"
        assert item.next_retry_after is not None
        waits.append(round(parse_iso(item.next_retry_after) - clock()))
        clock.advance(1)
    assert waits[:5] == [60, 120, 240, 480, 960]
    assert waits[-3:] == [86_400] * 3
    assert waits == sorted(waits)
    item = store.get("/m/a.mkv")
    assert item is not None and item.error_count == 14


def test_mark_error_not_retryable_keeps_candidates_and_waits_for_a_change(
        store: StateStore) -> None:
    add(store, "/m/a.mkv")
    store.claim("/m/a.mkv")
    candidates = [{"tmdb_id": 1, "title": "A", "year": 2000},
                  {"tmdb_id": 2, "title": "A", "year": 2000}]
    item = store.mark_error("/m/a.mkv", "ambiguous", "x" * 2000, retryable=False,
                            candidates=candidates)
    assert (item.error_reason, item.next_retry_after) == ("ambiguous", None)
    assert item.candidates == candidates
    assert item.last_error == "x" * 500
    assert (item.claimed_from, item.error_count) == (None, 1)


def test_mark_indexed_clears_the_error(store: StateStore) -> None:
    add(store, "/m/a.mkv")
    store.claim("/m/a.mkv")
    store.mark_error("/m/a.mkv", "ambiguous", "two", retryable=False, candidates=[{"id": 1}])
    store.claim("/m/a.mkv")
    item = store.mark_indexed("/m/a.mkv", tmdb_id=5)
    assert item.state is L.INDEXED and item.tmdb_id == 5
    assert (item.error_count, item.error_reason, item.last_error, item.next_retry_after,
            item.candidates, item.claimed_from) == (0, None, None, None, [], None)


def test_mark_error_from_an_illegal_state_raises(store: StateStore) -> None:
    add(store, "/m/a.mkv", L.INDEXED)
    with pytest.raises(IllegalTransition):
        store.mark_error("/m/a.mkv", "unavailable", "down", retryable=True)


def test_mark_stale_uses_stale_after(store: StateStore, clock: Clock) -> None:
    add(store, "/m/due.mkv", L.INDEXED, stale_after=iso(clock() - 1))
    add(store, "/m/exact.mkv", L.INDEXED, stale_after=iso(clock()))
    add(store, "/m/fresh.mkv", L.INDEXED, stale_after=iso(clock() + 3600))
    add(store, "/m/never.mkv", L.INDEXED)  # no stale_after (adopted): left alone
    add(store, "/m/new.mkv", L.NEW, stale_after=iso(clock() - 1))  # not INDEXED
    assert store.mark_stale() == 2
    states = {p: state_of(store, f"/m/{p}.mkv") for p in ("due", "exact", "fresh", "never", "new")}
    assert states == {"due": L.STALE, "exact": L.STALE, "fresh": L.INDEXED,
                      "never": L.INDEXED, "new": L.NEW}
    clock.advance(3600)
    assert store.mark_stale() == 1
    assert state_of(store, "/m/fresh.mkv") is L.STALE


# --- what is work -----------------------------------------------------------------------


def test_work_excludes_unsettled_and_error_not_due_or_not_retryable(
        store: StateStore, clock: Clock) -> None:
    settle_before = int((clock() - 60) * SEC)
    add(store, "/m/settled.mkv", mtime_ns=settle_before)
    add(store, "/m/copying.mkv", mtime_ns=settle_before + 1)
    add(store, "/m/changed.mkv", L.INDEXED)
    store.transition("/m/changed.mkv", L.CHANGED)
    add(store, "/m/stale.mkv", L.INDEXED)
    store.transition("/m/stale.mkv", L.STALE)
    add(store, "/m/indexed.mkv", L.INDEXED)
    for name, retryable in (("due", True), ("later", True), ("never", False)):
        add(store, f"/m/{name}.mkv")
        store.claim(f"/m/{name}.mkv")
        store.mark_error(f"/m/{name}.mkv", "unavailable", "down", retryable=retryable)
    with store.db.conn:  # "due": its minute is up
        store.db.execute("UPDATE media_scan_state SET next_retry_after = ? "
                         "WHERE media_path = '/m/due.mkv'", [iso(clock() - 1)])

    paths = [i.path for i in store.work(settle_before_ns=settle_before)]
    assert paths == ["/m/changed.mkv", "/m/due.mkv", "/m/settled.mkv", "/m/stale.mkv"]
    assert store.count_work(settle_before_ns=settle_before) == 4
    assert store.count_settling(settle_before) == 1
    only_new = store.work(settle_before_ns=settle_before, states=[L.NEW])
    assert [i.path for i in only_new] == ["/m/settled.mkv"]
    assert len(store.work(settle_before_ns=settle_before, limit=2)) == 2

    clock.advance(60)  # the cooldown of "later" has passed; the copy has settled
    later = int((clock() - 60) * SEC)
    paths = [i.path for i in store.work(settle_before_ns=later)]
    assert "/m/later.mkv" in paths and "/m/copying.mkv" in paths
    assert "/m/never.mkv" not in paths
    assert store.count_settling(later) == 0


# --- bulk moves and fields ----------------------------------------------------------------


def test_transition_many_moves_only_what_may_move(store: StateStore) -> None:
    add(store, "/m/new.mkv")
    add(store, "/m/indexed.mkv", L.INDEXED)
    add(store, "/m/gone.mkv", L.INDEXED)
    store.transition("/m/gone.mkv", L.MISSING)
    moved = store.transition_many(["/m/new.mkv", "/m/indexed.mkv", "/m/gone.mkv",
                                   "/m/unknown.mkv"], L.MISSING)
    assert moved == 2
    assert store.counts()["MISSING"] == 3
    assert store.transition_many(["/m/new.mkv"], L.STALE) == 0  # MISSING -> STALE: skipped


def test_update_fields_refuses_the_state(store: StateStore) -> None:
    add(store, "/m/a.mkv")
    store.update_fields("/m/a.mkv", tmdb_id=12, episode_numbers=[1, 2])
    item = store.get("/m/a.mkv")
    assert item is not None and (item.tmdb_id, item.episodes) == (12, (1, 2))
    with pytest.raises(IllegalTransition):
        store.update_fields("/m/a.mkv", scan_state="INDEXED")


def test_folder_queries(store: StateStore) -> None:
    add(store, "/lib/Movies/A (2000)/A (2000).mkv")
    add(store, "/lib/Movies/A (2000)/Extras/x.mkv")
    add(store, "/lib/Movies/A (2000)x/B.mkv")  # a sibling whose name starts the same
    add(store, "/lib/Movies/A (2000)/b.mkv", L.INDEXED)
    store.transition("/lib/Movies/A (2000)/b.mkv", L.MISSING)
    assert store.paths_under("/lib/Movies/A (2000)") == [
        "/lib/Movies/A (2000)/A (2000).mkv", "/lib/Movies/A (2000)/Extras/x.mkv",
        "/lib/Movies/A (2000)/b.mkv"]
    assert len(store.paths_under("/lib/Movies/A (2000)/", states=[L.MISSING])) == 1
    assert len(store.paths_under("/lib/Movies", limit=1)) == 1
    assert store.has_media_below("/lib/Movies/A (2000)")
    assert not store.has_media_below("/lib/Movies/A (2000)/Extras")
    stats = store.file_stats_in_dir("/lib/Movies/A (2000)")
    assert stats["/lib/Movies/A (2000)/b.mkv"][2] == "MISSING"


def test_counts_errors_and_listing(store: StateStore) -> None:
    for i in range(3):
        add(store, f"/m/{i}.mkv")
    add(store, "/m/bad.mkv", L.ERROR, error_reason="unidentified")
    counts = store.counts()
    assert set(counts) == {s.value for s in Lifecycle}
    assert (counts["NEW"], counts["ERROR"], counts["INDEXED"]) == (3, 1, 0)
    assert store.error_counts() == {"unidentified": 1}
    assert [e.path for e in store.recent_errors()] == ["/m/bad.mkv"]
    assert [i.path for i in store.items(L.NEW, limit=2, offset=1)] == ["/m/1.mkv", "/m/2.mkv"]
    assert len(list(store.iter_items(batch=2))) == 4


# --- locked database -------------------------------------------------------------------------


def test_write_waits_for_another_connection_holding_the_lock(store: StateStore) -> None:
    add(store, "/m/a.mkv")
    other = sqlite3.connect(store.path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    other.execute("UPDATE media_scan_state SET media_name = 'other' WHERE media_path = '/m/a.mkv'")
    committed: list[float] = []

    def commit() -> None:
        committed.append(time.monotonic())
        other.execute("COMMIT")

    timer = threading.Timer(0.3, commit)
    timer.start()
    item = store.transition("/m/a.mkv", L.INDEXED)
    finished = time.monotonic()
    timer.join()
    assert finished > committed[0]  # it could only write once the other one let go
    assert item.state is L.INDEXED and item.title == "other"
    other.close()


def test_retry_locked_retries_busy_errors_only(monkeypatch: pytest.MonkeyPatch) -> None:
    sleeps: list[float] = []
    monkeypatch.setattr(state_base.time, "sleep", sleeps.append)
    calls = {"n": 0}

    @retry_locked
    def flaky() -> str:
        calls["n"] += 1
        if calls["n"] < 4:
            raise sqlite3.OperationalError("database is locked")
        return "written"

    assert flaky() == "written"
    assert sleeps == [0.05, 0.1, 0.2]

    @retry_locked
    def broken() -> None:
        calls["n"] += 1
        raise sqlite3.OperationalError("no such table: nope")

    calls["n"] = 0
    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        broken()
    assert calls["n"] == 1

    @retry_locked
    def always_busy() -> None:
        raise sqlite3.OperationalError("database is busy")

    sleeps.clear()
    with pytest.raises(sqlite3.OperationalError, match="busy"):
        always_busy()
    assert len(sleeps) == 7 and max(sleeps) == 2.0


# --- small tables ----------------------------------------------------------------------------


def test_settings_save_and_remove(store: StateStore) -> None:
    store.save_settings({"language": "de", "workers": "4"})
    store.save_settings({"workers": None, "nfo": "true"})
    assert store.stored_settings() == {"language": "de", "nfo": "true"}


def test_scan_runs(store: StateStore, clock: Clock) -> None:
    first = store.start_run("quick", paths=["/lib/a"])
    store.finish_run(first, {"files": 3}, duration_ms=12)
    second = store.start_run("full", trigger="schedule")
    runs = store.runs()
    assert [r["id"] for r in runs] == [second, first]
    assert runs[1]["counts"] == {"files": 3} and runs[1]["paths"] == ["/lib/a"]
    assert (runs[1]["status"], runs[1]["duration_ms"]) == ("done", 12)
    assert store.close_dangling_runs() == 1
    assert store.runs(1)[0]["status"] == "interrupted"


def test_interrupted_full_runs_line_up_back_to_the_last_full_run_that_ended(
        store: StateStore, clock: Clock) -> None:
    """What a resumed full scan continues: newest first, back to a full run that ended."""
    store.finish_run(store.start_run("full"), {})
    first = store.start_run("full", trigger="web")
    clock.advance(60)
    store.finish_run(store.start_run("quick", trigger="schedule"), {})  # went on meanwhile
    store.start_run("quick", trigger="schedule")  # cut short by the same crash
    clock.advance(60)
    store.close_dangling_runs()  # the next start-up
    second = store.start_run("full", trigger="resume")
    clock.advance(60)
    store.close_dangling_runs()
    assert [r["id"] for r in store.interrupted_full_runs()] == [second, first]
    assert store.interrupted_full_runs()[1]["paths"] == []
    clock.advance(1)
    store.finish_run(store.start_run("quick", trigger="cli"), {})
    assert store.interrupted_full_runs() == [], "a run started after the crash ends the line"


@pytest.mark.parametrize("newest", ["done", "failed", "paths"])
def test_interrupted_full_runs_end_at_a_full_run_that_was_not_cut_short(
        store: StateStore, newest: str) -> None:
    store.start_run("full")
    store.close_dangling_runs()
    run = store.start_run("full", paths=["/lib/a"] if newest == "paths" else [])
    if newest == "paths":
        store.close_dangling_runs()
    else:
        store.finish_run(run, {}, status=newest)
    assert store.interrupted_full_runs() == []


def test_shows(store: StateStore) -> None:
    assert store.show("/tv/S") is None
    store.save_show("/tv/S", tmdb_id=1, title="S")
    store.save_show("/tv/S", tmdb_id=2)
    show = store.show("/tv/S")
    assert show is not None and (show["tmdb_id"], show["title"]) == (2, "S")
