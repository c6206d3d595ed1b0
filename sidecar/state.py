"""The state store: the only module that speaks SQL.

One SQLite database in WAL mode, shared by the scanner, the workers and the web app.
Every lifecycle move goes through ``transition``/``transition_many``, which check
``lifecycle.ALLOWED`` inside the same transaction as the write, so an illegal move is
impossible no matter which thread asks.  ``database is locked`` is retried here and never
reaches a caller as an item failure.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import sqlite3
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, ParamSpec, TypeVar

import sqlite_utils

from sidecar import schema
from sidecar.errors import IllegalTransition
from sidecar.lifecycle import ALLOWED, CLAIMABLE, INITIAL, Lifecycle, retry_delay

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


class StateStore:
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

    # -- reading items ----------------------------------------------------------------

    def get(self, path: str) -> Item | None:
        rows = self._rows(f"SELECT * FROM {TABLE} WHERE media_path = ?", [path])
        return Item.from_row(rows[0]) if rows else None

    def items_in_dir(self, parent: str) -> dict[str, Item]:
        rows = self._rows(f"SELECT * FROM {TABLE} WHERE parent_path = ?", [parent])
        return {row["media_path"]: Item.from_row(row) for row in rows}

    def file_stats_in_dir(self, parent: str) -> dict[str, tuple[int, int, str]]:
        """path -> (size, mtime_ns, state): the narrow read the scanner's hot loop needs."""
        rows = self.db.execute(
            f"SELECT media_path, file_size_bytes, mtime_ns, scan_state FROM {TABLE} "
            "WHERE parent_path = ?", [parent]).fetchall()
        return {r[0]: (r[1] or 0, r[2] or 0, r[3]) for r in rows}

    def paths_under(self, prefix: str, states: Iterable[Lifecycle] | None = None,
                    limit: int = -1) -> list[str]:
        """Paths of items inside folder ``prefix`` (range scan on the unique index)."""
        base = prefix.rstrip("/") + "/"
        sql = f"SELECT media_path FROM {TABLE} WHERE media_path >= ? AND media_path < ?"
        params: list[Any] = [base, base[:-1] + "0"]
        if states is not None:
            wanted = list(states)
            sql += f" AND scan_state IN ({','.join('?' * len(wanted))})"
            params += [s.value for s in wanted]
        sql += " LIMIT ?"
        params.append(limit)
        return [row[0] for row in self.db.execute(sql, params).fetchall()]

    def has_media_below(self, folder: str) -> bool:
        """Whether any file lives in a subfolder of ``folder`` (a movie there is not alone)."""
        base = folder.rstrip("/") + "/"
        row = self.db.execute(
            f"SELECT 1 FROM {TABLE} WHERE media_path >= ? AND media_path < ? "
            "AND parent_path != ? LIMIT 1", [base, base[:-1] + "0", folder]).fetchone()
        return row is not None

    def items(self, state: Lifecycle | None = None, *, limit: int = 100,
              offset: int = 0) -> list[Item]:
        where, params = ("WHERE scan_state = ?", [state.value]) if state else ("", [])
        rows = self._rows(f"SELECT * FROM {TABLE} {where} ORDER BY media_path LIMIT ? OFFSET ?",
                          [*params, limit, offset])
        return [Item.from_row(r) for r in rows]

    def counts(self) -> dict[str, int]:
        result = {s.value: 0 for s in Lifecycle}
        for row in self._rows(f"SELECT scan_state, COUNT(*) AS n FROM {TABLE} GROUP BY 1"):
            result[row["scan_state"]] = row["n"]
        return result

    def error_counts(self) -> dict[str, int]:
        rows = self._rows(f"SELECT error_reason, COUNT(*) AS n FROM {TABLE} "
                          "WHERE scan_state = 'ERROR' GROUP BY 1")
        return {row["error_reason"] or "unknown": row["n"] for row in rows}

    def recent_errors(self, limit: int = 20) -> list[Item]:
        rows = self._rows(f"SELECT * FROM {TABLE} WHERE scan_state = 'ERROR' "
                          "ORDER BY last_scanned_at DESC LIMIT ?", [limit])
        return [Item.from_row(r) for r in rows]

    def _work_where(self, states: Iterable[Lifecycle]) -> tuple[str, list[Any]]:
        """Items a worker could take now: settled files, ERROR only once its retry is due
        (a retry that cannot help has no due time)."""
        wanted = [s.value for s in states]
        where = (f"scan_state IN ({','.join('?' * len(wanted))}) AND COALESCE(mtime_ns, 0) <= ? "
                 "AND (scan_state != 'ERROR' OR (next_retry_after IS NOT NULL "
                 "AND next_retry_after <= ?))")
        return where, wanted

    def work(self, *, settle_before_ns: int, limit: int | None = None,
             states: Iterable[Lifecycle] = WORK_STATES) -> list[Item]:
        where, wanted = self._work_where(states)
        sql = f"SELECT * FROM {TABLE} WHERE {where} ORDER BY media_path"
        params: list[Any] = [*wanted, settle_before_ns, self.now_iso()]
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [Item.from_row(r) for r in self._rows(sql, params)]

    def count_work(self, *, settle_before_ns: int,
                   states: Iterable[Lifecycle] = WORK_STATES) -> int:
        where, wanted = self._work_where(states)
        row = self.db.execute(f"SELECT COUNT(*) FROM {TABLE} WHERE {where}",
                              [*wanted, settle_before_ns, self.now_iso()]).fetchone()
        return int(row[0])

    def earliest_retry(self, reason: str) -> float | None:
        """When the first item in ERROR for ``reason`` is due again (epoch seconds)."""
        row = self.db.execute(
            f"SELECT MIN(next_retry_after) FROM {TABLE} WHERE scan_state = 'ERROR' "
            "AND error_reason = ? AND next_retry_after IS NOT NULL", [reason]).fetchone()
        if row is None or row[0] is None:
            return None
        return dt.datetime.strptime(row[0], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
            tzinfo=dt.UTC).timestamp()

    def count_settling(self, settle_before_ns: int) -> int:
        row = self.db.execute(
            f"SELECT COUNT(*) FROM {TABLE} WHERE scan_state IN ('NEW', 'CHANGED') "
            "AND mtime_ns > ?", [settle_before_ns]).fetchone()
        return int(row[0])

    # -- writing items ----------------------------------------------------------------

    @retry_locked
    def add_new(self, records: Iterable[Mapping[str, Any]]) -> int:
        """Insert unseen files (bulk, one transaction). Keys are column names; a row is born
        NEW unless it says INDEXED (adopted) or ERROR (unidentifiable name)."""
        now = self.now_iso()
        rows = [{"scan_state": Lifecycle.NEW.value, "first_scanned_at": now,
                 "error_count": 0, **_encode(rec)} for rec in records]
        if not rows:
            return 0
        for row in rows:
            if Lifecycle(row["scan_state"]) not in INITIAL:
                raise IllegalTransition(f"an item cannot start in {row['scan_state']}")
        with self.db.conn:
            self.db.table(TABLE).insert_all(rows, ignore=True, batch_size=500)
        return len(rows)

    @retry_locked
    def update_fields(self, path: str, **fields: Any) -> None:
        """Change columns that are not the lifecycle state (ids, guesses, sizes)."""
        if "scan_state" in fields:
            raise IllegalTransition("use transition() to change scan_state")
        cols = _encode(fields)
        sets = ", ".join(f"{k} = ?" for k in cols)
        with self.db.conn:
            self.db.execute(f"UPDATE {TABLE} SET {sets} WHERE media_path = ?",
                            [*cols.values(), path])

    @retry_locked
    def transition(self, path: str, target: Lifecycle, **fields: Any) -> Item:
        """Move one item to ``target`` if the lifecycle allows it, else IllegalTransition."""
        with self.db.conn:
            self.db.execute("BEGIN IMMEDIATE")
            rows = self._rows(f"SELECT scan_state FROM {TABLE} WHERE media_path = ?", [path])
            if not rows:
                raise IllegalTransition(f"no item {path!r}")
            source = Lifecycle(rows[0]["scan_state"])
            if target not in ALLOWED[source]:
                raise IllegalTransition(f"{source} -> {target} is not allowed ({path})")
            self._write_state(path, target, fields)
        item = self.get(path)
        assert item is not None
        return item

    @retry_locked
    def transition_many(self, paths: Iterable[str], target: Lifecycle, **fields: Any) -> int:
        """Bulk move; items whose current state cannot go to ``target`` are skipped
        (counted in the return value only when moved).  Used by scans, where a file
        that is already in the target state is simply left alone."""
        sources = [s.value for s, targets in ALLOWED.items() if target in targets]
        cols = _encode({**fields, "scan_state": target.value})
        sets = ", ".join(f"{k} = ?" for k in cols)
        moved = 0
        with self.db.conn:
            for path in paths:
                cur = self.db.execute(
                    f"UPDATE {TABLE} SET {sets} WHERE media_path = ? AND scan_state IN "
                    f"({','.join('?' * len(sources))})", [*cols.values(), path, *sources])
                moved += cur.rowcount
        return moved

    def _write_state(self, path: str, target: Lifecycle, fields: Mapping[str, Any]) -> None:
        cols = _encode({**fields, "scan_state": target.value})
        sets = ", ".join(f"{k} = ?" for k in cols)
        self.db.execute(f"UPDATE {TABLE} SET {sets} WHERE media_path = ?", [*cols.values(), path])

    @retry_locked
    def claim(self, path: str, *, force: bool = False) -> Item | None:
        """Atomically take an item for processing (brief §4.3); None if someone else has it
        or it is no longer work.  ``force`` also claims INDEXED items (full scans)."""
        states = set(CLAIMABLE) | ({Lifecycle.INDEXED} if force else set())
        marks = ",".join("?" * len(states))
        with self.db.conn:
            cur = self.db.execute(
                f"UPDATE {TABLE} SET claimed_from = scan_state, scan_state = 'PROCESSING', "
                f"processing_started_at = ? WHERE media_path = ? AND scan_state IN ({marks})",
                [self.now_iso(), path, *[s.value for s in states]])
        return self.get(path) if cur.rowcount else None

    _RESTORE = ("SET scan_state = COALESCE(claimed_from, 'CHANGED'), claimed_from = NULL, "
                "processing_started_at = NULL WHERE scan_state = 'PROCESSING'")

    @retry_locked
    def release(self, path: str) -> None:
        """Give a claimed item back unchanged (shutdown): it returns to its earlier state."""
        with self.db.conn:
            self.db.execute(f"UPDATE {TABLE} {self._RESTORE} AND media_path = ?", [path])

    @retry_locked
    def recover_processing(self) -> int:
        """At start-up nothing can be in flight: items a crash left PROCESSING go back."""
        with self.db.conn:
            cur = self.db.execute(f"UPDATE {TABLE} {self._RESTORE}")
        if cur.rowcount:
            log.info("recovered %d item(s) left in PROCESSING by an earlier run", cur.rowcount)
        return int(cur.rowcount)

    def mark_indexed(self, path: str, **fields: Any) -> Item:
        now = self.now_iso()
        return self.transition(
            path, Lifecycle.INDEXED, last_scanned_at=now, error_count=0, error_reason=None,
            last_error=None, next_retry_after=None, candidates=None, claimed_from=None,
            processing_started_at=None, **fields)

    def mark_error(self, path: str, reason: str, message: str, *, retryable: bool,
                   candidates: Sequence[Mapping[str, Any]] = ()) -> Item:
        """ERROR with the brief's cooldown; reasons a retry cannot fix wait for a change."""
        current = self.get(path)
        count = (current.error_count if current else 0) + 1
        retry_at = iso(self.clock() + retry_delay(count)) if retryable else None
        return self.transition(
            path, Lifecycle.ERROR, error_count=count, error_reason=reason,
            last_error=message[:500], next_retry_after=retry_at,
            candidates=list(candidates) or None, last_scanned_at=self.now_iso(),
            claimed_from=None, processing_started_at=None)

    @retry_locked
    def mark_stale(self) -> int:
        """INDEXED items whose refresh age has passed become STALE (smart aging, §5.2)."""
        with self.db.conn:
            cur = self.db.execute(
                f"UPDATE {TABLE} SET scan_state = 'STALE' WHERE scan_state = 'INDEXED' "
                "AND stale_after IS NOT NULL AND stale_after <= ?", [self.now_iso()])
        return int(cur.rowcount)

    @retry_locked
    def delete(self, paths: Iterable[str]) -> int:
        with self.db.conn:
            return sum(self.db.execute(f"DELETE FROM {TABLE} WHERE media_path = ?", [p]).rowcount
                       for p in paths)

    @retry_locked
    def forget_other_roots(self, roots: Sequence[str]) -> int:
        """Drop rows and folder records of library roots that are no longer configured:
        they are not missing files, they are not this library any more."""
        marks = ",".join("?" * len(roots)) or "NULL"
        with self.db.conn:
            cur = self.db.execute(f"DELETE FROM {TABLE} WHERE root NOT IN ({marks})", list(roots))
            self.db.execute(f"DELETE FROM dir_cache WHERE root NOT IN ({marks})", list(roots))
        if cur.rowcount:
            log.info("forgot %d item(s) of library roots no longer configured", cur.rowcount)
        return int(cur.rowcount)

    # -- shows ------------------------------------------------------------------------

    def show(self, show_dir: str) -> dict[str, Any] | None:
        rows = self._rows("SELECT * FROM shows WHERE show_dir = ?", [show_dir])
        return dict(rows[0]) if rows else None

    @retry_locked
    def save_show(self, show_dir: str, **fields: Any) -> None:
        with self.db.conn:
            self.db.table("shows").upsert({"show_dir": show_dir, **fields}, pk="show_dir")

    def cached_show(self, show_dir: str, newer_than: float) -> dict[str, Any] | None:
        row = self.db.execute("SELECT payload FROM shows WHERE show_dir = ? AND payload_at > ?",
                              [show_dir, newer_than]).fetchone()
        if row is None or row[0] is None:
            return None
        data: dict[str, Any] = json.loads(zlib.decompress(row[0]))
        data["seasons"] = {int(k): v for k, v in data.get("seasons", {}).items()}
        return data

    @retry_locked
    def cache_show(self, show_dir: str, show: Mapping[str, Any], older_than: float) -> None:
        """Keep this answer; drop every cached answer older than ``older_than``."""
        blob = zlib.compress(json.dumps(show, separators=(",", ":")).encode("utf-8"), 6)
        with self.db.conn:
            self.db.execute("UPDATE shows SET payload = NULL, payload_at = NULL "
                            "WHERE payload_at <= ?", [older_than])
            self.db.table("shows").upsert(
                {"show_dir": show_dir, "payload": blob, "payload_at": self.clock()},
                pk="show_dir")

    # -- directory cache ----------------------------------------------------------------

    def load_dirs(self, root: str, *, signatures: bool = True) -> dict[str, DirRow]:
        """Folder records of ``root``; without ``signatures`` (fast quick scans, which list
        only folders whose mtime moved and diff those anyway) the read is a third cheaper."""
        column = "dir_signature" if signatures else "''"
        rows = self.db.execute(
            f"SELECT path, mtime_ns, subdirs, {column} FROM dir_cache WHERE root = ?",
            [root]).fetchall()
        return {r[0]: DirRow(r[0], r[1], tuple(r[2].split("/")) if r[2] else (), r[3] or "")
                for r in rows}

    @retry_locked
    def save_dirs(self, root: str, dirs: Iterable[DirRow]) -> None:
        now = self.now_iso()
        with self.db.conn:
            self.db.conn.executemany(
                "INSERT OR REPLACE INTO dir_cache (path, root, mtime_ns, subdirs, dir_signature, "
                "last_checked) VALUES (?, ?, ?, ?, ?, ?)",
                [(d.path, root, d.mtime_ns, "/".join(d.subdirs), d.signature, now)
                 for d in dirs])  # "/" cannot occur in a name: the cheapest list encoding

    @retry_locked
    def forget_dirs(self, paths: Iterable[str]) -> None:
        with self.db.conn:
            self.db.conn.executemany("DELETE FROM dir_cache WHERE path = ?",
                                     [(p,) for p in paths])

    # -- scan runs ------------------------------------------------------------------------

    @retry_locked
    def start_run(self, mode: str, *, trigger: str = "cli", paths: Sequence[str] = ()) -> int:
        with self.db.conn:
            cur = self.db.execute(
                "INSERT INTO scan_runs (mode, trigger, paths, status, started_at) "
                "VALUES (?, ?, ?, 'running', ?)",
                [mode, trigger, json.dumps(list(paths)), self.now_iso()])
        return int(cur.lastrowid or 0)

    @retry_locked
    def finish_run(self, run_id: int, counts: Mapping[str, int], *, status: str = "done",
                   duration_ms: int | None = None) -> None:
        with self.db.conn:
            self.db.execute(
                "UPDATE scan_runs SET status = ?, finished_at = ?, counts = ?, duration_ms = ? "
                "WHERE id = ?", [status, self.now_iso(), json.dumps(dict(counts)), duration_ms,
                                 run_id])

    def runs(self, limit: int = 10) -> list[dict[str, Any]]:
        rows = self._rows("SELECT * FROM scan_runs ORDER BY id DESC LIMIT ?", [limit])
        return [{**dict(r), "counts": json.loads(r["counts"] or "{}"),
                 "paths": json.loads(r["paths"] or "[]")} for r in rows]

    @retry_locked
    def close_dangling_runs(self) -> int:
        """Runs still 'running' at start-up were cut short by a crash: say so."""
        with self.db.conn:
            cur = self.db.execute("UPDATE scan_runs SET status = 'interrupted', finished_at = ? "
                                  "WHERE status = 'running'", [self.now_iso()])
        return int(cur.rowcount)

    def iter_items(self, batch: int = 1000) -> Iterator[Item]:
        last = 0
        while True:
            rows = self._rows(f"SELECT * FROM {TABLE} WHERE id > ? ORDER BY id LIMIT ?",
                              [last, batch])
            if not rows:
                return
            last = rows[-1]["id"]
            yield from (Item.from_row(r) for r in rows)

    # -- pending host events (webhook intake) ------------------------------------------
    # A webhook is answered 202 only after its event is stored here, so an event survives
    # a crash or restart between "accepted" and "resolved"; intake deletes it when done.

    @retry_locked
    def add_event(self, host: str, item_id: str, payload: Mapping[str, Any]) -> int:
        """Persist one accepted host event; returns its id."""
        with self.db.conn:
            cur = self.db.execute(
                "INSERT INTO pending_events (host, item_id, payload, received_at, attempts) "
                "VALUES (?, ?, ?, ?, 0)", [host, item_id, json.dumps(dict(payload)),
                                           self.now_iso()])
        return int(cur.lastrowid or 0)

    def pending_events(self, limit: int = 1000) -> list[dict[str, Any]]:
        """Oldest first; ``payload`` decoded."""
        rows = self._rows("SELECT * FROM pending_events ORDER BY id LIMIT ?", [limit])
        return [{**dict(r), "payload": json.loads(r["payload"] or "{}")} for r in rows]

    def count_events(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM pending_events").fetchone()[0])

    @retry_locked
    def delete_event(self, event_id: int) -> None:
        with self.db.conn:
            self.db.execute("DELETE FROM pending_events WHERE id = ?", [event_id])

    @retry_locked
    def bump_event(self, event_id: int, error: str) -> int:
        """Count one failed attempt; returns the attempts so far."""
        with self.db.conn:
            self.db.execute("UPDATE pending_events SET attempts = attempts + 1, last_error = ? "
                            "WHERE id = ?", [error[:500], event_id])
        row = self.db.execute("SELECT attempts FROM pending_events WHERE id = ?",
                              [event_id]).fetchone()
        return int(row[0]) if row else 0


def _encode(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Lists and dicts are stored as JSON text; everything else as is."""
    return {k: (json.dumps(v) if isinstance(v, list | tuple | dict) else v)
            for k, v in fields.items()}
