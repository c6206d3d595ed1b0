"""Folders as last listed: what lets a quick scan skip a folder unchanged.

``dir_cache`` holds one row per folder (path, mtime, subfolders, media signature).  Fast
quick scans need only mtime and subfolders of every folder, which one marshal blob per root
(``dir_snapshots``) gives five times faster than the rows; any change to the rows drops
the blob, and ``snapshot_dirs`` rebuilds it when a scan is done.
"""

from __future__ import annotations

import marshal
from collections.abc import Iterable

from sidecar.state.base import Connection, DirRow, retry_locked

# (mtime_ns, subfolder names, media signature): the shape the walker reads.
DirState = tuple[int, tuple[str, ...], str]


def _subdirs(text: str | None) -> tuple[str, ...]:
    return tuple(text.split("/")) if text else ()  # "/" cannot occur in a name


class FolderStore(Connection):
    """The ``dir_cache`` table and its per-root snapshot."""

    def load_dirs(self, root: str, *, signatures: bool = True) -> dict[str, DirState]:
        """Folder records of ``root``.  Without ``signatures`` (fast quick scans, which list
        only folders whose mtime moved and diff those anyway) they come from the snapshot
        when there is one; signatures are then ``""``."""
        if not signatures:
            row = self.db.execute("SELECT data FROM dir_snapshots WHERE root = ?",
                                  [root]).fetchone()
            if row is not None:
                known: dict[str, DirState] = marshal.loads(row[0])
                return known
        column = "dir_signature" if signatures else "''"
        rows = self.db.execute(
            f"SELECT path, mtime_ns, subdirs, {column} FROM dir_cache WHERE root = ?",
            [root]).fetchall()
        return {r[0]: (r[1], _subdirs(r[2]), r[3] or "") for r in rows}

    def has_snapshot(self, root: str) -> bool:
        return self.db.execute("SELECT 1 FROM dir_snapshots WHERE root = ?",
                               [root]).fetchone() is not None

    @retry_locked
    def snapshot_dirs(self, root: str) -> None:
        """Write the blob fast scans load, from the rows as they are now."""
        rows = self.db.execute("SELECT path, mtime_ns, subdirs FROM dir_cache WHERE root = ?",
                               [root]).fetchall()
        blob = marshal.dumps({r[0]: (r[1], _subdirs(r[2]), "") for r in rows})
        with self.db.conn:
            self.db.execute("INSERT OR REPLACE INTO dir_snapshots (root, data) VALUES (?, ?)",
                            [root, blob])

    @retry_locked
    def save_dirs(self, root: str, dirs: Iterable[DirRow]) -> None:
        now = self.now_iso()
        rows = [(d.path, root, d.mtime_ns, "/".join(d.subdirs), d.signature, now) for d in dirs]
        if not rows:
            return
        with self.db.conn:
            self.db.conn.executemany(
                "INSERT OR REPLACE INTO dir_cache (path, root, mtime_ns, subdirs, dir_signature, "
                "last_checked) VALUES (?, ?, ?, ?, ?, ?)", rows)
            self.db.execute("DELETE FROM dir_snapshots WHERE root = ?", [root])

    @retry_locked
    def forget_dirs(self, paths: Iterable[str]) -> None:
        with self.db.conn:
            self.db.conn.executemany("DELETE FROM dir_cache WHERE path = ?",
                                     [(p,) for p in paths])
            self.db.execute("DELETE FROM dir_snapshots")  # rare: rebuilt after the scan
