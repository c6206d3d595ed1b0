"""Scans: walk the library, diff it against the state table, and say what needs work.

A quick scan costs what changed, not what exists: folders whose own mtime is unchanged
are not even listed (the walker's fast path), a listed folder is compared with the rows
of that folder only (``folderdiff.py``), and folder records are read as a stream in walk
order, so memory follows the largest folder, not the library.

A file rewritten in place does not touch its folder's mtime.  Every ``full_stat_hours``
a quick scan therefore also stats every file the state table knows (the *stat pass*),
straight from its rows, and lists again only the folders where a file differs: git
checks its index the same way.  That is cheaper than listing every folder, which only
``--mode full`` and libraries on mounts without folder mtimes
(``trust_folder_mtimes=False``) pay.
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sidecar.folderdiff import FolderDiff
from sidecar.lifecycle import PRESENT
from sidecar.listing import Lister
from sidecar.state import DirRow, StateStore
from sidecar.walker import DirListed, walk

log = logging.getLogger(__name__)
MODES = ("quick", "refresh", "full")
FULL_STAT_KEY = "last_full_stat"
DIR_FLUSH = 2000


@dataclass
class ScanSummary:
    """What one scan found; printed by the CLI and stored in ``scan_runs``."""

    mode: str
    counts: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def walk_error(self, path: str, reason: str) -> None:
        """A path the scan could not use: counted and listed, never fatal."""
        self.counts["walk_errors"] += 1
        self.errors.append(f"{path}: {reason}")

    def line(self) -> str:
        """One line for people.  ``files`` is what the scan looked at: every known file
        when the stat pass ran, else the files of the folders it listed."""
        c = self.counts
        parts = [f"{c['checked'] or c['files']} files", f"{c['new']} new",
                 f"{c['changed']} changed", f"{c['missing']} missing", f"{c['adopted']} adopted",
                 f"{c['settling']} settling", f"{c['unidentified'] + c['walk_errors']} errors"]
        text = f"{self.mode} scan: " + ", ".join(parts) + f" in {self.seconds:.1f}s"
        if c["dirs_unchanged"]:
            text += f" ({c['dirs_unchanged']} unchanged folders not listed)"
        return text


Progress = Callable[[Counter[str]], None]


class Scanner:
    """Walks library roots and records what it finds; fetching is the worker's job."""

    def __init__(self, store: StateStore, roots: Sequence[str], *, settle_seconds: float = 60,
                 full_stat_hours: float = 24, trust_folder_mtimes: bool = True,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.roots = [os.path.abspath(r) for r in roots]
        self.settle_seconds = settle_seconds
        self.full_stat_hours = full_stat_hours
        self.trust_folder_mtimes = trust_folder_mtimes
        self.clock = clock

    def settle_before_ns(self) -> int:
        """Files modified after this instant may still be copying: recorded, not fetched yet."""
        return int((self.clock() - self.settle_seconds) * 1e9)

    def scan(self, mode: str = "quick", paths: Sequence[str] = (), *,
             progress: Progress | None = None) -> ScanSummary:
        """Walk ``paths`` (or every root) and bring the state table in line with the disk."""
        if mode not in MODES:
            raise ValueError(f"unknown scan mode {mode!r}")
        summary = ScanSummary(mode)
        started = time.monotonic()
        listing = mode == "full" or not self.trust_folder_mtimes  # list every folder
        stat_pass = not listing and self._full_stat_due()
        for root, start in self._targets(paths, summary):
            self._scan_tree(root, start, listing, summary, progress)
            if stat_pass:
                self._stat_pass(root, start, summary)
        if (listing or stat_pass) and not paths:
            self.store.save_settings({FULL_STAT_KEY: str(self.clock())})
        if mode == "refresh":
            summary.counts["stale"] += self.store.mark_stale()
        summary.counts["settling"] = self.store.count_settling(self.settle_before_ns())
        summary.seconds = time.monotonic() - started
        return summary

    def _full_stat_due(self) -> bool:
        last = float(self.store.stored_settings().get(FULL_STAT_KEY, "0") or 0)
        return self.clock() - last >= self.full_stat_hours * 3600

    def _targets(self, paths: Sequence[str], summary: ScanSummary) -> list[tuple[str, str]]:
        """(root, folder to walk) pairs; a path outside every root is refused, not walked."""
        if not paths:
            return [(root, root) for root in self.roots if self._root_ok(root, summary)]
        targets = []
        for path in paths:
            target = os.path.abspath(path)
            root = self.root_of(target)
            if root is None:
                summary.walk_error(path, "not inside a library root")
            elif self._root_ok(root, summary):
                targets.append((root, _existing_folder(target, root)))
        return targets

    def root_of(self, path: str) -> str | None:
        for root in self.roots:
            if path == root or path.startswith(root.rstrip(os.sep) + os.sep):
                return root
        return None

    def _root_ok(self, root: str, summary: ScanSummary) -> bool:
        """An unmounted share must not turn a whole library MISSING: skip such a root."""
        try:
            with os.scandir(root) as entries:
                empty = next(entries, None) is None
        except OSError as exc:
            return self._skip_root(root, f"cannot be read: {exc.strerror or exc}", summary)
        if empty and self.store.paths_under(root, states=PRESENT, limit=1):
            return self._skip_root(root, "is empty (not mounted?)", summary)
        return True

    @staticmethod
    def _skip_root(root: str, problem: str, summary: ScanSummary) -> bool:
        summary.errors.append(f"library root {root} {problem}; skipped")
        summary.counts["walk_errors"] += 1
        log.error("library root %s %s; skipped so nothing is marked missing", root, problem)
        return False

    def _scan_tree(self, root: str, start: str, listing: bool, summary: ScanSummary,
                   progress: Progress | None) -> None:
        """Walk ``start`` (below ``root``): every folder when ``listing``, else the fast way."""
        known = self.store.folder_records(root, start, signatures=listing)
        diff = self._folder_diff(summary)
        pending: list[DirRow] = []
        skipped = [0]  # unchanged folders (fast mode): counted by the walker, not yielded
        events = walk(start, known=known, mode="full" if listing else "fast",
                      on_error=summary.walk_error, skipped=skipped)
        counts = summary.counts
        try:
            for event in events:
                counts["dirs"] += 1
                if isinstance(event, DirListed):
                    self._on_listed(root, event, pending, diff)
                else:
                    counts["dirs_unreadable"] += 1  # unreadable: what was known below it stays
                if progress and counts["dirs"] % 500 == 0:
                    progress(counts)
        except OSError as exc:  # the folder to walk itself: vanished or unreadable just now
            summary.walk_error(start, exc.strerror or str(exc))
        counts["dirs"] += skipped[0]
        counts["dirs_unchanged"] += skipped[0]
        self._save(root, pending)

    def _save(self, root: str, pending: list[DirRow]) -> None:
        self.store.save_dirs(root, pending)
        pending.clear()
        if not self.store.has_snapshot(root):
            self.store.snapshot_dirs(root)  # for the next fast scan

    def _folder_diff(self, summary: ScanSummary) -> FolderDiff:
        return FolderDiff(self.store, self.roots, summary.counts, summary.errors)

    def _stat_pass(self, root: str, start: str, summary: ScanSummary) -> None:
        """Stat every file known below ``start``; list again each folder where one differs
        (rewritten in place, or gone without its folder's mtime moving).  One stat per file
        and no listing: a small part of what listing every folder costs."""
        suspects: set[str] = set()
        checked = 0
        for path, parent, size, mtime_ns in self.store.file_stats_under(start):
            try:
                st = os.stat(path)
            except (FileNotFoundError, NotADirectoryError):
                suspects.add(parent)
                continue
            except OSError:
                continue  # unreadable now: the walk reports folders it cannot read
            checked += 1
            if st.st_size != size or st.st_mtime_ns != mtime_ns:
                suspects.add(parent)
        summary.counts["checked"] += checked
        lister = Lister(lambda path, reason, _: summary.walk_error(path, reason))
        diff = self._folder_diff(summary)
        pending: list[DirRow] = []
        for folder in sorted(suspects):
            try:
                st = os.stat(folder)
                listed = lister.list_folder(folder, st.st_mtime_ns,
                                            self.store.folder_record(folder))
            except OSError:
                continue  # gone or unreadable: folders coming and going are the walk's part
            self._on_listed(root, listed, pending, diff)
        self._save(root, pending)

    def _on_listed(self, root: str, event: DirListed, pending: list[DirRow],
                   diff: FolderDiff) -> None:
        """One listed folder: diffed against its rows, and remembered if it changed."""
        record = diff.apply(root, event)
        if record is not None:  # an unchanged folder costs no write
            pending.append(record)
        if len(pending) >= DIR_FLUSH:
            self.store.save_dirs(root, pending)
            pending.clear()


def _existing_folder(target: str, root: str) -> str:
    """The folder to walk for a PATH argument: the path itself, or for a file or a path
    that is gone (a deletion being reported) the nearest folder above it, up to the root."""
    folder = target
    while folder != root and not os.path.isdir(folder):
        folder = os.path.dirname(folder)
    return folder
