"""Scan runs: what ran, when, how long, and what it found."""

from __future__ import annotations

import json
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
        return [{**dict(r), "counts": json.loads(r["counts"] or "{}"),
                 "paths": json.loads(r["paths"] or "[]")} for r in rows]

    @retry_locked
    def close_dangling_runs(self) -> int:
        """Runs still 'running' at start-up were cut short by a crash: say so."""
        with self.db.conn:
            cur = self.db.execute("UPDATE scan_runs SET status = 'interrupted', finished_at = ? "
                                  "WHERE status = 'running'", [self.now_iso()])
        return int(cur.rowcount)
