"""List one folder: its media files (stat-ed, never opened), subfolders to visit, signature.

This is the per-folder half of the walk (``walker.py`` is the traversal).  It applies the
rules of ``walkrules.py`` to one ``os.scandir`` pass: one ``d_type`` check per entry, one
``stat`` per video and nothing for any other file, so the cost is the listing itself.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import stat
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

from sidecar.walkrules import (
    IGNORE_MARKERS,
    PARTIAL_SUFFIXES,
    SAMPLE_MAX_BYTES,
    SIDECAR_EXTENSIONS,
    VIDEO_EXTENSIONS,
    attach_sidecars,
    is_extra_file,
    is_extras_dir,
    is_junk_dir,
    is_media_folder,
    is_sample,
    marker_ignores_all,
)

logger = logging.getLogger(__name__)

# A folder modified less than this before it was listed may change again within the same
# mtime tick (2 s on FAT/exFAT, coarse on some NAS); its mtime is then reported as 0 so the
# next fast walk lists it again instead of trusting a racy mtime (git's "racy clean" problem).
RACY_WINDOW_NS = 2_000_000_000
_MARKER_READ_LIMIT = 64 * 1024
_S_ISREG = stat.S_ISREG

Report = Callable[[str, str, object], None]  # (path, reason, detail)


@dataclass(frozen=True, slots=True)
class MediaFile:
    """One video: stat data only, never opened.  ``sidecars`` are names in the same folder."""

    path: str
    size: int
    mtime_ns: int
    sidecars: tuple[str, ...] = ()


# What a walk needs to know of a folder seen before: (mtime_ns, subdir names, signature).
# A DirRecord is one; so is the plain tuple the state store loads, 50,000 per quick scan.
KnownDir = tuple[int, tuple[str, ...], str]


class DirRecord(NamedTuple):
    """What the scanner remembers per folder to skip it next time (``DirListed.record()``).
    A named tuple: 50,000 of them are loaded at every quick scan, and tuples build fast."""

    mtime_ns: int
    subdirs: tuple[str, ...]  # names, not paths: children are join(folder, name)
    signature: str


@dataclass(frozen=True, slots=True)
class DirListed:
    """A listed folder.  ``mtime_ns`` is 0 when too recent to trust (see RACY_WINDOW_NS);
    ``before`` is what was known of it (None for a folder not seen before)."""

    path: str
    mtime_ns: int
    subdirs: tuple[str, ...]
    signature: str
    files: tuple[MediaFile, ...]
    before: KnownDir | None = None

    @property
    def unchanged(self) -> bool:
        """Whether its media (names, sizes, mtimes, sidecars) are what was known."""
        return self.before is not None and self.before[2] == self.signature

    def record(self) -> DirRecord:
        """The ``known`` entry that lets the next fast walk skip this folder."""
        return DirRecord(self.mtime_ns, self.subdirs, self.signature)


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


def undecodable(name: str) -> bool:
    """True for names that were not valid UTF-8 on disk (os.fsdecode surrogate escapes)."""
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
            except OSError:  # ELOOP: the video stat reports it
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


class Lister:
    """Lists folders for one walk; problems go to ``report`` and never stop the walk."""

    def __init__(
        self,
        report: Report,
        sample_max_bytes: int = SAMPLE_MAX_BYTES,
        clock: Callable[[], int] = time.time_ns,
    ) -> None:
        self.report = report
        self.sample_max_bytes = sample_max_bytes
        self.clock = clock

    def list_folder(self, path: str, mtime_ns: int, before: KnownDir | None = None) -> DirListed:
        """List ``path`` (whose stat gave ``mtime_ns``; ``before`` is its last record);
        OSError if it cannot be listed."""
        started = self.clock()
        with os.scandir(path) as iterator:
            entries = _Entries(iterator)
        if started - mtime_ns < RACY_WINDOW_NS:  # includes mtimes in the future
            mtime_ns = 0
        files: tuple[MediaFile, ...] = ()
        subdirs: tuple[str, ...] = ()
        sig = _EMPTY_SIGNATURE
        if not (entries.markers and self._ignored_by_marker(path, entries.markers)):
            if entries.videos:
                files, sig = self._media(path, entries)
            if entries.dirs:
                subdirs = self._subdirs(path, entries)
        return DirListed(path, mtime_ns, subdirs, sig, files, before)

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
        media_folder: bool | None = None  # computed on the first extras-named folder only
        kept = []
        for name in sorted(entries.dirs, key=os.fsencode):  # state.walkorder.walk_key order
            if is_junk_dir(name):
                continue
            if is_extras_dir(name):
                if media_folder is None:
                    media_folder = is_media_folder(bool(entries.videos), entries.dirs)
                if media_folder:
                    continue
            if not name.isascii() and undecodable(name):
                self.report(os.path.join(path, name), "undecodable_name", "")
            kept.append(name)
        return tuple(kept)

    def _media(self, path: str, entries: _Entries) -> tuple[tuple[MediaFile, ...], str]:
        """The folder's media files and their signature."""
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
            if not name.isascii() and undecodable(name):
                self.report(entry.path, "undecodable_name", "")
            found.append((name, entry.path, size, st.st_mtime_ns))
        attached = {}
        if entries.sidecars:
            attached = attach_sidecars([name for name, *_ in found], entries.sidecars)
        files, lines = [], []
        for name, file_path, size, mtime_ns in found:
            sidecars = attached.get(name, ())
            files.append(MediaFile(file_path, size, mtime_ns, sidecars))
            lines.append(_line(name, size, mtime_ns, sidecars))
        return tuple(files), _digest(lines)

    def _stat_failed(self, entry: os.DirEntry[str], exc: OSError) -> None:
        """A video that vanished, dangles or loops since the listing: reported, never fatal."""
        reason = reason_for(exc)
        if reason == "vanished" and entry.is_symlink():
            reason = "broken_symlink"
        self.report(entry.path, reason, exc)


def reason_for(exc: OSError) -> str:
    """The short word ``on_error`` receives for an OSError."""
    if isinstance(exc, PermissionError):
        return "permission_denied"
    if isinstance(exc, FileNotFoundError):
        return "vanished"
    if exc.errno == errno.ELOOP:
        return "symlink_loop"
    return "os_error"
