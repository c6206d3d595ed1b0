"""Scan runs: what ran, when, how long, and what it found."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from sidecar.state.base import Connection, retry_locked


class RunStore(Connection):
    """The ``scan_runs`` table."""

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
        return [_run(r) for r in rows]

    def interrupted_full_runs(self, limit: int = 100) -> list[dict[str, Any]]:
        """The library-wide full runs a resumed full scan continues, newest first.

        They are the unbroken line of full runs cut short (status 'interrupted': a crash
        seen at start-up, or a stop) back to the last full run that finished, failed or
        was limited to paths.  A run of another mode started once one of them had been cut
        short also ends the line: something else was chosen instead of resuming.  Quick
        and refresh runs that went on *while* it was fetching (the service's scheduler
        starts one every few minutes) do not; they started before it was cut short."""
        line: list[dict[str, Any]] = []
        rows = self._rows("SELECT * FROM scan_runs WHERE mode = 'full' ORDER BY id DESC "
                          "LIMIT ?", [limit])
        for run in map(_run, rows):
            if run["status"] != "interrupted" or run["paths"]:
                break
            if self._started_since_cut_short(run, line[-1]["id"] if line else None):
                break
            line.append(run)
        return line

    def _started_since_cut_short(self, run: dict[str, Any], before_id: int | None) -> bool:
        """Whether a run after ``run`` (and before run ``before_id``) started once ``run``
        was recorded as cut short (its ``finished_at``)."""
        rows = self._rows("SELECT 1 FROM scan_runs WHERE id > ? AND id < ? "
                          "AND started_at >= COALESCE(?, '') LIMIT 1",
                          [run["id"], before_id if before_id is not None else 2 ** 62,
                           run["finished_at"]])
        return bool(rows)

    @retry_locked
    def close_dangling_runs(self) -> int:
        """Runs still 'running' at start-up were cut short by a crash: say so."""
        with self.db.conn:
            cur = self.db.execute("UPDATE scan_runs SET status = 'interrupted', finished_at = ? "
                                  "WHERE status = 'running'", [self.now_iso()])
        return int(cur.rowcount)


def _run(row: sqlite3.Row) -> dict[str, Any]:
    return {**dict(row), "counts": json.loads(row["counts"] or "{}"),
            "paths": json.loads(row["paths"] or "[]")}
