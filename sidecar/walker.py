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
_S_ISDIR, _S_ISREG = stat.S_ISDIR, stat.S_ISREG

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
    """Digest of ``name:size:mtime_ns:sidecars`` by name: changes when any media file does."""
    named = sorted((os.path.basename(f.path), f) for f in files)
    return _digest([_line(name, f.size, f.mtime_ns, f.sidecars) for name, f in named])


def _line(name: str, size: int, mtime_ns: int, sidecars: tuple[str, ...]) -> str:
    return f"{name}:{size}:{mtime_ns}:{'/'.join(sidecars)}"


def _digest(lines: list[str]) -> str:
    data = "\n".join(lines).encode("utf-8", "surrogateescape")
    return hashlib.blake2b(data, digest_size=16).hexdigest()


_EMPTY_SIGNATURE = _digest([])


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
    """One folder's raw listing, sorted into the few kinds of names the rules care about."""

    __slots__ = ("dirs", "markers", "partials", "sidecars", "videos")

    def __init__(self, iterator: Iterator[os.DirEntry[str]]) -> None:
        self.dirs: list[str] = []
        self.videos: list[tuple[str, os.DirEntry[str]]] = []
        self.sidecars: list[str] = []
        self.partials: set[str] = set()
        self.markers: list[str] = []
        for entry in iterator:  # the hot loop: no stat, one d_type check per entry
            name = entry.name
            if name[0] == ".":
                if name.lower() in IGNORE_MARKERS:
                    self.markers.append(name)
                continue
            try:
                is_dir = entry.is_dir()  # follows symlinks: False when dangling
            except OSError:  # ELOOP: the stat below reports it
                is_dir = False
            if is_dir:
                self.dirs.append(name)
                continue
            ext = name[name.rfind(".") :].lower()  # no dot: one char, never in the sets
            if ext in VIDEO_EXTENSIONS:
                self.videos.append((name, entry))
            elif ext in SIDECAR_EXTENSIONS:
                self.sidecars.append(name)
            elif ext in PARTIAL_SUFFIXES:
                self.partials.add(name[: name.rfind(".")].casefold())
        self.videos.sort()  # names are unique, so entries are never compared


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
        """Iterative pre-order DFS (no recursion limit), children in sorted order.

        The unchanged-folder path is inlined: in fast mode it runs once per folder of the
        library and is the whole cost of a quick scan, so it is one stat and a dict lookup.
        """
        stack, known, visited, fast = [root], self.known, self.visited, self.fast
        while stack:
            path = stack.pop()
            try:
                st = os.stat(path)
            except OSError as exc:
                event = self._failed(path, exc, path == root)
                if event is not None:
                    yield event
                continue
            if not _S_ISDIR(st.st_mode):  # a recorded folder replaced by a file: gone
                if path == root:
                    raise NotADirectoryError(errno.ENOTDIR, "library root is not a folder", root)
                continue
            seen = len(visited)
            visited.add((st.st_dev, st.st_ino))  # symlink loops and doubly linked folders
            if len(visited) == seen:
                self.problem(path, "already_visited", "(symlink loop or second link)")
                continue
            record = known.get(path)
            if fast and record is not None and record.mtime_ns == st.st_mtime_ns:
                yield DirUnchanged(path)
                subdirs = record.subdirs
            else:
                try:
                    listed = self._list(path, st.st_mtime_ns, record)
                except OSError as exc:
                    event = self._failed(path, exc, path == root)
                    if event is not None:
                        yield event
                    continue
                yield listed
                subdirs = listed.subdirs
            if subdirs:
                prefix = path if path.endswith(os.sep) else path + os.sep
                stack.extend([prefix + name for name in reversed(subdirs)])

    def _failed(self, path: str, exc: OSError, is_root: bool) -> DirUnreadable | None:
        """A folder that could not be stat-ed or listed; the root's failure is the caller's."""
        if is_root:
            raise exc
        if isinstance(exc, FileNotFoundError):
            logger.debug("walker: folder vanished during the walk: %r", path)
            return None
        reason = _reason(exc)
        self.problem(path, reason, exc)
        return DirUnreadable(path, reason)

    def problem(self, path: str, reason: str, detail: object = "") -> None:
        """Log with repr() (safe for undecodable names) and tell the caller."""
        level = logging.INFO if reason == "vanished" else logging.WARNING
        logger.log(level, "walker: %s: %r %s", reason, path, detail)
        if self.on_error is not None:
            self.on_error(path, reason)

    def _list(self, path: str, mtime_ns: int, record: DirRecord | None) -> DirListed:
        started = self.clock()
        with os.scandir(path) as iterator:
            entries = _Entries(iterator)
        if mtime_ns >= started - RACY_WINDOW_NS:
            mtime_ns = 0
        files: tuple[MediaFile, ...] = ()
        subdirs: tuple[str, ...] = ()
        sig = _EMPTY_SIGNATURE
        if not (entries.markers and self._ignored_by_marker(path, entries.markers)):
            if entries.videos:
                files, sig = self._media(path, entries)
            if entries.dirs:
                subdirs = self._subdirs(path, entries)
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
        media_folder = is_media_folder(bool(entries.videos), entries.dirs)
        kept = []
        for name in sorted(entries.dirs):
            if is_junk_dir(name) or (media_folder and is_extras_dir(name)):
                continue
            if _undecodable(name):
                self.problem(os.path.join(path, name), "undecodable_name")
            kept.append(name)
        return tuple(kept)

    def _media(self, path: str, entries: _Entries) -> tuple[tuple[MediaFile, ...], str]:
        """The folder's media files (stat-ed, never opened) and their signature."""
        parent = os.path.basename(path)
        partials, limit = entries.partials, self.sample_max_bytes
        found: list[tuple[str, str, int, int]] = []
        for name, entry in entries.videos:
            stem = name[: name.rfind(".")]
            if (partials and name.casefold() in partials) or is_extra_file(stem):
                continue
            try:
                st = entry.stat()  # follows symlinks; never opens the file
            except OSError as exc:
                self._stat_failed(entry, exc)
                continue
            size = st.st_size
            if not _S_ISREG(st.st_mode) or (size < limit and is_sample(stem, parent, size, limit)):
                continue
            if not name.isascii() and _undecodable(name):
                self.problem(entry.path, "undecodable_name")
            found.append((name, entry.path, size, st.st_mtime_ns))
        attached = (
            attach_sidecars([f[0] for f in found], entries.sidecars) if entries.sidecars else {}
        )
        files, lines = [], []
        for name, file_path, size, mtime_ns in found:
            sidecars = attached.get(name, ())
            files.append(MediaFile(file_path, size, mtime_ns, sidecars))
            lines.append(_line(name, size, mtime_ns, sidecars))
        return tuple(files), _digest(lines)

    def _stat_failed(self, entry: os.DirEntry[str], exc: OSError) -> None:
        """A file that vanished, dangles or loops since the listing: reported, never fatal."""
        reason = _reason(exc)
        if reason == "vanished" and entry.is_symlink():
            reason = "broken_symlink"
        self.problem(entry.path, reason, exc)
