"""WorkQueue: dedup, follow-ups, priorities with aging, pause/close, threads."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable

import pytest

from sidecar.workqueue import Job, Priority, WorkQueue
from tests.fakes.fake_clock import FakeClock

AGING = 300.0


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def q(clock: FakeClock) -> WorkQueue:
    return WorkQueue(clock=clock, aging_seconds=AGING)


def movie(q: WorkQueue, path: str, priority: Priority = Priority.HIGH, *,
          force: bool = False) -> bool:
    return q.put("movie", ("movie", path), [path], priority, force=force)


def take(q: WorkQueue) -> Job:
    job = q.get(timeout=0)
    assert job is not None, "expected a job"
    return job


def drain(q: WorkQueue) -> list[Job]:
    jobs = []
    while (job := q.get(timeout=0)) is not None:
        jobs.append(job)
        q.done(job)
    return jobs


def keys(jobs: list[Job]) -> list[str]:
    return [job.key[1] for job in jobs]


def wait_until(condition: Callable[[], bool], limit: float = 5.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, "condition never became true"
        time.sleep(0.001)


# -- ordering --------------------------------------------------------------------------


def test_more_urgent_priority_first(q: WorkQueue) -> None:
    for name, prio in [("v", Priority.VERY_LOW), ("l", Priority.LOW), ("c", Priority.CRITICAL),
                       ("m", Priority.MEDIUM), ("h", Priority.HIGH)]:
        assert movie(q, name, prio) is True
    assert keys(drain(q)) == ["c", "h", "m", "l", "v"]


def test_fifo_within_a_priority(q: WorkQueue, clock: FakeClock) -> None:
    for i in range(10):
        movie(q, f"m{i}", Priority.MEDIUM)
        clock.now += 0.5 * (i % 2)  # some share an instant, some do not
    assert keys(drain(q)) == [f"m{i}" for i in range(10)]


def test_job_fields(q: WorkQueue) -> None:
    q.put("tv", ("tv", "/tv/Show"), ["/tv/Show/e1.mkv", "/tv/Show/e2.mkv"], Priority.LOW,
          force=True)
    job = take(q)
    assert job == Job(("tv", "/tv/Show"), "tv",
                      frozenset({"/tv/Show/e1.mkv", "/tv/Show/e2.mkv"}), Priority.LOW, True)


# -- dedup -----------------------------------------------------------------------------


def test_same_key_merges_paths_and_raises_priority(q: WorkQueue) -> None:
    show = ("tv", "/tv/S")
    assert q.put("tv", show, ["/tv/S/e1.mkv"], Priority.LOW) is True
    assert q.put("tv", show, ["/tv/S/e2.mkv"], Priority.HIGH) is False
    assert q.put("tv", show, ["/tv/S/e3.mkv"], Priority.VERY_LOW) is False  # never lowered
    assert len(q) == 1
    assert q.depth_by_priority() == {"CRITICAL": 0, "HIGH": 1, "MEDIUM": 0, "LOW": 0,
                                     "VERY_LOW": 0}
    job = take(q)
    assert job.priority is Priority.HIGH
    assert job.paths == {"/tv/S/e1.mkv", "/tv/S/e2.mkv", "/tv/S/e3.mkv"}


def test_merge_keeps_original_place_in_line(q: WorkQueue, clock: FakeClock) -> None:
    q.put("tv", ("tv", "old"), ["old/e1"], Priority.LOW)
    clock.now += 10
    movie(q, "younger-high", Priority.HIGH)
    clock.now += 10
    q.put("tv", ("tv", "old"), ["old/e2"], Priority.HIGH)  # raised: older than younger-high
    assert keys(drain(q)) == ["old", "younger-high"]


def test_merge_ors_force(q: WorkQueue) -> None:
    movie(q, "a")
    movie(q, "a", force=True)
    assert take(q).force is True


def test_same_path_under_another_key_is_not_added_again(q: WorkQueue) -> None:
    assert q.put("movie", ("movie", "/m/A.mkv"), ["/m/A.mkv"], Priority.LOW) is True
    # the same file, now known by tmdb id: nothing new, but its job becomes urgent
    assert q.put("movie", ("movie", "tmdb:603"), ["/m/A.mkv"], Priority.CRITICAL) is False
    assert len(q) == 1
    job = take(q)
    assert job.key == ("movie", "/m/A.mkv") and job.priority is Priority.CRITICAL
    # in flight under its first key: still not added again anywhere
    assert q.put("movie", ("movie", "tmdb:603"), ["/m/A.mkv"], Priority.HIGH) is False
    assert len(q) == 0 and q.snapshot()["follow_ups"] == 0


def test_mixed_put_keeps_only_new_paths(q: WorkQueue) -> None:
    q.put("movie", ("movie", "x"), ["p1"], Priority.HIGH)
    assert q.put("movie", ("movie", "y"), ["p1", "p2", "p2"], Priority.HIGH) is True
    jobs = drain(q)
    assert [sorted(j.paths) for j in jobs] == [["p1"], ["p2"]]
    assert q.snapshot()["duplicate_paths"] == 1


def test_two_hundred_episodes_make_one_job(q: WorkQueue) -> None:
    show = ("tv", "/tv/Big Show")
    created = [q.put("tv", show, [f"/tv/Big Show/S01E{i:03d}.mkv"], Priority.HIGH)
               for i in range(200)]
    assert created == [True] + [False] * 199
    assert len(q) == 1
    job = take(q)
    assert len(job.paths) == 200
    assert q.get(timeout=0) is None


# -- in flight and follow-ups ------------------------------------------------------------


def test_paths_arriving_in_flight_wait_for_done(q: WorkQueue, clock: FakeClock) -> None:
    show = ("tv", "/tv/S")
    q.put("tv", show, ["e1", "e2"], Priority.MEDIUM)
    first = take(q)
    assert q.put("tv", show, ["e2", "e3"], Priority.LOW) is True   # e2 is in flight
    assert q.put("tv", show, ["e4"], Priority.HIGH) is False       # merges into follow-up
    assert len(q) == 0 and q.get(timeout=0) is None                # never two at once
    snap = q.snapshot()
    assert snap["follow_ups"] == 1 and snap["follow_up_paths"] == 2
    assert snap["in_flight"] == 1 and snap["in_flight_paths"] == 2
    q.done(first)
    second = take(q)
    assert second.paths == {"e3", "e4"} and second.priority is Priority.HIGH
    q.done(second)
    assert q.put("tv", show, ["e1"], Priority.LOW) is True  # done: e1 may be queued again


def test_done_of_unknown_job_raises(q: WorkQueue) -> None:
    movie(q, "a")
    job = take(q)
    q.done(job)
    with pytest.raises(ValueError, match="not in flight"):
        q.done(job)


def test_bad_arguments_are_refused(q: WorkQueue) -> None:
    with pytest.raises(TypeError):
        q.put("movie", ("movie", "a"), "a", Priority.HIGH)
    with pytest.raises(ValueError):
        q.put("show", ("tv", "a"), ["a"], Priority.HIGH)  # type: ignore[arg-type]
    q.put("tv", ("tv", "a"), ["a/e1"], Priority.HIGH)
    with pytest.raises(ValueError, match="already queued as 'tv'"):
        q.put("movie", ("tv", "a"), ["a/e2"], Priority.HIGH)
    with pytest.raises(ValueError):
        WorkQueue(aging_seconds=0)


# -- aging -----------------------------------------------------------------------------


def test_aging_lets_old_low_work_beat_fresh_high(q: WorkQueue, clock: FakeClock) -> None:
    movie(q, "low", Priority.LOW)
    clock.now += 2 * AGING          # LOW (3) has aged to effective 1: a tie with HIGH ...
    movie(q, "high", Priority.HIGH)
    assert take(q).key[1] == "high"  # ... and ties go to the better nominal level
    movie(q, "high2", Priority.HIGH)
    clock.now += AGING               # LOW now effective 0 (high2 is only at 0 too)
    movie(q, "high3", Priority.HIGH)
    assert keys([take(q), take(q), take(q)]) == ["high2", "low", "high3"]


def test_fresh_critical_still_first_and_aging_stops_at_critical(
        q: WorkQueue, clock: FakeClock) -> None:
    movie(q, "very-low", Priority.VERY_LOW)
    clock.now += 100 * AGING         # aged far past CRITICAL: clamped to it
    movie(q, "critical", Priority.CRITICAL)
    assert keys(drain(q)) == ["critical", "very-low"]


def test_aging_never_starves_low_work(q: WorkQueue, clock: FakeClock) -> None:
    """A steady stream of HIGH work cannot hold LOW work back for ever."""
    movie(q, "low", Priority.LOW)
    for i in range(100):
        movie(q, f"h{i}", Priority.HIGH)
        job = take(q)
        q.done(job)
        if job.key[1] == "low":
            break
        clock.now += 60
    assert job.key[1] == "low"
    assert clock.now - 1000.0 <= 3 * AGING


# -- pause, close, idle --------------------------------------------------------------------


def test_pause_holds_jobs_until_resume(q: WorkQueue) -> None:
    movie(q, "a")
    q.pause()
    assert q.get(timeout=0) is None
    assert movie(q, "b") is True and len(q) == 2  # puts still work while paused
    q.resume()
    assert keys([take(q), take(q)]) == ["a", "b"]


def test_resume_wakes_a_blocked_getter(q: WorkQueue) -> None:
    q.pause()
    movie(q, "a")
    got: list[Job | None] = []
    thread = threading.Thread(target=lambda: got.append(q.get(timeout=10)))
    thread.start()
    wait_until(lambda: q.snapshot()["waiting_getters"] == 1)
    q.resume()
    thread.join(5)
    assert not thread.is_alive() and got[0] is not None and got[0].key[1] == "a"


def test_close_wakes_blocked_getters(q: WorkQueue) -> None:
    results: list[Job | None] = []
    threads = [threading.Thread(target=lambda: results.append(q.get())) for _ in range(3)]
    for t in threads:
        t.start()
    wait_until(lambda: q.snapshot()["waiting_getters"] == 3)
    q.close()
    for t in threads:
        t.join(5)
    assert not any(t.is_alive() for t in threads)
    assert results == [None, None, None]


def test_closed_queue_gives_nothing_and_takes_nothing(q: WorkQueue) -> None:
    movie(q, "a")
    q.close()
    assert q.get(timeout=0) is None
    assert movie(q, "b") is False
    assert q.snapshot()["closed"] is True


def test_get_times_out_when_empty(q: WorkQueue) -> None:
    assert q.get(timeout=0) is None
    assert q.get(timeout=0.01) is None


def test_wait_idle(q: WorkQueue) -> None:
    assert q.wait_idle(timeout=0) is True
    movie(q, "a")
    assert q.wait_idle(timeout=0) is False
    job = take(q)
    assert q.wait_idle(timeout=0) is False  # in flight still counts
    q.done(job)
    assert q.wait_idle(timeout=0) is True


# -- discard ---------------------------------------------------------------------------------


def test_discard_paths(q: WorkQueue) -> None:
    q.put("tv", ("tv", "S"), ["S/e1", "S/e2"], Priority.HIGH)
    movie(q, "gone")
    movie(q, "kept")
    assert q.discard_paths(["S/e1", "gone", "never-queued"]) == 2
    assert len(q) == 2
    jobs = drain(q)
    assert [sorted(j.paths) for j in jobs] == [["S/e2"], ["kept"]]
    assert movie(q, "gone") is True  # a discarded path can come back


def test_discard_skips_in_flight_and_empties_follow_ups(q: WorkQueue) -> None:
    q.put("tv", ("tv", "S"), ["S/e1"], Priority.HIGH)
    job = take(q)
    q.put("tv", ("tv", "S"), ["S/e2"], Priority.HIGH)  # follow-up
    assert q.discard_paths(["S/e1", "S/e2"]) == 1      # e1 is in flight
    q.done(job)
    assert len(q) == 0 and q.wait_idle(timeout=0)


# -- introspection -----------------------------------------------------------------------


def test_snapshot_counts(q: WorkQueue, clock: FakeClock) -> None:
    q.put("tv", ("tv", "S"), ["S/e1", "S/e2"], Priority.LOW)
    clock.now += 42
    movie(q, "m", Priority.CRITICAL)
    take(q)
    snap = q.snapshot()
    assert snap["queued"] == 1 and snap["queued_paths"] == 2
    assert snap["in_flight"] == 1 and q.in_flight() == 1
    assert snap["by_priority"]["LOW"] == 1
    assert snap["oldest_wait_seconds"] == 42
    assert snap["puts"] == 2 and snap["jobs_created"] == 2 and snap["delivered"] == 1
    assert snap["paused"] is False


# -- scale and threads -----------------------------------------------------------------------


def test_hundred_thousand_jobs_complete(clock: FakeClock) -> None:
    """Catches accidental O(n^2): no timing assert, but a quadratic queue would not finish."""
    q = WorkQueue(clock=clock, aging_seconds=AGING)
    n = 100_000
    for i in range(n):
        q.put("movie", ("movie", str(i)), [str(i)], Priority(i % 5))
        if i % 7 == 0:  # raises leave stale heap copies behind
            q.put("movie", ("movie", str(i)), [str(i)], Priority.CRITICAL)
        clock.now += 0.001
    seen = 0
    last_rank = (-1, -1)
    while (job := q.get(timeout=0)) is not None:
        rank = (int(job.priority), int(job.key[1]))  # no aging at 100 s: strict order
        assert rank > last_rank
        last_rank = rank
        seen += 1
    assert seen == n and len(q) == 0


def test_threads_deliver_every_path_exactly_once() -> None:
    q = WorkQueue(aging_seconds=0.01)  # real clock, aggressive aging: exercises the mix
    shows = [("tv", f"/tv/show{i}") for i in range(10)]
    delivered: Counter[str] = Counter()
    flying: set[tuple[str, str]] = set()
    overlap: list[tuple[str, str]] = []
    lock = threading.Lock()

    def produce(seed: int) -> None:
        rng = random.Random(seed)
        for i in range(500):
            path = f"p{seed}-{i}"
            if rng.random() < 0.5:
                key = rng.choice(shows)
                q.put("tv", key, [path], Priority(rng.randrange(5)))
            else:
                q.put("movie", ("movie", path), [path], Priority(rng.randrange(5)))

    def consume() -> None:
        while (job := q.get()) is not None:
            with lock:
                if job.key in flying:
                    overlap.append(job.key)
                flying.add(job.key)
                delivered.update(job.paths)
            time.sleep(0)  # let other threads interleave while the job is in flight
            with lock:
                flying.discard(job.key)
            q.done(job)

    producers = [threading.Thread(target=produce, args=(s,)) for s in range(4)]
    consumers = [threading.Thread(target=consume) for _ in range(2)]
    for t in consumers + producers:
        t.start()
    for t in producers:
        t.join(30)
    assert q.wait_idle(timeout=30)
    q.close()
    for t in consumers:
        t.join(5)
    assert not any(t.is_alive() for t in producers + consumers)
    expected = {f"p{s}-{i}" for s in range(4) for i in range(500)}
    assert set(delivered) == expected
    assert max(delivered.values()) == 1
    assert overlap == []
