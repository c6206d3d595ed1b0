"""Folders as last listed: what lets a quick scan skip a folder unchanged."""

from __future__ import annotations

from collections.abc import Iterable

from sidecar.state.base import Connection, DirRow, retry_locked


class FolderStore(Connection):
    """The ``dir_cache`` table."""

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
