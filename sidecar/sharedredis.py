"""The shared rate budget in Redis, for Scanarr instances on several machines.

Keys (``prefix`` from the URL, default ``scanarr``):

* ``<prefix>:budget:stamps`` -- sorted set, one member per granted request, scored by the
  grant time in microseconds of the *Redis server's* clock;
* ``<prefix>:budget:state`` -- hash with the adaptive state (rate, paused_until, strikes,
  calm_since, last_429, penalties) and ``v``, a version changed by every 429.

The grant is one Lua script (prune, count, add), so it is atomic however many hosts ask.
The script reads ``TIME`` itself: hosts with skewed clocks still agree on one timeline.

The adaptive arithmetic is *not* rewritten in Lua.  The script is given the window limit
this process derived (with the pure functions of :mod:`sidecar.ratelimit`) from the last
state the server showed it, plus that state's version.  If a 429 changed the state in the
meantime the versions differ, the script refuses, and the process decides again on the
fresh state the script returned.  429s are rare, so they use an optimistic
``WATCH``/``MULTI`` transaction around :func:`~sidecar.ratelimit.penalized` instead.
"""

from __future__ import annotations

import itertools
import math
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from sidecar.errors import ConfigError
from sidecar.ratelimit import Adaptive, Policy, Rng, decide, limit_of, penalized
from sidecar.sharedbase import SETTING, Backend, from_the_future, full_recovery_seconds, usable

MIN_WAIT = 0.001
_Ref = tuple[int, list[str]]  # (stamps TTL in ms, members of one grant)
STATE_FIELDS = (b"v", b"rate", b"paused_until", b"strikes", b"calm_since")

TAKE = """
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local per, cost, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local st = redis.call('HMGET', KEYS[2], 'v', 'rate', 'paused_until', 'strikes', 'calm_since')
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - per)
for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], now + 1, '+inf')) do
  redis.call('ZADD', KEYS[1], now, m)  -- the server clock went back: count it as now
end
local granted = 0
if (st[1] or '') == ARGV[4] and now >= tonumber(st[3] or 0)
    and redis.call('ZCARD', KEYS[1]) + cost <= limit then
  for i = 1, cost do redis.call('ZADD', KEYS[1], now, ARGV[5] .. i) end
  redis.call('PEXPIRE', KEYS[1], ARGV[6])
  granted = 1
end
local stamps = {}
if granted == 0 then stamps = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES') end
return {granted, now, st[1], st[2], st[3], st[4], st[5], stamps}
"""


COMPLETE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local args = {}
for i, member in ipairs(ARGV) do
  if i > 1 then args[2 * i - 3] = now; args[2 * i - 2] = member end
end
local moved = redis.call('ZADD', KEYS[1], 'XX', 'CH', unpack(args))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return moved
"""


def redis_client(backend: Backend, setting: str = SETTING) -> redis.Redis:
    """A client for ``backend`` that does not connect yet (Redis may come up later).

    Options in the URL are checked now, so a typo is a :class:`ConfigError` at startup
    rather than an error on the first request.
    """
    try:
        client = redis.Redis.from_url(
            backend.redis_url, socket_timeout=5.0, socket_connect_timeout=5.0,
            health_check_interval=30, retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), 2),
            retry_on_error=[redis.ConnectionError, redis.TimeoutError],
        )
        pool = client.connection_pool
        pool.connection_class(**pool.connection_kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(setting, f"bad redis URL {backend}: {exc}") from None
    return client


def _us(seconds: float) -> int:
    return round(seconds * 1_000_000)


def _seconds(value: Any, default: float) -> float:
    return default if value is None else int(value) / 1_000_000


def _adaptive(fields: Sequence[Any], policy: Policy) -> tuple[str, Adaptive]:
    """(version, state) from the STATE_FIELDS values, absent ones meaning "never a 429"."""
    version, rate, paused, strikes, calm = fields
    state = Adaptive(
        rate=float(policy.rate) if rate is None else float(rate),
        paused_until=_seconds(paused, -math.inf),
        strikes=0 if strikes is None else int(strikes),
        calm_since=None if calm is None else _seconds(calm, 0.0),
    )
    return ("" if version is None else version.decode()), state


@dataclass(frozen=True, slots=True)
class _Seen:
    """The last state the server showed this process, and when (server and local time)."""

    version: str = ""
    state: Adaptive | None = None
    server_now: float = 0.0
    local_at: float = 0.0

    def now(self) -> float:
        """A lower bound of the server's clock: recovery is seen a little late, never early."""
        return self.server_now + (time.monotonic() - self.local_at)


class RedisBudget:
    """The rolling-window log and adaptive state of :class:`~sidecar.sharedlimit.SharedLimiter`."""

    backend = "redis"
    errors: tuple[type[Exception], ...] = (redis.RedisError,)

    def __init__(self, backend: Backend, client: redis.Redis | None = None) -> None:
        self.client = client if client is not None else redis_client(backend)
        self.stamps_key = f"{backend.prefix}:budget:stamps"
        self.state_key = f"{backend.prefix}:budget:state"
        self._take = self.client.register_script(TAKE)
        self._complete = self.client.register_script(COMPLETE)
        self._member = f"{uuid.uuid4().hex[:12]}:"
        self._seq = itertools.count()
        self._seen = _Seen()  # replaced whole, never mutated: safe to share between threads

    def take(self, policy: Policy, cost: int) -> tuple[float, float, _Ref | None]:
        """Take ``cost`` slots (wait 0.0) or not; return (wait, server now, ref).

        ``ref`` names the new members for :meth:`complete` (None when nothing was taken).
        """
        now = 0.0
        for _ in range(3):
            seen = self._seen
            state = usable(policy, seen.state or Adaptive(float(policy.rate)), seen.now())
            limit = limit_of(state.rate)
            member = f"{self._member}{next(self._seq)}:"
            args: list[str | int] = [_us(policy.per), cost, limit, seen.version, member,
                                     self._ttl_ms(policy)]
            reply = self._take(keys=[self.stamps_key, self.state_key], args=args)
            granted, now_us, *fields, stamps = reply
            version, stored = _adaptive(fields, policy)
            now = int(now_us) / 1_000_000
            self._seen = _Seen(version, stored, now, time.monotonic())
            if granted:
                members = [f"{member}{i}" for i in range(1, cost + 1)]
                return 0.0, now, (self._ttl_ms(policy), members)
            if from_the_future(policy, stored, now):
                self._update(policy, lambda state, _: state, False)  # writes the clamped times
                continue
            state = usable(policy, stored, now)
            if version != seen.version or limit_of(state.rate) > limit:
                continue  # decided on stale state: decide again on what the server sent
            times = [int(float(score)) / 1_000_000 for score in stamps[1::2]]
            wait = decide(times, limit, policy.per, now, state.paused_until, cost)
            return max(wait, MIN_WAIT), now, None
        return MIN_WAIT, now, None

    def complete(self, ref: _Ref) -> None:
        """Move the members ``ref`` names to the server's now (``ZADD XX``: never re-add)."""
        ttl_ms, members = ref
        self._complete(keys=[self.stamps_key], args=[ttl_ms, *members])

    @staticmethod
    def _ttl_ms(policy: Policy) -> int:
        """Stamps outlive their window by a second; an idle budget leaves no key behind."""
        return _us(policy.per) // 1000 + 1000

    def penalize(
        self, policy: Policy, retry_after: float | None, rng: Rng
    ) -> tuple[Adaptive, Adaptive, float]:
        """Apply a 429 to the shared state: (state before, state after, server now)."""
        return self._update(
            policy, lambda state, now: penalized(policy, state, now, retry_after, rng), True
        )

    def _update(
        self, policy: Policy, change: Callable[[Adaptive, float], Adaptive], penalty: bool
    ) -> tuple[Adaptive, Adaptive, float]:
        """Read, ``change`` and write the state in an optimistic ``WATCH``/``MULTI``."""
        with self.client.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(self.state_key)
                    seconds, micros = pipe.time()
                    now = seconds + micros / 1_000_000
                    raw: Mapping[Any, Any] = pipe.hgetall(self.state_key)
                    stored = _adaptive([raw.get(f) for f in STATE_FIELDS], policy)[1]
                    before = usable(policy, stored, now)
                    after = change(before, now)
                    pipe.multi()
                    self._store(pipe, policy, after, now if penalty else None)
                    pipe.execute()
                    return before, after, now
                except redis.WatchError:
                    continue  # another host changed it first: apply ours on top of theirs

    def _store(self, pipe: Any, policy: Policy, after: Adaptive, penalty_at: float | None) -> None:
        pipe.hset(self.state_key, mapping={
            "v": uuid.uuid4().hex, "rate": repr(after.rate),
            "paused_until": _us(after.paused_until) if after.paused_until > 0 else 0,
            "strikes": after.strikes,
        })
        if after.calm_since is None:
            pipe.hdel(self.state_key, "calm_since")
        else:
            pipe.hset(self.state_key, "calm_since", _us(after.calm_since))
        if penalty_at is not None:
            pipe.hset(self.state_key, "last_429", _us(penalty_at))
            pipe.hincrby(self.state_key, "penalties", 1)
        pipe.pexpire(self.state_key, _us(full_recovery_seconds(policy)) // 1000)

    def peek(self, policy: Policy) -> tuple[Adaptive, int, float, float | None, int]:
        """(usable state, slots used in the window, now, last 429 time, shared 429 count)."""
        pipe = self.client.pipeline(transaction=True)
        pipe.time()
        pipe.hgetall(self.state_key)
        pipe.zrange(self.stamps_key, 0, -1, withscores=True)
        (seconds, micros), raw, stamps = pipe.execute()
        now = seconds + micros / 1_000_000
        _, state = _adaptive([raw.get(f) for f in STATE_FIELDS], policy)
        used = sum(1 for _, score in stamps if score / 1_000_000 > now - policy.per)
        last = raw.get(b"last_429")
        return (usable(policy, state, now), used, now, _seconds(last, 0.0) if last else None,
                int(raw.get(b"penalties", 0)))

    def close(self) -> None:
        self.client.close()
