"""The shared rate budget and leases in a small SQLite file, for processes on one machine.

Every decision is one ``BEGIN IMMEDIATE`` transaction: the write lock is taken *before*
reading, so two processes can never both see "one slot left" and both take it.  Waiting
happens outside the transaction; the lock is held for microseconds.

Journal mode: the default rollback journal, on purpose.  WAL would let readers run beside
the writer, but every operation here writes, and WAL needs shared memory that network
filesystems (NFS, SMB, most container volume drivers across hosts) do not provide --
a WAL database there can be corrupted.  The rollback journal is correct wherever POSIX
advisory locks work.  On network filesystems those locks themselves are often unreliable,
so use Redis to share a budget between machines.

The clock is the wall clock (``time.time``) by default: it is the one clock that processes,
containers and reboots agree on (``time.monotonic`` restarts at boot and differs between
VMs).  A clock stepping *back* is handled (stamps from the future count as "now"); a large
step *forward* can let one extra window's worth of requests through once.
"""

from __future__ import annotations

import math
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sidecar.ratelimit import Adaptive, Clock, Policy, Rng, decide, limit_of, penalized
from sidecar.sharedbase import clamped, from_the_future, usable

DB_NAME = "scanarr-shared.sqlite3"
BUSY_TIMEOUT = 10.0  # seconds; transactions last microseconds, so this means "stuck"

SCHEMA = """
CREATE TABLE IF NOT EXISTS budget_stamps (t REAL NOT NULL);
CREATE INDEX IF NOT EXISTS budget_stamps_t ON budget_stamps (t);
CREATE TABLE IF NOT EXISTS budget_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    rate REAL NOT NULL,
    paused_until REAL,
    strikes INTEGER NOT NULL DEFAULT 0,
    calm_since REAL,
    last_429 REAL,
    penalties INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS leases (
    name TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    expires REAL NOT NULL
);
"""


class SharedDb:
    """One connection to the shared file, used by every thread of this process.

    A lock serialises the threads (they would queue on the file lock anyway), and the
    connection is reopened after a fork: SQLite connections must not cross ``fork()``.
    """

    def __init__(self, folder: str, busy_timeout: float = BUSY_TIMEOUT) -> None:
        self.path = os.path.join(folder, DB_NAME)
        self._busy_timeout = busy_timeout
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pid = 0
        with self.transaction() as db:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None or self._pid != os.getpid():
            self._conn = sqlite3.connect(
                self.path, timeout=self._busy_timeout, isolation_level=None,
                check_same_thread=False,
            )
            self._pid = os.getpid()
        return self._conn

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` (or plain ``BEGIN`` to only read) ... ``COMMIT``/``ROLLBACK``.

        IMMEDIATE takes the write lock up front: a transaction that read, then tried to
        write, could otherwise deadlock with another one doing the same.
        """
        with self._lock:
            db = self._connection()
            db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None


def _state(db: sqlite3.Connection, policy: Policy) -> tuple[Adaptive, float | None, int]:
    """The stored adaptive state (a fresh one if none), last 429 time and 429 count."""
    row = db.execute(
        "SELECT rate, paused_until, strikes, calm_since, last_429, penalties"
        " FROM budget_state WHERE id = 1"
    ).fetchone()
    if row is None:
        return Adaptive(rate=float(policy.rate)), None, 0
    rate, paused, strikes, calm, last_429, penalties = row
    paused = -math.inf if paused is None else paused
    return Adaptive(rate, paused, strikes, calm), last_429, penalties


class SqliteBudget:
    """The rolling-window log and adaptive state of :class:`~sidecar.sharedlimit.SharedLimiter`."""

    backend = "file"
    errors: tuple[type[Exception], ...] = (sqlite3.Error,)

    def __init__(self, folder: str, *, clock: Clock = time.time) -> None:
        self.db = SharedDb(folder)
        self.clock = clock

    def take(self, policy: Policy, cost: int) -> tuple[float, float, tuple[float, int] | None]:
        """One transaction: take ``cost`` slots (wait 0.0) or not; return (wait, now, ref).

        ``ref`` names the new stamps for :meth:`complete` (None when nothing was taken).
        """
        with self.db.transaction() as db:
            now = self.clock()
            db.execute("DELETE FROM budget_stamps WHERE t <= ?", (now - policy.per,))
            db.execute("UPDATE budget_stamps SET t = ? WHERE t > ?", (now, now))  # clock went back
            stamps = [t for (t,) in db.execute("SELECT t FROM budget_stamps")]
            stored = _state(db, policy)[0]
            if from_the_future(policy, stored, now):
                fixed = clamped(policy, stored, now)
                db.execute("UPDATE budget_state SET paused_until = ?, calm_since = ? WHERE id = 1",
                           (fixed.paused_until, fixed.calm_since))
            state = usable(policy, stored, now)
            limit = limit_of(state.rate)
            wait = decide(stamps, limit, policy.per, now, state.paused_until, cost)
            if wait <= 0:
                db.executemany("INSERT INTO budget_stamps (t) VALUES (?)", [(now,)] * cost)
                return wait, now, (now, cost)
            return wait, now, None

    def complete(self, ref: tuple[float, int]) -> None:
        """Move the stamps ``ref`` names to now: the requests got their answers.

        Stamps with the same time are interchangeable, so any ``cost`` of them will do.
        """
        at, cost = ref
        with self.db.transaction() as db:
            db.execute(
                "UPDATE budget_stamps SET t = ? WHERE rowid IN"
                " (SELECT rowid FROM budget_stamps WHERE t = ? LIMIT ?)",
                (max(at, self.clock()), at, cost),
            )

    def penalize(
        self, policy: Policy, retry_after: float | None, rng: Rng
    ) -> tuple[Adaptive, Adaptive, float]:
        """Apply a 429 to the shared state: (state before, state after, now)."""
        with self.db.transaction() as db:
            now = self.clock()
            before = usable(policy, _state(db, policy)[0], now)
            after = penalized(policy, before, now, retry_after, rng)
            db.execute(
                "INSERT INTO budget_state (id, rate, paused_until, strikes, calm_since, last_429,"
                " penalties) VALUES (1, ?, ?, ?, ?, ?, 1) ON CONFLICT (id) DO UPDATE SET"
                " rate = excluded.rate, paused_until = excluded.paused_until,"
                " strikes = excluded.strikes, calm_since = excluded.calm_since,"
                " last_429 = excluded.last_429, penalties = penalties + 1",
                (after.rate, after.paused_until, after.strikes, after.calm_since, now),
            )
            return before, after, now

    def peek(self, policy: Policy) -> tuple[Adaptive, int, float, float | None, int]:
        """(usable state, slots used in the window, now, last 429 time, shared 429 count)."""
        with self.db.transaction(write=False) as db:
            now = self.clock()
            (used,) = db.execute(
                "SELECT count(*) FROM budget_stamps WHERE t > ?", (now - policy.per,)
            ).fetchone()
            state, last_429, penalties = _state(db, policy)
            return usable(policy, state, now), used, now, last_429, penalties

    def close(self) -> None:
        self.db.close()
