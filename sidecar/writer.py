"""Files beside media: ``metadata.json``, artwork and (optionally) NFO, written safely.

Four promises, each because a media server is reading the same folders:

- **Atomic**: every file is written to a hidden temp file in the same folder, fsynced,
  then ``os.replace``d over the target, so Plex/Jellyfin never see half a poster or
  half a JSON document.  A failure removes the temp file and leaves the old file alone;
  a temp file a killed process left behind goes the next time its folder is written
  (``sidecar.tempfiles``).
- **Valid**: a document that fails its own JSON Schema is never written (checked once,
  only when something is about to be written, so an unchanged refresh stays cheap).
- **Idempotent**: an unchanged refresh writes nothing (the host is not made to re-read
  anything).  ``metadata.json`` is compared ignoring ``fetched_at``/``scanarr_version``,
  NFOs byte for byte, and existing images are kept unless ``force_images``.
  ``metadata.json`` is written *last*: the scanner treats a valid one as "done", so an
  interrupted run (say, an image download failed) is retried rather than adopted.
- **Confined**: nothing is written outside the configured library roots, whatever ``..``
  segments or symlinked folders the path contains (``errors.OutsideRoots``).

File names are the contract in TEAM.md / ARCHITECTURE.md ("Files beside media").  Season 0
uses ``season-specials-poster.jpg``: the one name both Jellyfin and Plex (LocalMedia
regexes) read for specials.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from sidecar import nfo, tmdbfields
from sidecar.errors import OutsideRoots, WriteError
from sidecar.metadata import validate_document
from sidecar.tempfiles import (
    DEFAULT_FILE_MODE,
    TEMP_PREFIX,
    TEMP_SUFFIX,
    atomic_write,
    remove_stale_temps,
)

__all__ = ["DEFAULT_FILE_MODE", "TEMP_PREFIX", "TEMP_SUFFIX", "FileNames", "Writer",
           "atomic_write", "episode_names", "movie_names", "season_poster_name", "show_names"]
VOLATILE_KEYS = frozenset({"fetched_at", "scanarr_version"})


class FileNames(NamedTuple):
    """Where one item's files go: the folder, and names inside it."""

    directory: str
    metadata: str
    nfo: str
    images: tuple[tuple[str, str, str], ...]  # (key in doc["images"], file name, URL kind)

    def path(self, name: str) -> str:
        return os.path.join(self.directory, name)


def movie_names(video_path: str, *, alone_in_folder: bool) -> FileNames:
    """Generic names when the movie has its folder to itself, ``<stem>``-names otherwise
    (Plex honours ``poster.jpg`` only in a one-movie folder, Jellyfin ``movie.nfo`` too)."""
    directory, stem = _split(video_path)
    if alone_in_folder:
        return FileNames(
            directory,
            "metadata.json",
            "movie.nfo",
            (("poster", "poster.jpg", "poster"), ("backdrop", "fanart.jpg", "backdrop")),
        )
    return FileNames(
        directory,
        f"{stem}.metadata.json",
        f"{stem}.nfo",
        (
            ("poster", f"{stem}-poster.jpg", "poster"),
            ("backdrop", f"{stem}-fanart.jpg", "backdrop"),
        ),
    )


def show_names(show_dir: str) -> FileNames:
    return FileNames(
        os.path.abspath(show_dir),
        "metadata.json",
        "tvshow.nfo",
        (("poster", "poster.jpg", "poster"), ("backdrop", "fanart.jpg", "backdrop")),
    )


def episode_names(video_path: str) -> FileNames:
    directory, stem = _split(video_path)
    return FileNames(
        directory,
        f"{stem}.metadata.json",
        f"{stem}.nfo",
        (("still", f"{stem}-thumb.jpg", "still"),),
    )


def season_poster_name(season: int) -> str:
    """``season01-poster.jpg``; specials ``season-specials-poster.jpg`` (read by both hosts)."""
    return "season-specials-poster.jpg" if season == 0 else f"season{season:02d}-poster.jpg"


class Writer:
    """Writes one item's files beside its media; returns the paths it actually changed.

    ``image_url(file_path, kind)`` turns a TMDB image path into a URL (kind: poster,
    backdrop, still); ``fetch_image(url)`` downloads it (its ``TmdbError``s propagate).
    """

    def __init__(
        self,
        roots: Sequence[str],
        fetch_image: Callable[[str], bytes],
        *,
        nfo: bool = False,
        image_url: Callable[[str, str], str | None],
        file_mode: int = DEFAULT_FILE_MODE,
    ) -> None:
        self._roots = tuple(os.path.normcase(os.path.realpath(r)) for r in roots)
        self._fetch_image = fetch_image
        self._image_url = image_url
        self._nfo = nfo
        self._file_mode = file_mode

    def write_movie(
        self,
        video_path: str,
        doc: Mapping[str, Any],
        *,
        alone_in_folder: bool,
        force_images: bool = False,
    ) -> list[str]:
        _check(doc, "movie")
        names = movie_names(video_path, alone_in_folder=alone_in_folder)
        return self._write(names, doc, _images(names, doc), force_images)

    def write_show(
        self,
        show_dir: str,
        doc: Mapping[str, Any],
        seasons: Mapping[int, Any],
        *,
        force_images: bool = False,
    ) -> list[str]:
        """The show's files plus one poster per season in ``seasons`` (season number ->
        ``/tv/{id}/season/{n}`` answer: the seasons present on disk)."""
        _check(doc, "show")
        names = show_names(show_dir)
        summaries = {s.get("season"): s.get("poster") for s in doc.get("seasons") or ()}
        images = _images(names, doc)
        for number in sorted(n for n in seasons if tmdbfields.season_number(n) is not None):
            season = seasons[number]
            own = (
                tmdbfields.image_path(season.get("poster_path"))
                if isinstance(season, Mapping)
                else None
            )
            images.append((season_poster_name(number), own or summaries.get(number), "poster"))
        return self._write(names, doc, images, force_images)

    def write_episode(
        self, video_path: str, doc: Mapping[str, Any], *, force_images: bool = False
    ) -> list[str]:
        _check(doc, "episode")
        names = episode_names(video_path)
        return self._write(names, doc, _images(names, doc), force_images)

    # --- the one write path ---------------------------------------------------------

    def _write(
        self,
        names: FileNames,
        doc: Mapping[str, Any],
        images: list[tuple[str, str | None, str]],
        force_images: bool,
    ) -> list[str]:
        real_dir = self._confine(names.directory)
        remove_stale_temps(real_dir)  # litter of a run killed mid-write here: one listing
        changed: list[str] = []

        def put(name: str, data: bytes, *, compare: bool = True) -> None:
            real_path = os.path.join(real_dir, name)
            if compare and _read(real_path) == data:
                return
            if not changed:  # validated once, and only when something is written at all
                validate_document(doc)
            self._atomic_write(real_path, data, names.path(name))
            changed.append(names.path(name))

        for name, tmdb_path, kind in images:
            if tmdb_path and (force_images or not os.path.lexists(os.path.join(real_dir, name))):
                url = self._image_url(tmdb_path, kind)
                if url:
                    put(name, self._fetch_image(url))
        if self._nfo:
            put(names.nfo, nfo.render(doc))
        if not _same_document(os.path.join(real_dir, names.metadata), doc):
            put(names.metadata, _dump(doc), compare=False)
        if changed:
            _fsync_directory(real_dir)
        return changed

    def _confine(self, directory: str) -> str:
        """The real folder to write into, or ``OutsideRoots`` if it escapes every root."""
        real = os.path.realpath(directory)
        key = os.path.normcase(real)
        for root in self._roots:
            with contextlib.suppress(ValueError):  # different drives on Windows
                if os.path.commonpath([root, key]) == root:
                    return real
        raise OutsideRoots(directory, f"resolves to {real}, outside the library roots")

    def _atomic_write(self, real_path: str, data: bytes, shown_path: str) -> None:
        try:
            atomic_write(real_path, data, mode=_mode_of(real_path, self._file_mode))
        except OSError as exc:
            raise WriteError(shown_path, exc.strerror or str(exc)) from exc


# --- helpers ----------------------------------------------------------------------------


def _split(video_path: str) -> tuple[str, str]:
    directory, filename = os.path.split(os.path.abspath(video_path))
    return directory, os.path.splitext(filename)[0]


def _check(doc: Mapping[str, Any], kind: str) -> None:
    """A show document handed to ``write_movie`` is a caller bug: fail before any I/O.
    (The full schema check runs in ``_write`` before the first file is written.)"""
    if doc.get("type") != kind:
        raise ValueError(f"expected a {kind} document, got type {doc.get('type')!r}")


def _images(names: FileNames, doc: Mapping[str, Any]) -> list[tuple[str, str | None, str]]:
    paths = doc.get("images") or {}
    return [(name, paths.get(key), kind) for key, name, kind in names.images]


def _dump(doc: Mapping[str, Any]) -> bytes:
    return (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _same_document(path: str, doc: Mapping[str, Any]) -> bool:
    """True when the file already holds ``doc`` apart from when/by-which-version it was
    fetched: rewriting it would only make the host re-read the folder."""
    raw = _read(path)
    if raw is None:
        return False
    try:
        existing = json.loads(raw.decode("utf-8"))
    except ValueError:
        return False
    return isinstance(existing, dict) and _stable(existing) == _stable(doc)


def _stable(doc: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in VOLATILE_KEYS}


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError:
        return None


def _mode_of(path: str, default: int) -> int:
    """Keep the permissions a user gave an existing file; new files get ``default``."""
    try:
        info = os.lstat(path)
    except OSError:
        return default
    return stat.S_IMODE(info.st_mode) if stat.S_ISREG(info.st_mode) else default


def _fsync_directory(directory: str) -> None:
    """Make the renames durable (POSIX); best effort, some filesystems refuse."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
