"""Items: reading them, and every lifecycle move.

Every move goes through ``transition``/``transition_many``, which check
``lifecycle.ALLOWED`` inside the same transaction as the write, so an illegal move is
impossible no matter which thread asks.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from sidecar.errors import IllegalTransition
from sidecar.lifecycle import ALLOWED, CLAIMABLE, INITIAL, Lifecycle, retry_delay
from sidecar.state.base import (
    TABLE,
    WORK_STATES,
    Connection,
    Item,
    _encode,
    iso,
    log,
    retry_locked,
)

ROOTS_KEY = "library_roots"  # in the settings table: the roots of the last start
PAGE = 1024  # rows per query when streaming the whole library (the stat pass)


def _below(folder: str) -> tuple[str, str]:
    """``[low, high)`` of the paths inside ``folder``: ``folder/`` up to ``folder0`` ("0"
    follows "/"), a range scan on the unique path index."""
    base = folder.rstrip("/") + "/"
    return base, base[:-1] + "0"


class ItemStore(Connection):
    """The ``media_scan_state`` table."""

    # -- reading items ----------------------------------------------------------------

    def get(self, path: str) -> Item | None:
        rows = self._rows(f"SELECT * FROM {TABLE} WHERE media_path = ?", [path])
        return Item.from_row(rows[0]) if rows else None

    def file_stats_in_dir(self, parent: str) -> dict[str, tuple[int, int, str]]:
        """path -> (size, mtime_ns, state): the narrow read the scanner's hot loop needs."""
        rows = self.db.execute(
            f"SELECT media_path, file_size_bytes, mtime_ns, scan_state FROM {TABLE} "
            "WHERE parent_path = ?", [parent]).fetchall()
        return {r[0]: (r[1] or 0, r[2] or 0, r[3]) for r in rows}

    def file_stats_under(self, folder: str) -> Iterator[tuple[str, str, int, int]]:
        """(path, parent folder, size, mtime_ns) of every file below ``folder`` that is not
        MISSING (nor an undecodable name: its row holds an escaped path), in path order.
        Read a page per query (keyset on the unique index), so no cursor stays open while
        the caller writes and memory stays one page."""
        (low, high), op = _below(folder), ">="
        while True:
            rows = self.db.execute(
                f"SELECT media_path, parent_path, file_size_bytes, mtime_ns FROM {TABLE} "
                f"WHERE media_path {op} ? AND media_path < ? AND scan_state != 'MISSING' "
                "AND coalesce(error_reason, '') != 'undecodable_name' "
                "ORDER BY media_path LIMIT ?", [low, high, PAGE]).fetchall()
            if not rows:
                return
            for path, parent, size, mtime_ns in rows:
                yield path, parent, size or 0, mtime_ns or 0
            low, op = rows[-1][0], ">"

    def paths_under(self, prefix: str, states: Iterable[Lifecycle] | None = None,
                    limit: int = -1) -> list[str]:
        """Paths of items inside folder ``prefix`` (range scan on the unique index)."""
        sql = f"SELECT media_path FROM {TABLE} WHERE media_path >= ? AND media_path < ?"
        params: list[Any] = list(_below(prefix))
        if states is not None:
            wanted = list(states)
            sql += f" AND scan_state IN ({','.join('?' * len(wanted))})"
            params += [s.value for s in wanted]
        sql += " LIMIT ?"
        params.append(limit)
        return [row[0] for row in self.db.execute(sql, params).fetchall()]

    def has_media_below(self, folder: str) -> bool:
        """Whether any file lives in a subfolder of ``folder`` (a movie there is not alone)."""
        row = self.db.execute(
            f"SELECT 1 FROM {TABLE} WHERE media_path >= ? AND media_path < ? "
            "AND parent_path != ? LIMIT 1", [*_below(folder), folder]).fetchone()
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
    def forget_other_roots(self, roots: Sequence[str]) -> int:
        """Drop rows and folder records of library roots that are no longer configured:
        they are not missing files, they are not this library any more.  The roots last
        seen are remembered, so the usual start (same roots) costs no scan of the table."""
        seen = json.dumps(sorted(roots))
        if self.stored_settings().get(ROOTS_KEY) == seen:
            return 0
        marks = ",".join("?" * len(roots)) or "NULL"
        with self.db.conn:
            cur = self.db.execute(f"DELETE FROM {TABLE} WHERE root NOT IN ({marks})", list(roots))
            self.db.execute(f"DELETE FROM dir_cache WHERE root NOT IN ({marks})", list(roots))
            self.db.execute(f"DELETE FROM dir_snapshots WHERE root NOT IN ({marks})",
                            list(roots))
        self.save_settings({ROOTS_KEY: seen})
        if cur.rowcount:
            log.info("forgot %d item(s) of library roots no longer configured", cur.rowcount)
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
