"""Client-side rate limiting for the TMDB API.

TMDB throttles by IP, so every worker thread shares one limiter and asks it before each
API request.  The design brief (§3) sizes the budget at 35 requests per rolling 10 s and
promises "never more than 35 in *any* rolling window".  A plain token bucket that starts
full breaks that promise: it hands out 35 tokens at t=0 and refills 3.5 more per second,
so 38.5 requests fit in the first 10 s.  :class:`TokenBucket` therefore keeps a *sliding
window log* -- the times of the last ``rate`` acquisitions -- and lets a request through
only when fewer than ``limit`` of them are younger than ``per`` seconds.  That bound holds
exactly, for every window, including the first one.

The decision logic is a set of pure functions over plain values (:func:`decide`,
:func:`penalized`, :func:`recovered`, :func:`backoff_delay`) so that shared backends
(a SQLite file for several processes, Redis for several hosts) can store the same state
elsewhere and reuse the same arithmetic; :class:`TokenBucket` only adds a lock, the
in-memory state and the sleeping.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

log = logging.getLogger(__name__)

Clock = Callable[[], float]
Sleep = Callable[[float], None]
Rng = Callable[[], float]


class RateLimiter(Protocol):
    """What the TMDB client needs from a limiter, whatever stores its state."""

    def acquire(self, cost: int = 1) -> None:
        """Block until ``cost`` more requests fit in the budget, then count them."""

    def complete(self) -> None:
        """The caller's request has its answer: it stays in the window until ``per`` seconds
        from *now*.  Counting a request from its start would let the server see more than
        ``rate`` in a window, because requests arrive anywhere between start and answer."""

    def penalize(self, retry_after: float | None = None) -> float:
        """Report a 429: pause *every* caller and lower the rate; return the pause in seconds."""

    def snapshot(self) -> dict[str, Any]:
        """Current rate, free slots, pause and counters, for metrics and the status page."""


@dataclass(frozen=True, slots=True)
class Policy:
    """Budget and adaptive back-off tuning.  Defaults follow the design brief §3.

    ``rate`` requests per rolling ``per`` seconds is the configured ceiling.  After a 429
    the effective rate drops by ``decrease`` (never under ``floor`` x ``rate``) and climbs
    back by ``recover_step`` x ``rate`` for each ``recover_after`` seconds without a 429.
    Pauses without a Retry-After grow ``backoff_base`` x 2**n up to ``backoff_cap``; any
    pause is cut at ``max_pause`` so a bogus header cannot park the workers for hours.
    ``jitter`` seconds (at most) are added to every wait so woken threads do not stampede.
    """

    rate: int = 35
    per: float = 10.0
    floor: float = 0.5
    decrease: float = 0.8
    recover_after: float = 60.0
    recover_step: float = 0.1
    backoff_base: float = 1.0
    backoff_cap: float = 60.0
    max_pause: float = 300.0
    jitter: float = 0.05

    def __post_init__(self) -> None:
        if self.rate < 1 or self.per <= 0:
            raise ValueError(f"rate must be >= 1 and per > 0, got {self.rate}/{self.per}s")
        if not (0 < self.floor <= 1 and 0 < self.decrease <= 1):
            raise ValueError("floor and decrease must be fractions in (0, 1]")

    @property
    def floor_rate(self) -> float:
        return max(1.0, self.rate * self.floor)


@dataclass(frozen=True, slots=True)
class Adaptive:
    """The part of the limiter state that 429s change (the window log is kept apart).

    ``calm_since`` is when the current clean period started (the end of the last pause);
    ``None`` means no 429 was ever seen.  ``strikes`` counts 429 bursts in a row.
    """

    rate: float
    paused_until: float = -math.inf
    strikes: int = 0
    calm_since: float | None = None


def limit_of(rate: float) -> int:
    """Whole requests allowed per window at an (adaptive, fractional) rate."""
    return max(1, math.floor(rate + 1e-9))


def decide(
    stamps: Sequence[float],
    limit: int,
    per: float,
    now: float,
    paused_until: float = -math.inf,
    cost: int = 1,
) -> float:
    """Seconds to wait before ``cost`` more requests may start at ``now`` (0.0 = go now).

    ``stamps`` are the times of earlier requests (any order, older ones ignored): their
    start, moved to their completion once the answer is in (see ``RateLimiter.complete``).
    A stamp leaves the window once ``now - stamp >= per``, so granting only while
    ``younger + cost <= limit`` keeps every rolling window at ``limit`` or fewer -- as the
    *server* sees arrivals too, since each arrival lies between its start and completion.
    """
    if now < paused_until:
        return paused_until - now
    younger = sorted(s for s in stamps if s > now - per)
    excess = len(younger) + cost - limit
    if excess <= 0:
        return 0.0
    if excess > len(younger):
        raise ValueError(f"cost {cost} can never fit in a limit of {limit}")
    return max(younger[excess - 1] + per - now, 1e-6)


def backoff_delay(
    attempt: int, rng: Rng, *, base: float = 1.0, cap: float = 60.0, jitter: float = 0.1
) -> float:
    """Exponential back-off with jitter: base x 2**attempt (+ up to ``jitter`` of it), capped.

    With ``rng`` returning 0 the sequence is exactly 1, 2, 4, 8, ... ``cap`` seconds.
    """
    delay = base * 2.0 ** min(attempt, 30)
    return min(cap, delay * (1.0 + jitter * rng()))


def recovered(policy: Policy, state: Adaptive, now: float) -> Adaptive:
    """Raise the rate one step per full clean period since the last pause ended.

    Computed from elapsed time rather than counted on calls, so an idle limiter is fully
    recovered when work resumes and every backend gets the same answer for the same state.
    """
    if state.calm_since is None or now < state.calm_since + policy.recover_after:
        return state
    steps = math.floor((now - state.calm_since) / policy.recover_after)
    rate = min(float(policy.rate), state.rate + steps * policy.recover_step * policy.rate)
    calm = None if rate >= policy.rate else state.calm_since + steps * policy.recover_after
    return replace(state, rate=rate, strikes=0, calm_since=calm)


def penalized(
    policy: Policy, state: Adaptive, now: float, retry_after: float | None, rng: Rng
) -> Adaptive:
    """The state after a 429 seen at ``now``.

    A 429 that arrives while already paused answers a request sent before the pause, so
    it belongs to the same burst: only its own Retry-After may extend the pause, and the
    rate is not cut again (four workers in one burst must not drop the rate to 0.8**4).
    """
    state = recovered(policy, state, now)
    fresh = now >= state.paused_until
    strikes = state.strikes + 1 if fresh else max(1, state.strikes)
    rate = max(policy.floor_rate, state.rate * policy.decrease) if fresh else state.rate
    if retry_after is not None:
        pause = max(0.0, retry_after)
    elif fresh:
        pause = backoff_delay(strikes - 1, rng, base=policy.backoff_base, cap=policy.backoff_cap)
    else:
        pause = 0.0
    until = max(state.paused_until, now + min(pause, policy.max_pause))
    return Adaptive(rate=rate, paused_until=until, strikes=strikes, calm_since=until)


@dataclass(slots=True)
class Counters:
    """This process's own limiter counters (for snapshots), whatever stores the budget."""

    acquired: int = 0
    waits: int = 0
    waited_seconds: float = 0.0
    penalties: int = 0


def check_cost(policy: Policy, cost: int) -> None:
    """A single acquire may take at most what fits in the lowest adaptive limit."""
    most = limit_of(policy.floor_rate)
    if not 1 <= cost <= most:
        raise ValueError(f"cost must be 1..{most}, got {cost}")


def wait_counted(wait: float, policy: Policy, counters: Counters, lock: threading.Lock,
                 rng: Rng, sleep: Sleep) -> None:
    """Sleep ``wait`` plus jitter (so woken threads do not stampede), counted for snapshots."""
    delay = wait + policy.jitter * rng()
    with lock:
        counters.waits += 1
        counters.waited_seconds += delay
    sleep(delay)


class TokenBucket:
    """In-process :class:`RateLimiter` shared by the worker threads of one sidecar.

    Named after the brief's token bucket; it is a sliding-window log underneath (see the
    module docstring for why).  ``clock`` must be monotonic; ``clock``, ``sleep`` and
    ``rng`` are injected so tests run on a fake clock.  Extra keyword arguments tune the
    adaptive behaviour (see :class:`Policy`).
    """

    def __init__(
        self,
        rate: int = 35,
        per: float = 10.0,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
        rng: Rng = random.random,
        **tuning: float,
    ) -> None:
        self.policy = Policy(rate, per, **tuning)
        self._clock, self._sleep, self._rng = clock, sleep, rng
        self._lock = threading.Lock()
        # Unbounded, pruned by age in _try_take: answers arrive out of order, so the leftmost
        # stamp is not always the oldest, and a ``maxlen`` deque evicted stamps still in the
        # window (bench_fetch: 48 requests in a 40/s window and 86 429s at 100-300 ms latency).
        self._stamps: deque[float] = deque()
        self._started = threading.local()  # each thread's last start stamp, for complete()
        self._state = Adaptive(rate=float(self.policy.rate))
        self._counters = Counters()

    def __repr__(self) -> str:
        return f"TokenBucket(rate={self.policy.rate}, per={self.policy.per})"

    def acquire(self, cost: int = 1) -> None:
        check_cost(self.policy, cost)
        while True:
            wait = self._try_take(cost)
            if wait <= 0:
                return
            wait_counted(wait, self.policy, self._counters, self._lock, self._rng, self._sleep)

    def _try_take(self, cost: int) -> float:
        """One locked decision: take the slots and return 0, or return the wait."""
        with self._lock:
            now = self._clock()
            horizon = now - self.policy.per
            if any(s <= horizon for s in self._stamps):
                self._stamps = deque(s for s in self._stamps if s > horizon)
            self._state = recovered(self.policy, self._state, now)
            wait = decide(
                self._stamps, limit_of(self._state.rate), self.policy.per, now,
                self._state.paused_until, cost,
            )
            if wait <= 0:
                self._stamps.extend([now] * cost)
                self._started.stamp = now
                self._counters.acquired += cost
            return wait

    def complete(self) -> None:
        """Move this thread's last start stamp to now (its answer has arrived); a request in
        flight longer than the window lost its stamp to pruning and is counted afresh."""
        started = getattr(self._started, "stamp", None)
        if started is None:
            return
        self._started.stamp = None
        with self._lock:
            now = self._clock()
            for index, stamp in enumerate(self._stamps):
                if stamp == started:
                    self._stamps[index] = now
                    return
            self._stamps.append(now)

    def penalize(self, retry_after: float | None = None) -> float:
        with self._lock:
            now = self._clock()
            before = self._state.rate
            self._state = penalized(self.policy, self._state, now, retry_after, self._rng)
            self._counters.penalties += 1
            pause = max(0.0, self._state.paused_until - now)
            rate = self._state.rate
        if rate < before:
            log.warning(
                "TMDB answered 429: pausing all requests for %.1f s, rate %.1f -> %.1f per %g s",
                pause, before, rate, self.policy.per,
            )
        return pause

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            now = self._clock()
            state = recovered(self.policy, self._state, now)
            limit = limit_of(state.rate)
            used = sum(1 for s in self._stamps if s > now - self.policy.per)
            c = self._counters
            return {
                "rate": state.rate,
                "configured_rate": self.policy.rate,
                "per": self.policy.per,
                "limit": limit,
                "tokens": max(0, limit - used),
                "paused_until": state.paused_until if state.paused_until > now else None,
                "paused_for": max(0.0, state.paused_until - now),
                "strikes": state.strikes,
                "acquired": c.acquired,
                "waits": c.waits,
                "waited_seconds": round(c.waited_seconds, 3),
                "penalties": c.penalties,
            }
