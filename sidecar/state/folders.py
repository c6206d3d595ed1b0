"""Folders as last listed: what lets a quick scan skip a folder unchanged.

``dir_cache`` holds one row per folder (path, mtime, subfolders, media signature) and its
``walk_key`` (``walkorder.py``), so the rows of a subtree come back in the order a walk
visits them, a page at a time.  Fast quick scans need only mtime and subfolders, which
marshal pages (``dir_snapshots``) give five times faster than rows; any change to a root's
rows drops its pages, and ``snapshot_dirs`` writes them again when a scan is done.
Either way a scan holds one page of records, never the whole library's.
"""

from __future__ import annotations

import marshal
from collections.abc import Iterable, Iterator

from sidecar.state.base import Connection, DirRow, retry_locked
from sidecar.state.walkorder import FolderRecords, Page, Record, subtree_range, walk_key

PAGE = 1024  # folders per page: ~0.5 MB of records in memory


def _subdirs(text: str | None) -> tuple[str, ...]:
    return tuple(text.split("/")) if text else ()  # "/" cannot occur in a name


class FolderStore(Connection):
    """The ``dir_cache`` table and its per-root snapshot pages."""

    def folder_records(self, root: str, start: str | None = None, *,
                       signatures: bool = True) -> FolderRecords:
        """Records of ``start`` (default ``root``) and below, in walk order.

        Without ``signatures`` (fast quick scans, which diff the folders they list anyway)
        a whole root comes from its snapshot pages when there are some; signatures are
        then ``""``.  Should the pages be dropped while being read (another scan saved
        folders), the rest comes from the rows.
        """
        start = start or root
        if signatures or start != root:
            return FolderRecords(self._row_pages(root, *subtree_range(start), signatures))
        return FolderRecords(self._snapshot_pages(root))

    def folder_record(self, path: str) -> Record | None:
        """One folder's record (a folder the stat pass found changed)."""
        row = self.db.execute("SELECT mtime_ns, subdirs, dir_signature FROM dir_cache "
                              "WHERE path = ?", [path]).fetchone()
        return None if row is None else (row[0], _subdirs(row[1]), row[2] or "")

    def _snapshot_pages(self, root: str) -> Iterator[Page]:
        low, high = subtree_range(root)
        seq = 0
        while True:
            row = self.db.execute("SELECT data FROM dir_snapshots WHERE root = ? AND seq = ?",
                                  [root, seq]).fetchone()
            if row is None:  # no snapshot, or dropped since: read on from the rows
                yield from self._row_pages(root, low, high, False, after=seq > 0)
                return
            page: Page = marshal.loads(row[0])
            if not page:  # the empty last page
                return
            yield page
            low, seq = walk_key(page[-1][0]), seq + 1

    def _row_pages(self, root: str, low: bytes, high: bytes, signatures: bool, *,
                   after: bool = False) -> Iterator[Page]:
        """Keyset pages of rows with ``low <= walk_key < high`` (``low <`` when ``after``):
        no cursor stays open while the scan writes, and each page is its own query."""
        column = "dir_signature" if signatures else "''"
        while True:
            rows = self.db.execute(
                f"SELECT path, mtime_ns, subdirs, {column}, walk_key FROM dir_cache "
                f"WHERE root = ? AND walk_key {'>' if after else '>='} ? AND walk_key < ? "
                "ORDER BY walk_key LIMIT ?", [root, low, high, PAGE]).fetchall()
            if not rows:
                return
            yield [(r[0], (r[1], _subdirs(r[2]), r[3] or "")) for r in rows]
            low, after = rows[-1][4], True

    def has_snapshot(self, root: str) -> bool:
        return self.db.execute("SELECT 1 FROM dir_snapshots WHERE root = ? AND seq = 0",
                               [root]).fetchone() is not None

    @retry_locked
    def snapshot_dirs(self, root: str) -> None:
        """Write the pages fast scans load, from the rows as they are now, one transaction
        (so pages exist whole or not at all); an empty page marks the end."""
        with self.db.conn:
            self.db.execute("DELETE FROM dir_snapshots WHERE root = ?", [root])
            seq = 0
            for seq, page in enumerate(self._row_pages(root, *subtree_range(root), False)):
                self._write_page(root, seq, page)
                seq += 1
            self._write_page(root, seq, [])

    def _write_page(self, root: str, seq: int, page: Page) -> None:
        self.db.execute("INSERT INTO dir_snapshots (root, seq, data) VALUES (?, ?, ?)",
                        [root, seq, marshal.dumps(list(page))])

    @retry_locked
    def save_dirs(self, root: str, dirs: Iterable[DirRow]) -> None:
        now = self.now_iso()
        rows = [(d.path, root, d.mtime_ns, "/".join(d.subdirs), d.signature, now,
                 walk_key(d.path)) for d in dirs]
        if not rows:
            return
        with self.db.conn:
            self.db.conn.executemany(
                "INSERT OR REPLACE INTO dir_cache (path, root, mtime_ns, subdirs, dir_signature, "
                "last_checked, walk_key) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            self.db.execute("DELETE FROM dir_snapshots WHERE root = ?", [root])

    @retry_locked
    def forget_dirs(self, root: str, folders: Iterable[str]) -> None:
        """Drop the records of ``folders`` and everything below them (they are gone)."""
        ranges = [(root, *subtree_range(folder)) for folder in folders]
        with self.db.conn:
            self.db.conn.executemany(
                "DELETE FROM dir_cache WHERE root = ? AND walk_key >= ? AND walk_key < ?", ranges)
            self.db.execute("DELETE FROM dir_snapshots WHERE root = ?", [root])
