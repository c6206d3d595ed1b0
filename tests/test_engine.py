"""The worker pool: feeding the queue from the state table, one show fetch for a flood of
episodes, the stop-everything auth error, idling, and a clean stop that leaves nothing
claimed.  Pool mechanics use a scripted worker; the fetch paths use the real fake TMDB."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from sidecar.engine import Engine
from sidecar.lifecycle import Lifecycle
from sidecar.state import StateStore
from sidecar.workqueue import Job, Priority, WorkQueue
from tests.corekit import NOW, Rig, make_files, make_rig, new_store
from tests.fakes.fake_tmdb import FakeTmdb

L = Lifecycle
SEC = 1_000_000_000


pytestmark = pytest.mark.usefixtures("no_fsync")


# --- a scripted worker for the pool mechanics ----------------------------------------------------


@dataclass
class _Client:
    resets: int = 0

    def reset_auth(self) -> None:
        self.resets += 1


@dataclass
class ScriptedWorker:
    """Claims like the real worker; what happens next is up to the test."""

    store: StateStore
    gate: threading.Event = field(default_factory=threading.Event)
    finish: bool = True  # mark INDEXED, or leave the claim behind
    fail_auth: bool = False
    auth_error: str | None = None
    jobs: list[Job] = field(default_factory=list)
    client: _Client = field(default_factory=_Client)

    def __post_init__(self) -> None:
        self.gate.set()

    def claimed(self) -> list[str]:
        """What this worker still holds (the engine releases exactly these on stop)."""
        return [j for job in self.jobs for j in sorted(job.paths)
                if getattr(self.store.get(j), "state", None) == L.PROCESSING]

    def process(self, job: Job) -> None:
        self.jobs.append(job)
        claimed = [p for p in sorted(job.paths) if self.store.claim(p, force=job.force)]
        self.gate.wait(10)
        if self.fail_auth:
            self.auth_error = "401"
            for path in claimed:
                self.store.release(path)
        elif self.finish:
            for path in claimed:
                self.store.mark_indexed(path)


@pytest.fixture
def store(tmp_path: Path) -> StateStore:
    return new_store(tmp_path / "state.db")


def add(store: StateStore, path: str, state: Lifecycle = L.NEW, **fields: Any) -> None:
    store.add_new([{"media_path": path, "media_type": "movie", "media_name": path,
                    "parent_path": path.rsplit("/", 1)[0], "scan_state": state.value,
                    "mtime_ns": int((NOW - 3600) * SEC), **fields}])


def engine_for(store: StateStore, worker: Any, *, size: int = 2,
               settle: float = NOW - 60) -> Engine:
    return Engine(store, worker, WorkQueue(), size=size,
                  settle_before_ns=lambda: int(settle * SEC))


def test_enqueue_pending_groups_and_counts(store: StateStore) -> None:
    for n in range(3):
        add(store, f"/tv/S/Season 01/S - S01E0{n + 1}.mkv", media_type="episode", show_dir="/tv/S")
    add(store, "/m/A (2000)/A (2000).mkv")
    add(store, "/m/Copying (2024)/Copying (2024).mkv", mtime_ns=int(NOW * SEC))
    add(store, "/m/Done (2000)/Done (2000).mkv", L.INDEXED)
    engine = engine_for(store, ScriptedWorker(store))
    assert engine.enqueue_pending() == 4  # the copy has not settled; INDEXED is no work
    assert len(engine.queue) == 2  # one show job, one movie job
    assert engine.enqueue_pending() == 4  # queued again: merged, no new job
    assert len(engine.queue) == 2
    assert engine.enqueue_pending(states=[L.STALE]) == 0


def test_enqueue_all_forces_everything_present(store: StateStore) -> None:
    add(store, "/m/A/A.mkv", L.INDEXED)
    add(store, "/m/B/B.mkv")
    add(store, "/m/C/C.mkv", L.INDEXED)
    store.transition("/m/C/C.mkv", L.MISSING)
    worker = ScriptedWorker(store)
    engine = engine_for(store, worker)
    assert engine.enqueue_all() == 2
    engine.start()
    assert engine.wait_idle(10)
    engine.stop()
    assert {j.force for j in worker.jobs} == {True}
    assert {j.priority for j in worker.jobs} == {Priority.VERY_LOW}
    assert store.counts()["INDEXED"] == 2 and store.counts()["MISSING"] == 1


def test_enqueue_all_resuming_skips_what_the_cut_short_run_refreshed(store: StateStore) -> None:
    """A full scan killed half-way and started again does not redo its first half."""
    add(store, "/m/Done/Done.mkv", L.INDEXED, metadata_updated_at="2024-01-02T00:00:05.000000Z")
    add(store, "/m/Old/Old.mkv", L.INDEXED, metadata_updated_at="2023-06-01T00:00:00.000000Z")
    add(store, "/m/New/New.mkv")
    engine = engine_for(store, ScriptedWorker(store))
    assert engine.enqueue_all(done_since="2024-01-02T00:00:00.000000Z") == 2
    assert engine.enqueue_all() == 3


def test_wait_idle_times_out_while_a_job_runs_then_returns(store: StateStore) -> None:
    add(store, "/m/A/A.mkv")
    worker = ScriptedWorker(store)
    worker.gate.clear()
    engine = engine_for(store, worker, size=1)
    assert engine.idle()
    engine.enqueue_pending()
    assert not engine.idle()
    engine.start()
    ticks: list[int] = []
    assert engine.wait_idle(0.3, tick=lambda: ticks.append(1)) is False
    assert ticks  # the progress bar gets its chance to redraw
    worker.gate.set()
    assert engine.wait_idle(10) is True
    engine.stop()
    assert store.counts()["INDEXED"] == 1


def test_stop_releases_what_was_left_claimed(store: StateStore) -> None:
    for name in ("A", "B", "C"):
        add(store, f"/m/{name}/{name}.mkv")
    worker = ScriptedWorker(store, finish=False)
    engine = engine_for(store, worker)
    engine.enqueue_pending()
    engine.start()
    assert engine.wait_idle(10)
    assert store.counts()["PROCESSING"] == 3
    engine.stop()
    assert store.counts()["PROCESSING"] == 0 and store.counts()["NEW"] == 3
    assert engine.queue.get(timeout=0) is None  # closed: nothing new starts


def test_stop_leaves_other_processes_claims_alone(store: StateStore) -> None:
    """A ``scanarr scan`` next to ``serve``: stopping one engine must not release the items
    the other one is working on."""
    add(store, "/m/Mine/Mine.mkv")
    add(store, "/m/Theirs/Theirs.mkv")
    assert store.claim("/m/Theirs/Theirs.mkv") is not None  # another process's worker
    worker = ScriptedWorker(store, finish=False)
    engine = engine_for(store, worker)
    engine.enqueue_pending()
    engine.start()
    assert engine.wait_idle(10)
    assert engine.stop() == 1
    assert getattr(store.get("/m/Mine/Mine.mkv"), "state", None) == L.NEW
    assert getattr(store.get("/m/Theirs/Theirs.mkv"), "state", None) == L.PROCESSING


def test_auth_error_pauses_the_queue_and_wait_idle_returns(store: StateStore) -> None:
    for n in range(6):
        add(store, f"/m/F{n}/F{n}.mkv")
    worker = ScriptedWorker(store, fail_auth=True)
    engine = engine_for(store, worker, size=2)
    engine.enqueue_pending()
    engine.start()
    assert engine.wait_idle(10)
    assert engine.queue.snapshot()["paused"]
    assert len(engine.queue) >= 4  # the rest waits for a fixed key
    assert len(worker.jobs) <= 2
    assert store.counts()["NEW"] == 6
    worker.fail_auth = False
    engine.resume_fetching()
    assert worker.auth_error is None and worker.client.resets == 1
    assert engine.wait_idle(10)
    engine.stop()
    # Regression: the items released by the refused jobs had left the queue and waited
    # for the next scan; resuming now queues them again.
    assert store.counts()["INDEXED"] == 6


# --- the real thing against the fake TMDB --------------------------------------------------------


def fetch_rig(fake: FakeTmdb, tmp_path: Path, **kw: Any) -> Rig:
    return make_rig(tmp_path, [tmp_path / "Movies", tmp_path / "TV"], url=fake.url,
                    api_key=fake.api_key, **kw)


def test_two_hundred_episodes_through_the_queue_are_one_show_fetch(
        fake: FakeTmdb, tmp_path: Path) -> None:
    show = "Flood (2001)"
    make_files(tmp_path / "TV", [f"{show}/Season {s:02d}/{show} - S{s:02d}E{e:02d}.mkv"
                                 for s in range(1, 11) for e in range(1, 21)])
    rig = fetch_rig(fake, tmp_path, workers=2)
    rig.scan()
    assert rig.fetch() == 200
    assert rig.store.counts()["INDEXED"] == 200
    assert fake.stats()["by_kind"] == {"search_tv": 1, "tv": 1, "configuration": 1}
    assert rig.engine.queue.snapshot()["delivered"] == 1  # one job


def test_a_mixed_library_through_the_pool(fake: FakeTmdb, tmp_path: Path) -> None:
    make_files(tmp_path / "Movies", [f"Film {n} (20{n:02d})/Film {n} (20{n:02d}).mkv"
                                     for n in range(8)])
    make_files(tmp_path / "TV", [f"Show {n}/Season 01/Show {n} - S01E0{e}.mkv"
                                 for n in range(3) for e in (1, 2)])
    rig = fetch_rig(fake, tmp_path, workers=3)
    rig.scan()
    assert rig.fetch() == 14
    counts = rig.store.counts()
    assert (counts["INDEXED"], counts["PROCESSING"], counts["ERROR"]) == (14, 0, 0)
    stats = fake.stats()
    assert stats["by_kind"]["movie"] == 8 and stats["by_kind"]["tv"] == 3
    assert stats["rate_limited"] == 0
    assert rig.worker.items_done == 14


def test_revoked_key_stops_the_pool_without_errors(fake: FakeTmdb, tmp_path: Path) -> None:
    paths = make_files(tmp_path / "Movies", [f"Film {n} (2000)/Film {n} (2000).mkv"
                                             for n in range(6)])
    fake.revoke_key()
    rig = fetch_rig(fake, tmp_path, workers=2)
    rig.scan()
    engine = rig.fresh_engine()
    engine.enqueue_pending()
    engine.start()
    started = time.monotonic()
    assert engine.wait_idle(10)  # returns although work is left: fetching is stopped
    assert time.monotonic() - started < 5
    assert rig.worker.auth_error and "401" in rig.worker.auth_error
    assert engine.queue.snapshot()["paused"]
    engine.stop()
    assert {i.state for i in rig.store.iter_items()} == {L.NEW}  # released, not ERROR
    assert rig.store.counts()["ERROR"] == 0
    assert len([r for r in fake.requests() if r["status"] == 401]) <= 2

    fake.restore_key()  # the user fixed the key
    engine = rig.fresh_engine()
    engine.start()
    engine.resume_fetching()  # requeues the released items itself
    assert engine.wait_idle(10)
    engine.stop()
    assert {rig.store.get(p).state for p in paths} == {L.INDEXED}  # type: ignore[union-attr]
