"""Shared rate budget: one window and one back-off state for several limiters.

Unit tests use the file backend on a fake clock (several limiter objects = several SQLite
connections on one file, as separate processes would have).  The ``e2e`` tests run real
processes against a folder and against a real ``redis-server`` on 127.0.0.1.
"""

from __future__ import annotations

import os
import random
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from sidecar.errors import ConfigError, TmdbUnavailable
from sidecar.ratelimit import RateLimiter, TokenBucket
from sidecar.sharedlimit import SharedLimiter, shared_limiter
from tests.e2e_kit import free_port
from tests.fakes.budget_load import hammer_processes, max_in_any_window, utilisation
from tests.fakes.fake_clock import FakeClock

Factory = Callable[..., SharedLimiter]


@pytest.fixture
def fast_dir(tmp_path: Path) -> Iterator[Path]:
    """A folder in RAM when there is one: every grant is a commit, and fsync on a busy disk
    would make the fake-clock tests slow for no gain (the e2e tests use a real disk)."""
    if not os.path.isdir("/dev/shm"):
        yield tmp_path
        return
    with tempfile.TemporaryDirectory(dir="/dev/shm", prefix="scanarr-test-") as folder:
        yield Path(folder)


@pytest.fixture
def on_folder(fast_dir: Path) -> Iterator[Factory]:
    """Limiters on one shared folder and a fake clock; all closed after the test."""
    made: list[SharedLimiter] = []

    def make(clock: FakeClock, rate: int = 35, per: float = 10.0, **tuning: float) -> SharedLimiter:
        limiter = shared_limiter(str(fast_dir), rate, per, clock=clock, sleep=clock.sleep,
                                 rng=lambda: 0.0, **tuning)
        made.append(limiter)
        return limiter

    yield make
    for limiter in made:
        limiter.close()


def grant(limiter: SharedLimiter, cost: int = 1) -> float:
    limiter.acquire(cost)
    granted = limiter.last_grant()
    assert granted is not None
    return granted


# --- one window, one state, on a fake clock ------------------------------------------


def test_satisfies_the_protocol(on_folder: Factory) -> None:
    limiter: RateLimiter = on_folder(FakeClock())
    limiter.acquire()
    assert limiter.snapshot()["acquired"] == 1


def test_two_limiters_share_one_window(on_folder: Factory) -> None:
    clock = FakeClock()
    a, b = on_folder(clock, rate=5), on_folder(clock, rate=5)
    stamps = [grant(a), grant(b), grant(a), grant(b), grant(a)]
    assert stamps == [1000.0] * 5 and b.snapshot()["tokens"] == 0
    assert grant(b) == pytest.approx(1010.0)  # the 6th waits a whole window, whoever asks
    assert clock.sleeps == [pytest.approx(10.0)]


def test_random_traffic_from_three_limiters_never_exceeds_the_window(on_folder: Factory) -> None:
    rnd = random.Random(7)
    clock = FakeClock()
    limiters = [on_folder(clock, rate=7, per=2.0) for _ in range(3)]
    stamps: list[float] = []
    while len(stamps) < 400:
        clock.advance(rnd.choice([0.0, 0.0, 0.01, 2.0 / 7, 0.7, rnd.random()]))
        if rnd.random() < 0.01:
            rnd.choice(limiters).penalize(rnd.choice([None, 0.5]))
        cost = 1 if rnd.random() < 0.9 else 2
        stamps += [grant(rnd.choice(limiters), cost)] * cost
    assert max_in_any_window(stamps, 2.0) == 7


def test_semantics_match_the_in_process_bucket(on_folder: Factory) -> None:
    """The same story told to a TokenBucket and to the shared limiter: same grants, same state."""
    def story(limiter: RateLimiter, clock: FakeClock, last: Callable[[], float]) -> list[object]:
        seen: list[object] = []
        for step in range(60):
            if step in (20, 21, 40):
                seen.append(round(limiter.penalize(None if step == 40 else 3.0), 6))
            if step == 45:
                clock.advance(130.0)
            limiter.acquire()
            seen.append(round(last(), 6))
            if step % 3 == 0:  # some requests take a while to answer
                clock.advance(0.4)
                limiter.complete()
        snap = limiter.snapshot()
        return [*seen, snap["rate"], snap["limit"], snap["tokens"], snap["strikes"]]

    c1, c2 = FakeClock(), FakeClock()
    bucket = TokenBucket(10, 5.0, clock=c1, sleep=c1.sleep, rng=lambda: 0.0)
    shared = on_folder(c2, rate=10, per=5.0)
    expected = story(bucket, c1, c1)
    assert story(shared, c2, lambda: shared.last_grant() or 0.0) == expected
    assert c1.sleeps == pytest.approx(c2.sleeps)


def test_complete_counts_a_request_from_its_answer(on_folder: Factory) -> None:
    clock = FakeClock()
    a, b = on_folder(clock, rate=2), on_folder(clock, rate=2)
    grant(a)
    clock.advance(3.0)
    a.complete()  # answered at 1003: in the window until 1013
    a.complete()  # nothing left to complete: no effect
    assert grant(b) == 1003.0
    assert grant(b) == pytest.approx(1013.0)


def test_a_429_in_one_pauses_and_slows_the_other(on_folder: Factory) -> None:
    clock = FakeClock()
    a, b = on_folder(clock), on_folder(clock)
    assert a.penalize(5.0) == pytest.approx(5.0)
    snap = b.snapshot()
    assert snap["paused_for"] == pytest.approx(5.0) and snap["rate"] == pytest.approx(28.0)
    assert snap["shared_penalties"] == 1 and snap["last_429"] == 1000.0
    assert grant(b) == pytest.approx(1005.0)
    stamps = [grant(b) for _ in range(28)]
    assert stamps[-1] == pytest.approx(1015.0)  # 28 per window now, for every instance


def test_state_outlives_the_process(on_folder: Factory) -> None:
    clock = FakeClock()
    first = on_folder(clock)
    first.penalize(4.0)
    first.close()
    assert on_folder(clock).snapshot()["paused_for"] == pytest.approx(4.0)


def test_a_clock_stepping_back_cannot_park_the_instances(on_folder: Factory) -> None:
    clock = FakeClock(start=10_000.0)
    a = on_folder(clock, rate=2, per=10.0)
    grant(a), grant(a)
    a.penalize(30.0)
    clock.now = 1000.0  # NTP stepped the wall clock back by ~2.5 hours
    assert a.snapshot()["paused_for"] == pytest.approx(300.0)  # cut at max_pause, not 9000 s
    assert grant(a) == pytest.approx(1300.0)  # and stamps "from the future" expire normally
    assert clock.sleeps == [pytest.approx(300.0)]


def test_cost_is_checked_against_the_floor(on_folder: Factory) -> None:
    limiter = on_folder(FakeClock(), rate=10)
    with pytest.raises(ValueError):
        limiter.acquire(6)
    limiter.acquire(5)
    assert limiter.snapshot()["acquired"] == 5


# --- URLs and failures ------------------------------------------------------------------


@pytest.mark.parametrize("url", [
    "", "relative/dir", "ftp://host/dir", "file://otherhost/srv/x", "/no/such/folder/here",
    "redis://", "redis://host:notaport/0", "redis://host/abc", "redis://host/0?prefix=",
    "redis://host:6379/0?no_such_option=1",
])
def test_bad_urls_name_the_setting(url: str) -> None:
    with pytest.raises(ConfigError) as info:
        shared_limiter(url, 35, 10.0)
    assert info.value.setting == "rate_limit_url"


def test_bad_url_errors_hide_the_password() -> None:
    with pytest.raises(ConfigError) as info:
        shared_limiter("redis://:hunter2@host:bad/0", 35, 10.0)
    assert "hunter2" not in str(info.value)


def test_folder_forms(tmp_path: Path) -> None:
    for url in (str(tmp_path), f"file://{tmp_path}", f"file://localhost{tmp_path}"):
        limiter = shared_limiter(url, 35, 10.0)
        assert limiter.snapshot()["backend"] == "file"
        limiter.close()
    assert (tmp_path / "scanarr-shared.sqlite3").exists()


def test_unreachable_redis_means_try_later() -> None:
    limiter = shared_limiter(f"redis://127.0.0.1:{free_port()}/0", 35, 10.0)
    with pytest.raises(TmdbUnavailable, match="shared rate budget"):
        limiter.acquire()
    assert "unreachable" in limiter.snapshot()["error"]


def test_redis_uses_the_server_clock() -> None:
    with pytest.raises(ValueError):
        shared_limiter("redis://127.0.0.1:6379/0", 35, 10.0, clock=FakeClock())


# --- Redis on a real server -------------------------------------------------------------


def test_redis_limiters_share_window_and_state(redis_url: str) -> None:
    url = f"{redis_url}?prefix=unit"
    a, b = shared_limiter(url, 5, 0.5), shared_limiter(url, 5, 0.5)
    try:
        stamps = [grant(x) for x in (a, b, a, b, a)]
        assert b.snapshot()["tokens"] == 0
        stamps.append(grant(b))
        assert stamps[5] - stamps[0] >= 0.5  # the 6th waited for the first to leave
        assert a.penalize(0.3) == pytest.approx(0.3, abs=0.01)
        snap = b.snapshot()
        assert snap["rate"] == 4.0 and snap["backend"] == "redis" and snap["shared_penalties"] == 1
        assert grant(b) >= snap["last_429"] + 0.3
    finally:
        a.close()
        b.close()


def test_redis_complete_moves_the_stamp(redis_url: str) -> None:
    limiter = shared_limiter(f"{redis_url}?prefix=complete", 2, 0.5, jitter=0.0)
    try:
        first = grant(limiter)
        time.sleep(0.2)
        limiter.complete()
        grant(limiter)
        assert grant(limiter) >= first + 0.7  # counted from the answer, not the start
    finally:
        limiter.close()


def test_redis_repairs_a_pause_from_a_clock_that_stepped_back(redis_url: str) -> None:
    limiter = shared_limiter(f"{redis_url}?prefix=step", 5, 1.0, max_pause=0.2)
    client = redis.Redis.from_url(redis_url)
    try:
        seconds, micros = client.time()
        hour_ahead = (seconds + 3600) * 1_000_000 + micros
        client.hset("step:budget:state", mapping={
            "v": "old", "rate": "4.0", "paused_until": hour_ahead, "calm_since": hour_ahead})
        started = time.monotonic()
        limiter.acquire()
        assert time.monotonic() - started < 1.0  # waited max_pause at most, not an hour
        assert int(client.hget("step:budget:state", "paused_until") or 0) < hour_ahead
    finally:
        limiter.close()
        client.close()


# --- real processes ---------------------------------------------------------------------

RATE, PER, SECONDS = 20, 1.0, 2.25  # two whole windows after the first grant, and a margin


def check_run(url: str, processes: int) -> None:
    run = hammer_processes(url, processes=processes, rate=RATE, per=PER, seconds=SECONDS)
    # Every process ran and reported.  The budget guarantees the total, not fair shares:
    # a process that keeps losing the race for freed slots may get none in two windows.
    assert len(run.per_process) == processes and sum(map(len, run.per_process)) > 0
    assert max_in_any_window(run.grants, PER) <= RATE
    assert utilisation(run.grants, RATE, PER, windows=2) >= 0.9


@pytest.mark.e2e
@pytest.mark.parametrize("processes", [2, 3])
def test_processes_share_one_budget_through_a_folder(tmp_path: Path, processes: int) -> None:
    check_run(f"file://{tmp_path}", processes)


@pytest.mark.e2e
def test_hosts_share_one_budget_through_redis(redis_url: str) -> None:
    check_run(f"{redis_url}?prefix=e2e", 2)


@pytest.mark.e2e
@pytest.mark.parametrize("backend", ["file", "redis"])
def test_a_429_in_one_process_pauses_all(tmp_path: Path, request: pytest.FixtureRequest,
                                         backend: str) -> None:
    url = f"file://{tmp_path}" if backend == "file" else (
        request.getfixturevalue("redis_url") + "?prefix=pause")
    run = hammer_processes(url, processes=3, rate=RATE, per=PER, seconds=2.3,
                           penalize_at=1.2, pause=0.6)
    assert run.penalty is not None
    before, pause, after = run.penalty
    assert pause == pytest.approx(0.6, abs=0.01)
    during = [s for s in run.grants if after < s < before + pause]
    assert during == []  # nobody, in any process, was let through during the pause
    resumed = min(s for s in run.grants if s > after)
    assert resumed >= before + pause
    later = [s for s in run.grants if s >= resumed]
    assert max_in_any_window(later, PER) <= RATE * 0.8  # and everyone slowed to 16 per window
