"""Stage A of the two-stage walk: enumerate media folders fast, never open a video.

``walk()`` yields one event per folder, in pre-order (children in byte order of their names),
so a consumer holds one folder's files at a time: memory grows with the largest folder, not
the library.  What it knows of folders (``known``) is asked in that same order, so it can be
a stream (``state.walkorder``) rather than a map of the whole library.

* ``DirListed``     the folder was listed (``listing.py``): its media files (path, size, mtime,
                    sidecars), the subfolders to visit, a signature of its media, and
                    the ``before`` record (``unchanged`` when the signatures are equal).
* ``DirUnchanged``  fast mode: the folder's own mtime equals its ``known`` record, so no entry
                    was added, removed or renamed in it.  It was *not* listed; the walk went on
                    into its recorded subfolders, each stat-ed to compare its own mtime.
* ``DirUnreadable`` the folder exists but could not be read (permission, I/O error): the
                    scanner must keep what it knew below it, not mark it MISSING.

A folder that vanished yields nothing: the scanner finds MISSING items by comparing what was
listed or unchanged with what it knew.  Fast mode cannot see a file rewritten *in place* (its
folder's mtime does not change): the scanner's periodic stat pass does.  Fast mode also
relies on folders' mtimes following POSIX (local disks, NFS, SMB do); for mounts that never
update them (some FUSE/cloud mounts) ``mode="full"`` lists every folder every time.  What is
kept or ignored is decided in ``walkrules.py``.  Folder symlinks: see ``_Links``.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal, NamedTuple, Protocol

from sidecar.listing import (
    RACY_WINDOW_NS,
    DirListed,
    DirRecord,
    KnownDir,
    Lister,
    MediaFile,
    Report,
    reason_for,
    signature,
)
from sidecar.walkrules import (
    SAMPLE_MAX_BYTES,
    SIDECAR_EXTENSIONS,
    SUBTITLE_EXTENSIONS,
    VIDEO_EXTENSIONS,
)

__all__ = [
    "RACY_WINDOW_NS",
    "SAMPLE_MAX_BYTES",
    "SIDECAR_EXTENSIONS",
    "SUBTITLE_EXTENSIONS",
    "VIDEO_EXTENSIONS",
    "DirListed",
    "DirRecord",
    "DirUnchanged",
    "DirUnreadable",
    "KnownDir",
    "MediaFile",
    "OnError",
    "WalkEvent",
    "iter_media",
    "signature",
    "walk",
]  # fmt: skip

logger = logging.getLogger(__name__)

OnError = Callable[[str, str], None]
Mode = Literal["fast", "full"]
_S_ISDIR = stat.S_ISDIR
_S_ISLNK = stat.S_ISLNK


class Known(Protocol):
    """What a walk knows of folders seen before, asked once per folder it reaches and in
    the order it reaches them (pre-order, children in byte order of their names).

    A dict serves; so does a stream that reads records in that order a page at a time
    (``state.walkorder.FolderRecords``), which keeps a walk's memory independent of the library.
    """

    def get(self, path: str, /) -> KnownDir | None: ...


class DirUnchanged(NamedTuple):
    """Fast mode: the folder's mtime matches its record; it was not listed.  (A named tuple:
    one is made per folder of the library on every quick scan.)"""

    path: str


@dataclass(frozen=True, slots=True)
class DirUnreadable:
    """The folder exists but could not be read; keep what was known below it."""

    path: str
    reason: str


WalkEvent = DirListed | DirUnchanged | DirUnreadable


def walk(
    root: str | os.PathLike[str],
    *,
    known: Known | None = None,
    mode: Mode = "fast",
    on_error: OnError | None = None,
    sample_max_bytes: int = SAMPLE_MAX_BYTES,
    clock: Callable[[], int] = time.time_ns,
    skipped: list[int] | None = None,
) -> Iterator[WalkEvent]:
    """Walk ``root`` and yield one event per folder (see the module docstring).

    With ``skipped`` (a one-element counter), unchanged folders in fast mode are counted
    there instead of yielded: a quick scan then pays nothing per unchanged folder beyond
    its stat.

    ``known`` gives folder paths (as yielded) their last ``DirRecord`` (see ``Known``).  In
    ``"fast"`` mode a known folder whose mtime is unchanged is not listed; ``"full"`` lists
    every folder.
    Problems below the root are logged, passed to ``on_error(path, reason)`` and skipped;
    reasons: permission_denied, vanished, broken_symlink, symlink_loop, already_visited,
    undecodable_name (the file is still yielded), os_error.  ``clock`` (ns) dates listings.

    Raises OSError when the root itself cannot be read: an unmounted or unreadable share must
    not look like an empty library (which would mark everything MISSING).
    """
    if mode not in ("fast", "full"):
        raise ValueError(f"mode must be 'fast' or 'full', not {mode!r}")
    walker = _Walker(known or {}, mode == "fast", on_error, sample_max_bytes, clock)
    return walker.run(os.path.abspath(os.fspath(root)), skipped)


def iter_media(
    root: str | os.PathLike[str],
    *,
    on_error: OnError | None = None,
    sample_max_bytes: int = SAMPLE_MAX_BYTES,
) -> Iterator[MediaFile]:
    """Every media file under ``root`` (a full listing): for webhooks, the CLI and tests."""
    for event in walk(root, mode="full", on_error=on_error, sample_max_bytes=sample_max_bytes):
        if isinstance(event, DirListed):
            yield from event.files


class _Links:
    """Folder symlinks met in one walk, each followed at most once, and none back inside.

    A link to a folder inside the library is not followed: the folder is walked at its real
    path anyway, and a link to one of its own parents (a loop) is such a link.  A link out
    of the library is followed once per target.  This needs memory per link, not per folder
    (a set of every folder's inode would grow with the library).  Two links into one outside
    tree at different depths may walk the inner part twice; that is all the cost.
    """

    def __init__(self, root: str) -> None:
        self.real_root = os.path.realpath(root)
        self.followed: dict[tuple[int, int], str] = {}

    def follow(self, path: str, problem: Report) -> os.stat_result | None:
        """The target's stat, or None (reported) when it must not be walked from here."""
        st = os.stat(path)  # OSError when dangling or looping: the caller reports it
        if not _S_ISDIR(st.st_mode):
            return st
        real = os.path.realpath(path)
        if _inside(real, self.real_root):
            problem(path, "already_visited", f"(links to {real!r}, walked at its own path)")
            return None
        if _inside(self.real_root, real):
            problem(path, "symlink_loop", f"(links to {real!r}, which holds the library)")
            return None
        if (st.st_dev, st.st_ino) in self.followed or any(
                _inside(real, seen) for seen in self.followed.values()):
            problem(path, "already_visited", f"(links to {real!r}, followed already)")
            return None
        self.followed[st.st_dev, st.st_ino] = real
        return st


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


class _Walker:
    """One traversal's state: what is known, the folder links followed, the error sink."""

    def __init__(
        self,
        known: Known,
        fast: bool,
        on_error: OnError | None,
        sample_max_bytes: int,
        clock: Callable[[], int],
    ) -> None:
        self.known = known
        self.fast = fast
        self.on_error = on_error
        self.lister = Lister(self.problem, sample_max_bytes, clock)

    def run(self, root: str, skipped: list[int] | None = None) -> Iterator[WalkEvent]:
        """Iterative pre-order DFS (no recursion limit on deep trees), children in byte order
        of their names: the order ``known`` is asked in (see ``Known``).

        The stack holds one lazy iterator of child paths per level, so a folder's paths are
        made as they are visited: memory follows the depth and the largest folder.  The
        unchanged-folder path is inlined: in fast mode it runs once per folder of the
        library and is the whole cost of a quick scan, so it is one stat and a lookup.
        """
        self.links = _Links(root)
        stack: list[Iterator[str]] = [iter((root,))]
        known, fast = self.known, self.fast
        while stack:
            path = next(stack[-1], None)
            if path is None:
                stack.pop()
                continue
            try:
                st = os.stat(path) if path == root else os.lstat(path)
                target = self.links.follow(path, self.problem) if _S_ISLNK(st.st_mode) else st
            except OSError as exc:
                yield from self._failed(path, exc, path == root)
                continue
            if target is None:
                continue
            st = target
            if not _S_ISDIR(st.st_mode):  # a recorded folder replaced by a file: gone
                if path == root:
                    raise NotADirectoryError(errno.ENOTDIR, "library root is not a folder", root)
                continue
            record = known.get(path)
            # mtime 0 is never trusted: racy listings are recorded as 0 (see RACY_WINDOW_NS)
            if fast and record is not None and record[0] == st.st_mtime_ns != 0:
                if skipped is None:
                    yield DirUnchanged(path)
                else:
                    skipped[0] += 1
                subdirs = record[1]
            else:
                try:
                    listed = self.lister.list_folder(path, st.st_mtime_ns, record)
                except OSError as exc:
                    yield from self._failed(path, exc, path == root)
                    continue
                yield listed
                subdirs = listed.subdirs
            if subdirs:
                prefix = path if path.endswith(os.sep) else path + os.sep
                stack.append(map(prefix.__add__, subdirs))

    def _failed(self, path: str, exc: OSError, is_root: bool) -> Iterator[DirUnreadable]:
        """A folder that could not be stat-ed or listed; the root's failure is the caller's."""
        if is_root:
            raise exc
        if isinstance(exc, FileNotFoundError):
            logger.debug("walker: folder vanished during the walk: %r", path)
            return
        reason = reason_for(exc)
        self.problem(path, reason, exc)
        yield DirUnreadable(path, reason)

    def problem(self, path: str, reason: str, detail: object = "") -> None:
        """Log with repr() (safe for undecodable names) and tell the caller."""
        level = logging.INFO if reason == "vanished" else logging.WARNING
        logger.log(level, "walker: %s: %r %s", reason, path, detail)
        if self.on_error is not None:
            self.on_error(path, reason)
