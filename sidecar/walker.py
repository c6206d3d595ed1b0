"""Stage A of the two-stage walk: list media folders fast, never open a video.

``walk()`` yields one event per directory, in pre-order, so a consumer holds one folder's
files at a time (memory grows with the largest folder, not with the library):

* ``DirListed``   the folder was listed: its media files (path, size, mtime, sidecars), its
                  subfolders, and a signature of its media; ``unchanged`` when the signature
                  equals the one the caller already knew.
* ``DirUnchanged`` fast mode only: the folder's own mtime equals the known one, so no entry was
                  added, removed or renamed in it; it was *not* listed, and the walk went on
                  into its recorded subfolders (each one stat-ed to compare its own mtime).
* ``DirUnreadable`` the folder exists but could not be read (permission, I/O error, symlink
                  loop): the scanner must keep what it knew below it, not mark it MISSING.

A folder that vanished yields nothing: the scanner finds MISSING items by comparing what was
listed and unchanged with what it knew.  Fast mode cannot see a file rewritten *in place*
(its folder's mtime does not change); the periodic ``mode="full"`` pass lists every folder and
catches it through the signature.  Classification rules live in ``walkrules.py``.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import stat
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

from sidecar.walkrules import (
    IGNORE_MARKERS,
    PARTIAL_SUFFIXES,
    SAMPLE_MAX_BYTES,
    SIDECAR_EXTENSIONS,
    SUBTITLE_EXTENSIONS,
    VIDEO_EXTENSIONS,
    attach_sidecars,
    extension,
    is_extra_file,
    is_extras_dir,
    is_junk_dir,
    is_media_folder,
    is_sample,
    marker_ignores_all,
)

__all__ = [
    "SAMPLE_MAX_BYTES", "SIDECAR_EXTENSIONS", "SUBTITLE_EXTENSIONS", "VIDEO_EXTENSIONS",
    "DirListed", "DirRecord", "DirUnchanged", "DirUnreadable", "MediaFile", "OnError",
    "WalkEvent", "iter_media", "signature", "walk",
]  # fmt: skip

logger = logging.getLogger(__name__)

# A folder modified less than this before it was listed may change again within the same
# mtime tick (2 s on FAT/exFAT, coarse on some NAS); its mtime is then reported as 0 so the
# next fast walk lists it again instead of trusting a racy mtime (git's "racy clean" problem).
RACY_WINDOW_NS = 2_000_000_000
_MARKER_READ_LIMIT = 64 * 1024

OnError = Callable[[str, str], None]
Mode = Literal["fast", "full"]


@dataclass(frozen=True, slots=True)
class MediaFile:
    """One video: stat data only, never opened.  ``sidecars`` are names in the same folder."""

    path: str
    size: int
    mtime_ns: int
    sidecars: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DirRecord:
    """What the scanner remembers per folder to skip it next time (from ``DirListed.record``)."""

    mtime_ns: int
    subdirs: tuple[str, ...]  # names, not paths: children are join(folder, name)
    signature: str


@dataclass(frozen=True, slots=True)
class DirListed:
    """A listed folder.  ``mtime_ns`` is 0 when too recent to trust (see RACY_WINDOW_NS)."""

    path: str
    mtime_ns: int
    subdirs: tuple[str, ...]
    signature: str
    files: tuple[MediaFile, ...]
    unchanged: bool

    def record(self) -> DirRecord:
        """The ``known`` entry that lets the next fast walk skip this folder."""
        return DirRecord(self.mtime_ns, self.subdirs, self.signature)


@dataclass(frozen=True, slots=True)
class DirUnchanged:
    """Fast mode: the folder's mtime matches its record; it was not listed."""

    path: str


@dataclass(frozen=True, slots=True)
class DirUnreadable:
    """The folder exists but could not be read; keep what was known below it."""

    path: str
    reason: str


WalkEvent = DirListed | DirUnchanged | DirUnreadable


def signature(files: Iterable[MediaFile]) -> str:
    """Digest of sorted ``name:size:mtime_ns:sidecars``: changes when any media file does."""
    lines = sorted(
        f"{os.path.basename(f.path)}:{f.size}:{f.mtime_ns}:{'/'.join(f.sidecars)}" for f in files
    )
    data = "\n".join(lines).encode("utf-8", "surrogateescape")
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def walk(
    root: str | os.PathLike[str],
    *,
    known: Mapping[str, DirRecord] | None = None,
    mode: Mode = "fast",
    on_error: OnError | None = None,
    sample_max_bytes: int = SAMPLE_MAX_BYTES,
    clock: Callable[[], int] = time.time_ns,
) -> Iterator[WalkEvent]:
    """Walk ``root`` and yield one event per folder (see the module docstring).

    ``known`` maps folder paths (as yielded) to their last ``DirRecord``.  In ``"fast"`` mode
    a known folder whose mtime is unchanged is not listed; ``"full"`` lists every folder.
    Problems below the root are logged, passed to ``on_error(path, reason)`` and skipped;
    reasons: permission_denied, vanished, broken_symlink, symlink_loop, already_visited,
    undecodable_name (still yielded), os_error.

    Raises OSError when the root itself cannot be read: an unmounted or unreadable share must
    not look like an empty library (which would mark everything MISSING).
    """
    if mode not in ("fast", "full"):
        raise ValueError(f"mode must be 'fast' or 'full', not {mode!r}")
    walker = _Walker(known or {}, mode == "fast", on_error, sample_max_bytes, clock)
    return walker.run(os.path.abspath(os.fspath(root)))


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


def _reason(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "permission_denied"
    if isinstance(exc, FileNotFoundError):
        return "vanished"
    if exc.errno == errno.ELOOP:
        return "symlink_loop"
    return "os_error"


def _undecodable(name: str) -> bool:
    """True for names that were not valid UTF-8 on disk (os.fsdecode surrogate escapes)."""
    if name.isascii():
        return False
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class _Entries:
    """One folder's raw listing, sorted into the few kinds the rules care about."""

    __slots__ = ("dirs", "markers", "partials", "sidecars", "videos")

    def __init__(self, iterator: Iterator[os.DirEntry[str]]) -> None:
        self.dirs: list[str] = []
        self.videos: list[os.DirEntry[str]] = []
        self.sidecars: list[str] = []
        self.partials: set[str] = set()
        self.markers: list[str] = []
        for entry in iterator:  # hot loop: no stat, one d_type check per entry
            name = entry.name
            if name[0] == ".":
                if name.lower() in IGNORE_MARKERS:
                    self.markers.append(name)
                continue
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if is_dir:
                self.dirs.append(name)
                continue
            ext = extension(name)
            if ext in VIDEO_EXTENSIONS:
                self.videos.append(entry)
            elif ext in SIDECAR_EXTENSIONS:
                self.sidecars.append(name)
            elif ext in PARTIAL_SUFFIXES:
                self.partials.add(name[: name.rfind(".")].casefold())
        self.videos.sort(key=lambda entry: entry.name)


class _Walker:
    """One traversal's state: the known map, the folders already visited, the error sink."""

    def __init__(
        self,
        known: Mapping[str, DirRecord],
        fast: bool,
        on_error: OnError | None,
        sample_max_bytes: int,
        clock: Callable[[], int],
    ) -> None:
        self.known = known
        self.fast = fast
        self.on_error = on_error
        self.sample_max_bytes = sample_max_bytes
        self.clock = clock
        self.visited: set[tuple[int, int]] = set()

    def run(self, root: str) -> Iterator[WalkEvent]:
        """Iterative pre-order DFS (no recursion limit on deep trees), children sorted."""
        stack = [root]
        while stack:
            path = stack.pop()
            try:
                event, subdirs = self._visit(path)
            except FileNotFoundError:
                if path == root:
                    raise
                logger.debug("folder vanished during the walk: %r", path)
                continue
            except OSError as exc:
                if path == root:
                    raise
                event, subdirs = self._unreadable(path, _reason(exc), exc), ()
            if event is not None:
                yield event
            elif path == root:
                raise NotADirectoryError(errno.ENOTDIR, "library root is not a folder", root)
            prefix = path if path.endswith(os.sep) else path + os.sep
            stack.extend(prefix + name for name in reversed(subdirs))

    def problem(self, path: str, reason: str, detail: object = "") -> None:
        """Log with repr() (safe for undecodable names) and tell the caller."""
        level = logging.INFO if reason == "vanished" else logging.WARNING
        logger.log(level, "walker: %s: %r %s", reason, path, detail)
        if self.on_error is not None:
            self.on_error(path, reason)

    def _unreadable(self, path: str, reason: str, exc: object) -> DirUnreadable:
        self.problem(path, reason, exc)
        return DirUnreadable(path, reason)

    def _visit(self, path: str) -> tuple[WalkEvent | None, tuple[str, ...]]:
        st = os.stat(path)
        if not stat.S_ISDIR(st.st_mode):
            return None, ()  # a recorded subfolder replaced by a file: gone as a folder
        key = (st.st_dev, st.st_ino)
        if key in self.visited:
            self.problem(path, "already_visited", "(symlink loop or second link to a folder)")
            return None, ()
        self.visited.add(key)
        record = self.known.get(path)
        if self.fast and record is not None and record.mtime_ns == st.st_mtime_ns:
            return DirUnchanged(path), record.subdirs
        listed = self._list(path, st.st_mtime_ns, record)
        return listed, listed.subdirs

    def _list(self, path: str, mtime_ns: int, record: DirRecord | None) -> DirListed:
        started = self.clock()
        with os.scandir(path) as iterator:
            entries = _Entries(iterator)
        if mtime_ns >= started - RACY_WINDOW_NS:
            mtime_ns = 0
        if entries.markers and self._ignored_by_marker(path, entries.markers):
            files: tuple[MediaFile, ...] = ()
            subdirs: tuple[str, ...] = ()
        else:
            files = self._media(path, entries)
            subdirs = self._subdirs(path, entries)
        sig = signature(files)
        unchanged = record is not None and record.signature == sig
        return DirListed(path, mtime_ns, subdirs, sig, files, unchanged)

    def _ignored_by_marker(self, path: str, markers: list[str]) -> bool:
        for marker in markers:
            marker_path = os.path.join(path, marker)
            try:
                with open(marker_path, encoding="utf-8", errors="replace") as handle:
                    text = handle.read(_MARKER_READ_LIMIT)
            except OSError as exc:
                logger.warning("walker: unreadable %r (%s): ignoring its folder", marker_path, exc)
                return True
            if marker_ignores_all(marker, text):
                logger.debug("walker: %r excludes %r", marker, path)
                return True
            logger.info("walker: patterns in %r are not supported; folder kept", marker_path)
        return False

    def _subdirs(self, path: str, entries: _Entries) -> tuple[str, ...]:
        media_folder = is_media_folder([e.name for e in entries.videos], entries.dirs)
        kept = []
        for name in sorted(entries.dirs):
            if is_junk_dir(name) or (media_folder and is_extras_dir(name)):
                continue
            if _undecodable(name):
                self.problem(os.path.join(path, name), "undecodable_name")
            kept.append(name)
        return tuple(kept)

    def _media(self, path: str, entries: _Entries) -> tuple[MediaFile, ...]:
        parent = os.path.basename(path)
        found: list[tuple[str, str, int, int]] = []
        for entry in entries.videos:
            name = entry.name
            stem = name[: name.rfind(".")]
            if name.casefold() in entries.partials or is_extra_file(stem):
                continue
            stat_result = self._stat_file(entry)
            if stat_result is None or not stat.S_ISREG(stat_result.st_mode):
                continue
            if is_sample(stem, parent, stat_result.st_size, self.sample_max_bytes):
                continue
            if _undecodable(name):
                self.problem(entry.path, "undecodable_name")
            found.append((name, entry.path, stat_result.st_size, stat_result.st_mtime_ns))
        if not found:
            return ()
        sidecars = attach_sidecars([name for name, *_ in found], entries.sidecars)
        return tuple(
            MediaFile(file_path, size, mtime_ns, sidecars[name])
            for name, file_path, size, mtime_ns in found
        )

    def _stat_file(self, entry: os.DirEntry[str]) -> os.stat_result | None:
        """stat() following symlinks; a vanished or dangling file is reported, never fatal."""
        try:
            return entry.stat()
        except OSError as exc:
            reason = _reason(exc)
            if reason == "vanished" and entry.is_symlink():
                reason = "broken_symlink"
            self.problem(entry.path, reason, exc)
            return None
