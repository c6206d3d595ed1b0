"""The connection, the row types and the helpers every part of the state store shares.

One SQLite database in WAL mode, shared by the scanner, the workers and the web app: one
connection per thread, and ``database is locked`` retried here so it never reaches a
caller as an item failure.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, ParamSpec, TypeVar

import sqlite_utils

from sidecar.lifecycle import Lifecycle
from sidecar.state import schema

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")
TABLE = "media_scan_state"
WORK_STATES = (Lifecycle.NEW, Lifecycle.CHANGED, Lifecycle.STALE, Lifecycle.ERROR)


def iso(ts: float) -> str:
    """Fixed-width UTC ISO text: sorts as it compares, readable in the database."""
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def retry_locked(func: Callable[P, T]) -> Callable[P, T]:
    """Retry a write when another process holds the lock past ``busy_timeout``."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        delay = 0.05
        for attempt in range(8):
            try:
                return func(*args, **kwargs)
            except sqlite3.OperationalError as exc:
                if ("locked" not in str(exc) and "busy" not in str(exc)) or attempt == 7:
                    raise
                log.debug("database busy, retrying %s in %.2fs", func.__name__, delay)
                time.sleep(delay)
                delay = min(delay * 2, 2.0)
        raise AssertionError("unreachable")

    return wrapper


@dataclass(frozen=True)
class Item:
    """One row of ``media_scan_state`` as the rest of the code sees it."""

    path: str
    media_type: str
    state: Lifecycle
    parent_path: str = ""
    show_dir: str | None = None
    root: str | None = None
    title: str = ""
    year: int | None = None
    tmdb_id: int | None = None
    tmdb_type: str | None = None
    imdb_id: str | None = None
    tvdb_id: str | None = None
    season: int | None = None
    episodes: tuple[int, ...] = ()
    air_date: str | None = None
    id_source: str | None = None
    claimed_from: str | None = None
    size: int = 0
    mtime_ns: int = 0
    error_count: int = 0
    error_reason: str | None = None
    last_error: str | None = None
    next_retry_after: str | None = None
    metadata_updated_at: str | None = None
    release_date: str | None = None
    etag: str | None = None
    response_hash: str | None = None
    candidates: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_row(cls, row: sqlite3.Row | Mapping[str, Any]) -> Item:
        return cls(
            path=row["media_path"], media_type=row["media_type"],
            state=Lifecycle(row["scan_state"]), parent_path=row["parent_path"] or "",
            show_dir=row["show_dir"], root=row["root"], title=row["media_name"] or "",
            year=row["year"], tmdb_id=row["tmdb_id"], tmdb_type=row["tmdb_type"],
            imdb_id=row["imdb_id"], tvdb_id=row["tvdb_id"], season=row["season_number"],
            episodes=tuple(json.loads(row["episode_numbers"] or "[]")),
            air_date=row["air_date"], id_source=row["id_source"],
            claimed_from=row["claimed_from"], size=row["file_size_bytes"] or 0,
            mtime_ns=row["mtime_ns"] or 0, error_count=row["error_count"] or 0,
            error_reason=row["error_reason"], last_error=row["last_error"],
            next_retry_after=row["next_retry_after"],
            metadata_updated_at=row["metadata_updated_at"], release_date=row["release_date"],
            etag=row["tmdb_etag"], response_hash=row["last_response_hash"],
            candidates=json.loads(row["candidates"] or "[]"),
        )


class DirRow(NamedTuple):
    """A folder as last listed (a named tuple: a quick scan loads one per folder)."""

    path: str
    mtime_ns: int
    subdirs: tuple[str, ...]
    signature: str


class Connection:
    """Thread-safe access to the database: one connection per thread, WAL, busy timeout."""

    def __init__(self, path: str | Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = str(path)
        self.clock = clock
        self._local = threading.local()
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self.version = retry_locked(schema.migrate)(self.db)

    # -- connections ---------------------------------------------------------------

    @property
    def db(self) -> sqlite_utils.Database:
        db: sqlite_utils.Database | None = getattr(self._local, "db", None)
        if db is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                                   check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA busy_timeout=30000")
            # Switching a new file to WAL can answer "locked" at once, without waiting.
            retry_locked(conn.execute)("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            db = sqlite_utils.Database(conn)
            self._local.db = db
        return db

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        return list(self.db.execute(sql, params).fetchall())

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.conn.close()
            self._local.db = None

    def now_iso(self) -> str:
        return iso(self.clock())

    # -- settings --------------------------------------------------------------------

    def stored_settings(self) -> dict[str, str]:
        return {row["key"]: row["value"] for row in self._rows("SELECT key, value FROM settings")}

    @retry_locked
    def save_settings(self, values: Mapping[str, str | None]) -> None:
        """Store values from the settings page; ``None`` removes a stored value."""
        with self.db.conn:
            for key, value in values.items():
                if value is None:
                    self.db.execute("DELETE FROM settings WHERE key = ?", [key])
                else:
                    self.db.execute("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)",
                                    [key, value])


def _encode(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Lists and dicts are stored as JSON text; everything else as is."""
    return {k: (json.dumps(v) if isinstance(v, list | tuple | dict) else v)
            for k, v in fields.items()}
