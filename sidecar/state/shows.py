"""Shows: the TMDB id per show folder, and a compressed copy of the last answer."""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping
from typing import Any

from sidecar.state.base import Connection, retry_locked


class ShowStore(Connection):
    """The ``shows`` table."""

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
