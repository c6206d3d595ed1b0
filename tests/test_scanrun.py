"""Background scan runs: walk, feed the queue (in batches that yield to playback), report."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from sidecar.scanner import Scanner
from sidecar.scanrun import ScanRunner
from sidecar.state import StateStore
from sidecar.workqueue import Priority


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
    def __init__(self, tmp: Path, movies: int = 5, key: bool = True) -> None:
        self.lib = tmp / "lib"
        for n in range(movies):
            video = self.lib / f"Film {n} (200{n})" / f"Film {n} (200{n}).mkv"
            video.parent.mkdir(parents=True)
            video.write_bytes(b"\0")
        self.store = StateStore(tmp / "db.sqlite")
        self.engine = FakeEngine()
        self.core = SimpleNamespace(settings=SimpleNamespace(has_tmdb_key=key),
                                    scanner=Scanner(self.store, [str(self.lib)], settle_seconds=0),
                                    engine=self.engine)
        self.sessions = 0
        self.stopping = threading.Event()
        self.runner = ScanRunner(self.store, lambda: self.core, threading.Lock(),
                                 sessions=lambda: self.sessions, batch_jobs=2,
                                 playback_pause=0.0, stopping=self.stopping)

    def run(self, mode: str, **kw: Any) -> dict[str, Any]:
        assert self.runner.start(mode, **kw)
        deadline = time.monotonic() + 10
        while self.runner.running() and time.monotonic() < deadline:
            time.sleep(0.005)
        return self.runner.progress()


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
