"""Host events accepted by a webhook but not handled yet: stored first, so none is lost."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sidecar.state.base import Connection, retry_locked


class EventStore(Connection):
    """The ``pending_events`` table."""

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
