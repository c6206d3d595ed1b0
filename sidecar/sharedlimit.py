"""A TMDB rate budget shared by several Scanarr processes or machines.

TMDB counts requests per IP address, not per process (design brief §3.4).  A sidecar
beside Plex and another beside Jellyfin, or several containers behind one NAT, each with
its own in-process :class:`~sidecar.ratelimit.TokenBucket`, would together send N times
the budget and be throttled.  :func:`shared_limiter` keeps the same sliding-window log and
adaptive state in a store every instance sees:

* ``file:///shared/dir`` (or ``/shared/dir``): a SQLite file in that folder, for processes
  on one machine (:mod:`sidecar.sharedsqlite`);
* ``redis://host:6379/0?prefix=scanarr``: Redis, for several machines
  (:mod:`sidecar.sharedredis`).

Stores decide atomically with the pure functions of :mod:`sidecar.ratelimit`, so "never
more than ``rate`` in any rolling window" and the 429 back-off and recovery are exactly
those of the in-process limiter -- except that a 429 seen by one instance now pauses and
slows *all* of them.  Every instance should be configured with the same rate and window;
if they differ, each stays within its own (the strictest one wins).

If the store cannot be reached, :meth:`SharedLimiter.acquire` raises
:class:`~sidecar.errors.TmdbUnavailable`: without the shared count no request is safe, and
the worker already knows to try such items again later.
"""

from __future__ import annotations

import logging
import random
import sqlite3
import threading
import time
from typing import Any, Protocol

from sidecar.errors import ConfigError, TmdbUnavailable
from sidecar.ratelimit import (
    Adaptive,
    Clock,
    Counters,
    Policy,
    Rng,
    Sleep,
    check_cost,
    limit_of,
    wait_counted,
)
from sidecar.sharedbase import SETTING, parse_backend_url
from sidecar.sharedsqlite import SqliteBudget

log = logging.getLogger(__name__)


class BudgetStore(Protocol):
    """One shared window log + adaptive state; every method is one atomic step."""

    backend: str
    errors: tuple[type[Exception], ...]

    def take(self, policy: Policy, cost: int) -> tuple[float, float, Any]:
        """Count ``cost`` grants (wait 0.0) or not: (seconds to wait, the store's now, ref).

        ``ref`` (None unless granted) names the new stamps for :meth:`complete`.
        """

    def complete(self, ref: Any) -> None:
        """Move the stamps ``ref`` names to the store's now."""

    def penalize(
        self, policy: Policy, retry_after: float | None, rng: Rng
    ) -> tuple[Adaptive, Adaptive, float]:
        """Apply a 429; return the state before, after, and the store's ``now``."""

    def peek(self, policy: Policy) -> tuple[Adaptive, int, float, float | None, int]:
        """(state, slots used in the window, now, last 429 time, shared 429 count)."""

    def close(self) -> None:
        """Release connections."""


class SharedLimiter:
    """A :class:`~sidecar.ratelimit.RateLimiter` whose state lives in a :class:`BudgetStore`.

    Only the waiting happens here, outside any store transaction; ``sleep`` and ``rng``
    are injected for tests.  Counters in :meth:`snapshot` are this process's own; the
    rate, free slots and pause are the shared ones.
    """

    def __init__(
        self, store: BudgetStore, policy: Policy, *, sleep: Sleep = time.sleep,
        rng: Rng = random.random,
    ) -> None:
        self.store, self.policy = store, policy
        self._sleep, self._rng = sleep, rng
        self._lock = threading.Lock()
        self._counters = Counters()
        self._local = threading.local()

    def __repr__(self) -> str:
        p = self.policy
        return f"SharedLimiter({self.store.backend}, rate={p.rate}, per={p.per})"

    def acquire(self, cost: int = 1) -> None:
        check_cost(self.policy, cost)
        while True:
            wait, now, ref = self._call(self.store.take, self.policy, cost)
            if wait <= 0:
                self._local.granted_at, self._local.ref = now, ref
                with self._lock:
                    self._counters.acquired += cost
                return
            wait_counted(wait, self.policy, self._counters, self._lock, self._rng, self._sleep)

    def complete(self) -> None:
        """This thread's last request has its answer: count it from now (see RateLimiter).

        A store failure here is logged, not raised: the request already succeeded, and its
        stamp simply stays at its start time.
        """
        ref = getattr(self._local, "ref", None)
        if ref is None:
            return
        self._local.ref = None
        try:
            self.store.complete(ref)
        except self.store.errors as exc:
            log.warning("shared rate budget (%s): could not complete a request: %s",
                        self.store.backend, exc)

    def last_grant(self) -> float | None:
        """When this thread's last :meth:`acquire` was counted, on the store's clock.

        That is the time the shared window holds for the request (the Redis server's
        clock for Redis, the wall clock for a folder): what request logs can be lined up
        with, and what the tests check the rolling-window bound on.
        """
        granted: float | None = getattr(self._local, "granted_at", None)
        return granted

    def penalize(self, retry_after: float | None = None) -> float:
        before, after, now = self._call(self.store.penalize, self.policy, retry_after, self._rng)
        with self._lock:
            self._counters.penalties += 1
        pause = max(0.0, after.paused_until - now)
        if after.rate < before.rate:
            log.warning(
                "TMDB answered 429: pausing every instance for %.1f s, shared rate %.1f -> %.1f"
                " per %g s", pause, before.rate, after.rate, self.policy.per,
            )
        return pause

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            c = self._counters
            mine = {"acquired": c.acquired, "waits": c.waits,
                    "waited_seconds": round(c.waited_seconds, 3), "penalties": c.penalties}
        head = {"backend": self.store.backend, "configured_rate": self.policy.rate,
                "per": self.policy.per}
        try:
            state, used, now, last_429, shared = self.store.peek(self.policy)
        except self.store.errors as exc:
            return {**head, **mine, "error": f"shared rate budget unreachable: {exc}"}
        limit = limit_of(state.rate)
        return {
            **head, "rate": state.rate, "limit": limit, "tokens": max(0, limit - used),
            "paused_until": state.paused_until if state.paused_until > now else None,
            "paused_for": max(0.0, state.paused_until - now), "strikes": state.strikes,
            **mine, "shared_penalties": shared, "last_429": last_429,
        }

    def _call(self, fn: Any, *args: Any) -> Any:
        """Run one store step; a store that cannot be reached means "try the item later"."""
        try:
            return fn(*args)
        except self.store.errors as exc:
            raise TmdbUnavailable(f"shared rate budget ({self.store.backend}) unreachable: "
                                  f"{type(exc).__name__}: {exc}") from exc

    def close(self) -> None:
        self.store.close()


def shared_limiter(
    url: str, rate: int, per: float, *, clock: Clock | None = None, sleep: Sleep = time.sleep,
    rng: Rng = random.random, **tuning: float,
) -> SharedLimiter:
    """The shared limiter the URL names (see the module docstring for the forms).

    ``clock`` replaces the file backend's wall clock (tests); the Redis backend always uses
    the server's clock, so passing one there is an error.  ``tuning`` is as for
    :class:`~sidecar.ratelimit.Policy`.  Raises :class:`~sidecar.errors.ConfigError`
    (setting ``rate_limit_url``) for a bad URL or an unusable folder.
    """
    policy = Policy(rate, per, **tuning)
    backend = parse_backend_url(url)
    store: BudgetStore
    if backend.kind == "redis":
        if clock is not None:
            raise ValueError("the redis backend uses the Redis server's clock")
        from sidecar.sharedredis import RedisBudget  # only this backend needs the redis package

        store = RedisBudget(backend)
    else:
        store = _sqlite_budget(backend.path, clock or time.time)
    return SharedLimiter(store, policy, sleep=sleep, rng=rng)


def _sqlite_budget(folder: str, clock: Clock) -> BudgetStore:
    try:
        return SqliteBudget(folder, clock=clock)
    except sqlite3.Error as exc:
        raise ConfigError(SETTING, f"cannot use {folder!r}: {exc}") from None
