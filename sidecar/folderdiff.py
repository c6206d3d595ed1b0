"""One listed folder against its rows: NEW, CHANGED, MISSING, back again, undecodable names.

The scanner decides what to walk and when; this module decides what a listed folder means
for the state table.  It reads the rows of that folder only, so a scan holds one folder at
a time, and a folder whose media signature is unchanged costs no read at all.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from sidecar import catalog
from sidecar.lifecycle import Lifecycle
from sidecar.listing import DirListed, KnownDir, MediaFile
from sidecar.state import DirRow, StateStore

UNDECODABLE = "the file name is not valid UTF-8; rename the file"


class FolderDiff:
    """Brings rows in line with listed folders; one per scan, counting into its summary."""

    def __init__(self, store: StateStore, roots: Sequence[str], counts: Counter[str],
                 errors: list[str]) -> None:
        self.store = store
        self.roots = roots
        self.counts = counts
        self.errors = errors

    def apply(self, root: str, listing: DirListed) -> DirRow | None:
        """Diff ``listing`` (a folder below ``root``) against its rows; the folder record to
        save, or None when the stored one already says the same."""
        if not storable(listing.path):
            return None  # the walker reported the undecodable name; SQLite cannot hold it
        self._diff(root, listing)
        if same_record(listing.before, listing):
            return None
        subdirs = tuple(name for name in listing.subdirs if storable(name))
        return DirRow(listing.path, listing.mtime_ns, subdirs, listing.signature)

    def _diff(self, root: str, listing: DirListed) -> None:
        self.counts["files"] += len(listing.files)
        before = listing.before
        if before is not None:
            self._vanish_subdirs(root, listing.path, set(before[1]) - set(listing.subdirs))
            if listing.unchanged:
                return
        rows = self.store.file_stats_in_dir(listing.path)
        on_disk = {media.path: media for media in listing.files if storable(media.path)}
        odd = self._record_undecodable(root, listing, rows)
        self._record_new(root, [media for path, media in on_disk.items() if path not in rows])
        for path, media in on_disk.items():
            if path in rows:
                self._compare(media, rows[path])
        gone = [path for path, (_, _, state) in rows.items()
                if path not in on_disk and path not in odd and state != Lifecycle.MISSING]
        self.counts["missing"] += self.store.transition_many(gone, Lifecycle.MISSING)

    def _record_undecodable(self, root: str, listing: DirListed,
                            rows: Mapping[str, tuple[int, int, str]]) -> set[str]:
        """Videos whose name is not valid UTF-8 cannot be fetched or written beside (SQLite
        and JSON hold text): each gets an ERROR row under a readable escaped name, so the
        user sees it and its reason, and it is never taken for a missing file."""
        shown = {printable(m.path): m for m in listing.files if not storable(m.path)}
        records = [{"media_path": name, "parent_path": listing.path, "root": root,
                    "media_type": "movie", "scan_state": Lifecycle.ERROR.value,
                    "error_reason": "undecodable_name", "error_count": 1,
                    "last_error": UNDECODABLE, **catalog.file_fields(media)}
                   for name, media in shown.items() if name not in rows]
        self.store.add_new(records)
        self.counts["unidentified"] += len(records)
        self.errors += [f"{r['media_path']}: {UNDECODABLE}" for r in records]
        return set(shown)

    def _vanish_subdirs(self, root: str, parent: str, names: Iterable[str]) -> None:
        """Subfolders gone since the last listing: everything below them is MISSING."""
        for name in filter(storable, names):
            folder = os.path.join(parent, name)
            gone = self.store.paths_under(folder)
            self.counts["missing"] += self.store.transition_many(gone, Lifecycle.MISSING)
            self.store.forget_dirs(root, [folder])

    def _record_new(self, root: str, files: list[MediaFile]) -> None:
        records = [catalog.new_record(media, root, self.roots) for media in files]
        self.store.add_new(records)
        for record in records:
            state = Lifecycle(record.get("scan_state", Lifecycle.NEW))
            self.counts[{Lifecycle.INDEXED: "adopted", Lifecycle.ERROR: "unidentified"}
                        .get(state, "new")] += 1
            if state == Lifecycle.ERROR:
                self.errors.append(f"{record['media_path']}: {record['last_error']}")

    def _compare(self, media: MediaFile, row: tuple[int, int, str]) -> None:
        """Same size and mtime: untouched.  Otherwise CHANGED (or NEW again if it was gone)."""
        size, mtime_ns, state = row
        if (size, mtime_ns) == (media.size, media.mtime_ns) and state != Lifecycle.MISSING:
            self.counts["unchanged"] += 1
            return
        fields = catalog.file_fields(media)
        if state == Lifecycle.MISSING:
            self.store.transition(media.path, Lifecycle.NEW, **fields)
            self.counts["new"] += 1
        elif state in (Lifecycle.NEW, Lifecycle.CHANGED, Lifecycle.PROCESSING):
            self.store.update_fields(media.path, **fields)  # still copying, or being fetched
        else:
            self.store.transition(media.path, Lifecycle.CHANGED, **fields)
            self.counts["changed"] += 1


def same_record(before: KnownDir | None, listing: DirListed) -> bool:
    """Whether the stored record already says what this listing says (then no write)."""
    return before is not None and tuple(before) == (
        listing.mtime_ns, listing.subdirs, listing.signature)


def printable(path: str) -> str:
    """A surrogate-escaped (undecodable) path as readable text: bad bytes become \\xNN."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def storable(path: str) -> bool:
    """SQLite stores UTF-8 text: a name that was not valid UTF-8 on disk (a surrogate-escaped
    str) cannot be a row.  The walker logs and reports such names; the scan skips them."""
    if path.isascii():
        return True
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
