"""Leader election for scheduled scans when several instances watch the same library.

Two sidecars over one library (one beside Plex, one beside Jellyfin) must not both walk it
and fetch the same items every interval (design brief §3.4, "leader election").  The
leader holds a *lease*: a row (SQLite) or key (Redis) naming its owner, valid for
``ttl_seconds`` and renewed on every scheduler tick by calling :meth:`Leadership.try_acquire`.
If the leader dies it stops renewing, the lease expires, and the next tick of another
instance takes it over.

Choose ``ttl_seconds`` of about twice the scan interval: one late tick then does not cost
the leadership, and a dead leader is replaced at most one interval after its lease ends.
A scan that can outlast the TTL must call :meth:`~Leadership.try_acquire` while it runs,
or a second instance may start scanning too.

The lease lives in the same shared backend as the rate budget
(:func:`~sidecar.sharedbase.parse_backend_url`).  With none configured there is only one
instance to think of, so it is always the leader.  If the backend cannot be reached,
:meth:`~Leadership.try_acquire` answers False (and logs): skipping a scan is safe,
scanning twice is not what the user asked for.
"""

from __future__ import annotations

import logging
import os
import socket
import sqlite3
import time
import uuid
from typing import Protocol

from sidecar.ratelimit import Clock
from sidecar.sharedbase import Backend, parse_backend_url
from sidecar.sharedsqlite import SharedDb

log = logging.getLogger(__name__)

# Acquire or renew in one statement: insert, or take over a lease that is ours or expired.
_SQL_ACQUIRE = (
    "INSERT INTO leases (name, owner, expires) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE"
    " SET owner = excluded.owner, expires = excluded.expires"
    " WHERE leases.owner = excluded.owner OR leases.expires <= ?"
)
_LUA_ACQUIRE = """
local owner = redis.call('GET', KEYS[1])
if owner == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if not owner then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""
_LUA_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def default_owner_id() -> str:
    """Host, process and a random part: unique even for two instances in one container."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class _Lease(Protocol):
    errors: tuple[type[Exception], ...]

    def acquire(self, owner: str, ttl: float) -> bool: ...
    def release(self, owner: str) -> None: ...
    def holder(self) -> str | None: ...
    def close(self) -> None: ...


class _SqliteLease:
    """Lease rows in the shared SQLite file; expiry judged by this host's wall clock."""

    errors: tuple[type[Exception], ...] = (sqlite3.Error,)

    def __init__(self, folder: str, name: str, clock: Clock) -> None:
        self.db, self.name, self.clock = SharedDb(folder), name, clock

    def acquire(self, owner: str, ttl: float) -> bool:
        with self.db.transaction() as db:
            now = self.clock()
            cursor = db.execute(_SQL_ACQUIRE, (self.name, owner, now + ttl, now))
            return cursor.rowcount == 1

    def release(self, owner: str) -> None:
        with self.db.transaction() as db:
            db.execute("DELETE FROM leases WHERE name = ? AND owner = ?", (self.name, owner))

    def holder(self) -> str | None:
        with self.db.transaction(write=False) as db:
            row = db.execute("SELECT owner FROM leases WHERE name = ? AND expires > ?",
                             (self.name, self.clock())).fetchone()
            return None if row is None else str(row[0])

    def close(self) -> None:
        self.db.close()


class _RedisLease:
    """``SET NX PX`` plus compare-and-renew in Lua; Redis itself expires the key."""

    def __init__(self, backend: Backend, name: str) -> None:
        import redis  # here, not at the top: only this backend needs the redis package

        from sidecar.sharedredis import redis_client

        self.errors: tuple[type[Exception], ...] = (redis.RedisError,)
        self.client = redis_client(backend)
        self.key = f"{backend.prefix}:leader:{name}"
        self._acquire = self.client.register_script(_LUA_ACQUIRE)
        self._release = self.client.register_script(_LUA_RELEASE)

    def acquire(self, owner: str, ttl: float) -> bool:
        ttl_ms = max(1, round(ttl * 1000))
        return bool(self._acquire(keys=[self.key], args=[owner, ttl_ms]))

    def release(self, owner: str) -> None:
        self._release(keys=[self.key], args=[owner])

    def holder(self) -> str | None:
        value = self.client.get(self.key)
        if value is None:
            return None
        return value.decode() if isinstance(value, bytes) else str(value)

    def close(self) -> None:
        self.client.close()


class Leadership:
    """Whether this instance should run the scheduled scans (see the module docstring)."""

    def __init__(
        self, backend_url: str | None, name: str, ttl_seconds: float, *,
        owner_id: str | None = None, clock: Clock = time.time,
    ) -> None:
        if ttl_seconds <= 0:
            raise ValueError(f"ttl_seconds must be > 0, got {ttl_seconds}")
        self.name, self.ttl = name, ttl_seconds
        self.owner_id = owner_id or default_owner_id()
        self.is_leader = False
        self._lease: _Lease | None = None
        if backend_url:
            backend = parse_backend_url(backend_url)
            self._lease = (_RedisLease(backend, name) if backend.kind == "redis"
                           else _SqliteLease(backend.path, name, clock))

    def __repr__(self) -> str:
        return f"Leadership({self.name!r}, owner={self.owner_id!r}, leader={self.is_leader})"

    def try_acquire(self) -> bool:
        """Take or renew the lease; True while this instance is the leader.  Call every tick."""
        was = self.is_leader
        if self._lease is None:
            self.is_leader = True
            return True
        try:
            self.is_leader = self._lease.acquire(self.owner_id, self.ttl)
        except self._lease.errors as exc:
            log.warning("leader election for %r: backend unreachable (%s); not scanning",
                        self.name, exc)
            self.is_leader = False
        if self.is_leader != was:
            log.info("%s %s leadership of %r", self.owner_id,
                     "took" if self.is_leader else "lost", self.name)
        return self.is_leader

    def release(self) -> None:
        """Give the lease up now (clean shutdown) so another instance need not wait the TTL."""
        self.is_leader = False
        if self._lease is None:
            return
        try:
            self._lease.release(self.owner_id)
        except self._lease.errors as exc:
            log.warning("leader election for %r: could not release (%s)", self.name, exc)

    def holder(self) -> str | None:
        """Owner id of the current leader (None when nobody holds a live lease)."""
        if self._lease is None:
            return self.owner_id
        return self._lease.holder()

    def close(self) -> None:
        if self._lease is not None:
            self._lease.close()
