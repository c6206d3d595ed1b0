"""Background scan runs: walk, feed the queue (in batches that yield to playback), report."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from sidecar.scanner import Scanner
from sidecar.scanrun import ScanRunner, interrupted_full_scan, resume_priority
from sidecar.state import StateStore
from sidecar.workqueue import Priority
from tests.corekit import Clock


class FakeQueue:
    def __init__(self) -> None:
        self.puts: list[tuple[Priority, bool, frozenset[str]]] = []

    def put(self, kind: str, key: Any, paths: Any, priority: Priority, *,
            force: bool = False) -> bool:
        self.puts.append((priority, force, frozenset(paths)))
        return True


class FakeEngine:
    """Every job put is 'done' at the next wait_idle; counts the batches it followed."""

    def __init__(self) -> None:
        self.queue = FakeQueue()
        self.worker = SimpleNamespace(items_done=0)
        self.batches: list[int] = []
        self._seen = 0

    def wait_idle(self, timeout: float | None = None) -> bool:
        new = self.queue.puts[self._seen:]
        self._seen = len(self.queue.puts)
        if new:
            self.batches.append(len(new))
        self.worker.items_done += sum(len(p) for _, _, p in new)
        return True


class Harness:
    def __init__(self, tmp: Path, movies: int = 5, key: bool = True,
                 clock: Callable[[], float] = time.time) -> None:
        self.lib = tmp / "lib"
        for n in range(movies):
            video = self.lib / f"Film {n} (200{n})" / f"Film {n} (200{n}).mkv"
            video.parent.mkdir(parents=True)
            video.write_bytes(b"\0")
        self.store = StateStore(tmp / "db.sqlite", clock=clock)
        self.key = key
        self.sessions = 0
        self.restart()

    def restart(self) -> None:
        """A fresh runner and engine on the same database: the next process, after a crash."""
        self.engine = FakeEngine()
        self.core = SimpleNamespace(settings=SimpleNamespace(has_tmdb_key=self.key),
                                    scanner=Scanner(self.store, [str(self.lib)], settle_seconds=0),
                                    engine=self.engine)
        self.stopping = threading.Event()
        self.runner = ScanRunner(self.store, lambda: self.core, threading.Lock(),
                                 sessions=lambda: self.sessions, batch_jobs=2,
                                 playback_pause=0.0, stopping=self.stopping)

    def run(self, mode: str, **kw: Any) -> dict[str, Any]:
        assert self.runner.start(mode, **kw)
        return self.wait()

    def wait(self) -> dict[str, Any]:
        deadline = time.monotonic() + 10
        while self.runner.running() and time.monotonic() < deadline:
            time.sleep(0.005)
        return self.runner.progress()

    def queued(self) -> set[str]:
        return {path for _, _, paths in self.engine.queue.puts for path in paths}


def test_quick_scan_walks_and_queues_everything_at_once(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    report = h.run("quick")
    assert (report["running"], report["mode"], report["done"], report["total"]) == (
        False, "quick", 5, 5)
    assert h.engine.batches == [5]
    assert {p for p, _, _ in h.engine.queue.puts} == {Priority.HIGH}
    run = h.store.runs(1)[0]
    assert (run["status"], run["trigger"], run["counts"]["new"]) == ("done", "web", 5)


def test_full_scan_from_a_user_is_critical_forced_and_not_throttled(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.sessions = 2
    h.run("full", priority=Priority.CRITICAL)
    assert h.engine.batches == [5]
    assert all(p == Priority.CRITICAL and force for p, force, _ in h.engine.queue.puts)


def test_refresh_goes_in_batches_and_slows_down_during_playback(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.run("refresh", trigger="schedule")
    assert h.engine.batches == [2, 2, 1]
    h2 = Harness(tmp_path / "b")
    h2.sessions = 1
    h2.run("full", trigger="schedule")
    assert h2.engine.batches == [1, 1, 1, 1, 1], "one job per pause while someone watches"


def test_unknown_session_count_does_not_stop_a_run(tmp_path: Path) -> None:
    h = Harness(tmp_path)

    def broken() -> int:
        raise OSError("host down")

    h.runner._sessions = broken
    h.run("full")
    assert h.engine.batches == [2, 2, 1]


def test_without_a_key_items_wait(tmp_path: Path) -> None:
    h = Harness(tmp_path, key=False)
    h.run("quick")
    assert h.engine.queue.puts == []
    assert h.store.runs(1)[0]["counts"]["fetch_waiting_for_key"] == 5


def test_paths_limit_the_run(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    report = h.run("quick", paths=[str(h.lib / "Film 1 (2001)")])
    assert report["total"] == 1


def test_one_run_per_mode_and_bad_modes(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    lock = threading.Lock()
    h.runner._scan_lock = lock
    with lock:  # the walk waits for the lock, so the run is still going
        assert h.runner.start("quick")
        assert not h.runner.start("quick")
        assert h.runner.progress()["phase"] == "walking"
        assert h.runner.start("refresh"), "another kind may run meanwhile"
    h.runner.join(10)
    with pytest.raises(ValueError):
        h.runner.start("sideways")


def test_stopping_interrupts_a_run(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.stopping.set()
    assert not h.runner.start("quick"), "no new runs once the service stops"


# -- resuming a full scan cut short ------------------------------------------------------------


def indexed_library(tmp: Path, clock: Clock) -> tuple[Harness, list[str]]:
    """Five movies INDEXED an hour ago (the runner's walk records them; "fetched" by hand)."""
    h = Harness(tmp, clock=clock)
    h.run("quick")
    paths = sorted(item.path for item in h.store.iter_items())
    refresh(h.store, paths)
    clock.advance(3600)
    h.restart()
    return h, paths


def refresh(store: StateStore, paths: list[str]) -> None:
    """What a worker leaves behind: INDEXED, metadata written now."""
    for path in paths:
        assert store.claim(path, force=True) is not None
        store.mark_indexed(path, metadata_updated_at=store.now_iso())


def test_a_full_scan_cut_short_is_resumed_without_what_it_already_refreshed(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    h, paths = indexed_library(tmp_path, clock)
    h.store.start_run("full", trigger="web")  # someone clicked "Full scan"
    started = h.store.now_iso()
    clock.advance(60)
    refresh(h.store, paths[:2])  # refreshed by it before the crash
    h.store.start_run("quick", trigger="schedule")  # went on alongside, cut short too
    clock.advance(60)
    h.store.close_dangling_runs()  # the next start-up: recovery
    assert interrupted_full_scan(h.store) == started
    with caplog.at_level(logging.INFO, logger="sidecar.scanrun"):
        assert h.runner.resume_full()
        h.wait()
    assert h.queued() == set(paths[2:]), "only what the cut-short run had not refreshed"
    assert all(p == Priority.CRITICAL and force for p, force, _ in h.engine.queue.puts)
    run = h.store.runs(1)[0]
    assert (run["mode"], run["trigger"], run["status"], run["paths"]) == (
        "full", "resume", "done", [])
    lines = [r.getMessage() for r in caplog.records if "resuming" in r.getMessage()]
    assert len(lines) == 1 and f"full scan started {started}" in lines[0], lines
    h.restart()
    assert not h.runner.resume_full(), "a finished resumed run ends it"


def cut_short_then(store: StateStore, lib: Path, clock: Clock, case: str) -> None:
    """A history whose last runs do not call for resuming a full scan."""
    if case == "finished":
        store.start_run("full", trigger="web")
        store.close_dangling_runs()
        store.finish_run(store.start_run("full", trigger="web"), {})
    elif case == "path-limited":
        store.start_run("full", trigger="api", paths=[str(lib / "Film 1 (2001)")])
    elif case == "quick":
        store.start_run("quick", trigger="web")
    elif case == "something-else-after":
        store.start_run("full", trigger="web")
        store.close_dangling_runs()
        clock.advance(1)
        store.finish_run(store.start_run("quick", trigger="cli"), {})
    store.close_dangling_runs()


@pytest.mark.parametrize("case", ["finished", "path-limited", "quick", "something-else-after"])
def test_nothing_is_resumed_unless_the_last_full_scan_was_cut_short(tmp_path: Path,
                                                                     case: str) -> None:
    clock = Clock()
    h, _ = indexed_library(tmp_path, clock)
    cut_short_then(h.store, h.lib, clock, case)
    rows = len(h.store.runs(100))
    assert interrupted_full_scan(h.store) is None
    assert not h.runner.resume_full()
    assert not h.runner.running() and h.engine.queue.puts == []
    assert len(h.store.runs(100)) == rows, "no run recorded"


def test_cut_short_again_while_resuming_still_resumes_from_the_first(tmp_path: Path) -> None:
    clock = Clock()
    h, paths = indexed_library(tmp_path, clock)
    h.store.start_run("full", trigger="web")
    first = h.store.now_iso()
    clock.advance(60)
    refresh(h.store, paths[:1])
    h.store.close_dangling_runs()  # crash 1, seen at the next start
    clock.advance(60)
    walk = threading.Lock()
    h.runner._scan_lock = walk
    dead, dead_stopping = h.runner, h.stopping
    with walk:  # the resumed run is still walking when its process dies
        assert h.runner.resume_full()
        assert h.store.runs(1)[0]["status"] == "running"
        clock.advance(60)
        refresh(h.store, paths[1:2])  # the resumed run got one more done
        h.store.close_dangling_runs()  # crash 2, seen at the next start
        clock.advance(60)
        h.restart()
        assert interrupted_full_scan(h.store) == first
        assert h.runner.resume_full()
        h.wait()
        dead_stopping.set()  # let the dead process's thread go
    dead.join(10)
    assert h.queued() == set(paths[2:])
    assert {p for p, _, _ in h.engine.queue.puts} == {Priority.CRITICAL}, "a person started it"
    statuses = [(r["trigger"], r["status"]) for r in h.store.runs(3)]
    assert statuses == [("resume", "done"), ("resume", "interrupted"), ("web", "interrupted")]


def test_a_resumed_background_full_scan_stays_in_the_background(tmp_path: Path) -> None:
    assert resume_priority([{"trigger": "resume"}, {"trigger": "schedule"}]) == Priority.VERY_LOW
    assert resume_priority([{"trigger": "resume"}, {"trigger": "cli"}]) == Priority.CRITICAL
    clock = Clock()
    h, paths = indexed_library(tmp_path, clock)
    h.store.start_run("full", trigger="schedule")
    h.store.close_dangling_runs()
    h.sessions = 1
    assert h.runner.resume_full()
    h.wait()
    assert {p for p, _, _ in h.engine.queue.puts} == {Priority.VERY_LOW}
    assert h.engine.batches == [1] * len(paths), "yields to playback like any background run"
