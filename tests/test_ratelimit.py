"""Rate limiter tests: all on a fake clock, so they are instant and never flaky."""

from __future__ import annotations

import random
import threading
import time

import pytest

from sidecar.ratelimit import (
    Adaptive,
    Policy,
    RateLimiter,
    TokenBucket,
    backoff_delay,
    decide,
    limit_of,
    penalized,
    recovered,
)
from tests.fakes.budget_load import max_in_any_window
from tests.fakes.fake_clock import FakeClock


def bucket(clock: FakeClock, rate: int = 35, per: float = 10.0, **tuning: float) -> TokenBucket:
    return TokenBucket(rate, per, clock=clock, sleep=clock.sleep, rng=lambda: 0.0, **tuning)


def test_token_bucket_satisfies_the_protocol() -> None:
    limiter: RateLimiter = bucket(FakeClock())
    limiter.acquire()
    assert limiter.snapshot()["acquired"] == 1


def test_first_window_holds_rate_not_capacity_plus_refill() -> None:
    """The brief's bucket allows 35 + 3.5/s in the first 10 s; the limiter must not."""
    clock = FakeClock()
    limiter = bucket(clock)
    stamps = []
    for _ in range(40):
        limiter.acquire()
        stamps.append(clock.last_read)
    assert stamps[:35] == [1000.0] * 35  # a full burst is fine ...
    assert stamps[35] == pytest.approx(1010.0)  # ... but the 36th waits a whole window
    assert max_in_any_window(stamps, 10.0) == 35


@pytest.mark.parametrize(("rate", "per"), [(35, 10.0), (7, 2.0), (1, 0.5)])
def test_no_rolling_window_ever_exceeds_rate(rate: int, per: float) -> None:
    """Thousands of acquisitions with random gaps, random costs and random 429s."""
    rnd = random.Random(rate)
    clock = FakeClock()
    limiter = TokenBucket(rate, per, clock=clock, sleep=clock.sleep, rng=rnd.random)
    stamps: list[float] = []
    while len(stamps) < 5000:
        clock.advance(rnd.choice([0.0, 0.0, 0.0, 0.01, per / rate, per / 3, rnd.random()]))
        if rnd.random() < 0.002:
            limiter.penalize(rnd.choice([None, 0.5, 3.0]))
        cost = 1 if rate < 2 or rnd.random() < 0.9 else 2
        limiter.acquire(cost)
        stamps += [clock.last_read] * cost
    assert max_in_any_window(stamps, per) == rate  # saturated, and never above
    ordered = sorted(stamps)
    assert all(b - a >= per for a, b in zip(ordered, ordered[rate:], strict=False))


def test_no_rolling_window_exceeds_rate_with_threads() -> None:
    clock = FakeClock()
    limiter = TokenBucket(10, 1.0, clock=clock, sleep=clock.sleep, rng=random.Random(1).random)
    stamps: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(250):
            limiter.acquire()
            with lock:
                stamps.append(clock.last_read)
            time.sleep(0)  # let the other threads interleave

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(stamps) == 1000
    assert max_in_any_window(stamps, 1.0) == 10


def test_waits_get_jitter_from_the_injected_rng() -> None:
    clock = FakeClock()
    limiter = TokenBucket(1, 2.0, clock=clock, sleep=clock.sleep, rng=lambda: 1.0, jitter=0.05)
    limiter.acquire()
    limiter.acquire()
    assert clock.sleeps == [pytest.approx(2.05)]
    snap = limiter.snapshot()
    assert snap["waits"] == 1 and snap["waited_seconds"] == pytest.approx(2.05)


def test_penalize_pauses_every_thread() -> None:
    """Four workers blocked on one 429: none starts before the pause ends."""
    clock = FakeClock()
    gate = threading.Event()
    asked: list[float] = []
    lock = threading.Lock()

    def held_sleep(seconds: float) -> None:
        with lock:
            asked.append(seconds)
        gate.wait(timeout=10)

    limiter = TokenBucket(35, 10.0, clock=clock, sleep=held_sleep, rng=lambda: 0.0)
    assert limiter.penalize(5.0) == pytest.approx(5.0)
    started: list[float] = []

    def worker() -> None:
        limiter.acquire()
        started.append(clock.now)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 10
    while len(asked) < 4 and time.monotonic() < deadline:
        time.sleep(0.001)
    assert asked == [pytest.approx(5.0)] * 4 and started == []  # all four are waiting
    clock.advance(5.0)
    gate.set()
    for t in threads:
        t.join(timeout=10)
    assert started == [1005.0] * 4


def test_adaptive_decrease_is_once_per_burst_and_has_a_floor() -> None:
    clock = FakeClock()
    limiter = bucket(clock)
    limiter.penalize(2.0)
    assert limiter.snapshot()["rate"] == pytest.approx(28.0)
    limiter.penalize(2.0)  # same burst: answer to a request sent before the pause
    assert limiter.snapshot()["rate"] == pytest.approx(28.0)
    clock.advance(1.0)
    assert limiter.penalize(None) == pytest.approx(1.0)  # same burst: pause not stretched
    assert limiter.snapshot()["strikes"] == 1
    for _ in range(10):
        clock.advance(2.0)
        limiter.penalize(2.0)
    snap = limiter.snapshot()
    assert snap["rate"] == pytest.approx(17.5) and snap["limit"] == 17
    assert snap["penalties"] == 13


def test_lower_rate_is_enforced_by_acquire() -> None:
    clock = FakeClock()
    limiter = bucket(clock)
    limiter.penalize(1.0)  # rate 35 -> 28
    clock.advance(1.0)
    stamps = []
    for _ in range(29):
        limiter.acquire()
        stamps.append(clock.last_read)
    assert stamps[27] == 1001.0 and stamps[28] == pytest.approx(1011.0)


def test_slow_recovery_after_clean_periods() -> None:
    clock = FakeClock()
    limiter = bucket(clock)
    limiter.penalize(4.0)  # pause ends at 1004, the clean period starts there
    clock.advance(4.0 + 59.9)
    assert limiter.snapshot()["rate"] == pytest.approx(28.0)
    clock.advance(0.1)
    assert limiter.snapshot()["rate"] == pytest.approx(31.5)
    clock.advance(60.0)
    assert limiter.snapshot()["rate"] == pytest.approx(35.0)
    clock.advance(600.0)
    assert limiter.snapshot()["rate"] == pytest.approx(35.0)  # never above configured


def test_idle_limiter_recovers_fully_and_forgets_strikes() -> None:
    clock = FakeClock()
    limiter = bucket(clock)
    for _ in range(5):
        limiter.penalize(None)
        clock.advance(limiter.snapshot()["paused_for"])
    assert limiter.snapshot()["strikes"] == 5
    clock.advance(3600.0)
    limiter.acquire()
    snap = limiter.snapshot()
    assert snap["rate"] == 35.0 and snap["strikes"] == 0
    assert limiter.penalize(None) == pytest.approx(1.0)  # back-off starts over


def test_backoff_without_retry_after_doubles_up_to_the_cap() -> None:
    clock = FakeClock()
    limiter = bucket(clock)
    pauses = []
    for _ in range(9):
        pauses.append(limiter.penalize(None))
        clock.advance(pauses[-1])
    assert pauses == [1, 2, 4, 8, 16, 32, 60, 60, 60]


def test_retry_after_is_obeyed_but_capped() -> None:
    clock = FakeClock()
    limiter = bucket(clock, max_pause=120.0)
    assert limiter.penalize(7.5) == pytest.approx(7.5)
    assert limiter.penalize(3.0) == pytest.approx(7.5)  # a shorter pause never shortens it
    clock.advance(8.0)
    assert limiter.penalize(3600.0) == pytest.approx(120.0)
    snap = limiter.snapshot()
    assert snap["paused_for"] == pytest.approx(120.0)
    assert snap["paused_until"] == pytest.approx(clock.now + 120.0)


def test_snapshot_reports_tokens_and_counters() -> None:
    clock = FakeClock()
    limiter = bucket(clock, rate=10, per=5.0)
    for _ in range(4):
        limiter.acquire()
    snap = limiter.snapshot()
    assert snap == {
        "rate": 10.0, "configured_rate": 10, "per": 5.0, "limit": 10, "tokens": 6,
        "paused_until": None, "paused_for": 0.0, "strikes": 0, "acquired": 4, "waits": 0,
        "waited_seconds": 0.0, "penalties": 0,
    }
    clock.advance(5.0)
    assert limiter.snapshot()["tokens"] == 10


def test_cost_must_fit_the_floor_limit() -> None:
    limiter = bucket(FakeClock(), rate=10)
    with pytest.raises(ValueError):
        limiter.acquire(0)
    with pytest.raises(ValueError):
        limiter.acquire(6)  # floor is 50 % of 10: a cost of 6 could never be granted
    limiter.acquire(5)
    assert limiter.snapshot()["acquired"] == 5


def test_bad_policy_is_refused() -> None:
    with pytest.raises(ValueError):
        Policy(rate=0)
    with pytest.raises(ValueError):
        Policy(floor=0.0)
    with pytest.raises(TypeError):
        TokenBucket(10, 1.0, no_such_knob=1.0)


# --- the pure functions shared backends reuse ------------------------------------------


def test_decide_counts_only_stamps_inside_the_window() -> None:
    assert decide([], 2, 10.0, now=0.0) == 0.0
    assert decide([5.0, 1.0], 2, 10.0, now=6.0) == pytest.approx(5.0)  # order does not matter
    assert decide([5.0, 1.0], 2, 10.0, now=11.0) == 0.0  # 1.0 left the window exactly at 11
    assert decide([1.0, 5.0], 3, 10.0, now=6.0, cost=2) == pytest.approx(5.0)
    assert decide([1.0, 5.0], 2, 10.0, now=6.0, cost=2) == pytest.approx(9.0)
    assert decide([], 5, 10.0, now=3.0, paused_until=4.5) == pytest.approx(1.5)
    with pytest.raises(ValueError):
        decide([], 2, 10.0, now=0.0, cost=3)


def test_limit_of_rounds_down_but_never_to_zero() -> None:
    assert [limit_of(r) for r in (35.0, 28.0, 22.4, 17.92, 0.3)] == [35, 28, 22, 17, 1]
    assert limit_of(0.7 * 10 / 0.7) == 10  # float noise must not cost a slot


def test_backoff_delay_sequence_and_jitter() -> None:
    assert [backoff_delay(n, lambda: 0.0) for n in range(8)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert backoff_delay(1, lambda: 1.0, jitter=0.1) == pytest.approx(2.2)
    assert backoff_delay(99, lambda: 1.0) == 60.0


def test_penalized_and_recovered_are_pure() -> None:
    policy = Policy()
    start = Adaptive(rate=35.0)
    after = penalized(policy, start, 100.0, None, lambda: 0.0)
    assert start == Adaptive(rate=35.0)  # not mutated
    assert after == Adaptive(rate=28.0, paused_until=101.0, strikes=1, calm_since=101.0)
    assert recovered(policy, after, 160.9) is after
    assert recovered(policy, after, 161.0) == Adaptive(
        rate=31.5, paused_until=101.0, strikes=0, calm_since=161.0
    )
    assert recovered(policy, after, 1000.0).calm_since is None  # fully recovered


def test_complete_keeps_a_request_in_the_window_until_its_answer_arrived() -> None:
    """Counted from its completion, a slow request cannot let the server see > rate/window."""
    clock = FakeClock(start=0.0)
    limiter = bucket(clock, rate=2, per=1.0)
    limiter.acquire()
    clock.now = 0.9  # the first answer took 0.9 s to arrive
    limiter.complete()
    limiter.acquire()
    limiter.complete()
    clock.now = 1.0
    limiter.acquire()  # must wait until 0.9 + 1.0: the first request may have arrived at 0.89
    assert clock.now >= 1.9


def test_a_late_answer_keeps_its_slot_when_later_requests_answer_first() -> None:
    """Answers arrive out of order, so the oldest stamp is not always the leftmost one: a
    window log that evicted by position dropped the late answer and let a 4th request
    into a window of 3 (bench_fetch saw 48 in a 40/s window and 86 429s)."""
    clock = FakeClock(start=0.0)
    bucket = TokenBucket(3, 1.0, clock=clock, sleep=clock.sleep, rng=lambda: 0.0)

    def request(start: float, answer: float) -> None:
        def run() -> None:
            clock.now = start
            bucket.acquire()
            clock.now = max(clock.now, answer)
            bucket.complete()

        thread = threading.Thread(target=run)
        thread.start()
        thread.join()

    bucket.acquire()  # A starts at 0.0 and is answered last, at 0.9
    request(0.01, 0.1)  # B
    request(0.02, 0.2)  # C
    clock.now = 0.9
    bucket.complete()
    request(1.15, 1.15)  # D: B has left the window
    request(1.25, 1.25)  # E: C has left the window
    request(1.26, 1.26)  # F: A (answered at 0.9), D and E are in it: wait for A to leave
    assert clock.now >= 1.9
