"""Path -> :class:`Guess`: what a video file is, read from its name and its folders. Pure.

People (and Plex and Jellyfin) organise by folder, so folder context decides first:

* A ``Season NN`` / ``Specials`` folder (or a scene season pack), or an episode marker
  in the file name (``S01E01-E02``, ``S01E01E02``, ``1x02``, ``2011-11-15``) makes an
  episode.  A movie-style ``Title (Year)`` folder keeps a file a movie unless the file
  name has a *strong* marker (SxxEyy, NxNN, a date); weak ones (``E05``, ``- 01``) do not.
* An episode's show is the folder above ``Season NN`` or, without one, the file's own
  folder: ``show_dir`` is that folder, and the show title and year come from its name.
* A movie's title comes from the file name, or from its folder when the file name has
  no title (``cd1.mkv``) or no year (``abc-matrix.mkv`` in ``The Matrix (1999)``), or the
  same year (a curated folder keeps punctuation: ``Amélie (2001)``).
* Library ``roots`` and generic folders (``Movies``, ``TV Shows`` ...) are never titles.
* Ids: a tag typed in the path beats an NFO (the NFO may be stale: left from an
  earlier file or copied along with the folder), and an NFO beats a bare ``tt...``.
  Tags are searched in every name below the root, the nearest name first.

Two title readers share all of this logic: compiled regexes for names that follow the
conventions (microseconds), guessit for the rest (~9 ms).  ``_fast_identify`` and
``_guessit_identify`` force one of them, so tests can prove they agree.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from sidecar.errors import IdentifyError
from sidecar.idtags import bare_imdb_id, name_ids, nfo_ids_for, read_nfo_ids, strip_tags
from sidecar.naming import Marker, find_marker, season_dir, split_part, split_version
from sidecar.titleparse import (
    NotFast,
    Title,
    TitleReader,
    auto_title,
    fast_only_title,
    guessit_title,
)

__all__ = ["Guess", "identify", "read_nfo_ids"]

Kind = Literal["movie", "episode"]

_NAME = re.compile(r"[^/\\]+")  # Windows paths arrive with backslashes
_GENERIC_DIRS = frozenset(
    {
        "movies", "movie", "films", "film", "tv", "tv shows", "tvshows", "tv series", "shows",
        "series", "television", "anime", "cartoons", "kids", "documentaries", "videos", "video",
        "media", "downloads", "download", "complete", "completed", "incoming", "library",
        "plex", "jellyfin", "emby", "share", "shares", "public",
    }
)  # fmt: skip
_DISC_DIRS = frozenset({"video_ts", "audio_ts", "bdmv", "stream", "playlist", "certificate"})
_PART_DIR = re.compile(r"^(?:cd|dis[ck]|dvd|part|pt)[ ._-]*(\d{1,2})$", re.IGNORECASE)
_MOVIE_DIR = re.compile(r"\((?:18[89]|19\d|20\d)\d\)\s*$")
_YEARISH = re.compile(r"(?<![0-9])(?:19|20)\d{2}(?![0-9])")


@dataclass(frozen=True)
class Guess:
    """What a path says it is: enough to look it up on TMDB and to know where files go."""

    kind: Kind
    title: str
    year: int | None = None
    season: int | None = None  # episodes; 0 = specials
    episodes: tuple[int, ...] = ()  # S01E01-E03 -> (1, 2, 3)
    air_date: datetime.date | None = None  # date-based episodes
    ids: Mapping[str, str] = field(default_factory=dict)  # "tmdb", "imdb" ("tt.."), "tvdb"
    show_dir: str | None = None  # episodes: the show's folder (show metadata.json goes there)
    part: int | None = None  # multi-part movie file (-cd1, - part1)
    version: str | None = None  # multi-version label ("1080p" in "Movie (2010) - 1080p.mkv")
    alternative_title: str | None = None


@dataclass(frozen=True, slots=True)
class _Name:
    text: str  # readable text (undecodable bytes read as cp1252), for parsing only
    end: int  # offset just past this name in the original path, for show_dir


@dataclass(frozen=True, slots=True)
class _Where:
    path: str
    folders: tuple[_Name, ...]  # usable folders below the root, outermost first
    stem: str  # file name without extension
    folder_part: int | None  # from a CD1/Disc 2 folder


def identify(path: str, *, roots: Sequence[str] = (), nfo_text: str | None = None) -> Guess:
    """Read ``path`` (a video file) into a :class:`Guess`.

    ``roots`` are the library roots: nothing at or above one is ever a title. ``nfo_text``
    is the NFO beside the file, if any (``tvshow.nfo`` for episodes: an episode NFO holds
    the episode's ids, not the show's, and is ignored).  Raises ``IdentifyError`` when
    there is neither a title nor an id; never anything else.
    """
    return _identify(path, roots, nfo_text, auto_title)


def _fast_identify(
    path: str, roots: Sequence[str] = (), nfo_text: str | None = None
) -> Guess | None:
    """``identify`` with the regex title reader only; None when a name needs guessit."""
    try:
        return _identify(path, roots, nfo_text, fast_only_title)
    except NotFast:
        return None


def _guessit_identify(path: str, roots: Sequence[str] = (), nfo_text: str | None = None) -> Guess:
    """``identify`` with guessit reading every title: the baseline the fast path must match."""
    return _identify(path, roots, nfo_text, guessit_title)


def _identify(path: str, roots: Sequence[str], nfo_text: str | None, read: TitleReader) -> Guess:
    where = _locate(path, roots)
    guess = _episode(where, read) or _movie(where, read)
    names = [where.stem, *(name.text for name in reversed(where.folders))]
    ids = dict(name_ids(names))
    if nfo_text:
        ids = {**nfo_ids_for(guess.kind, nfo_text), **ids}
    bare = bare_imdb_id(names)
    if bare and "imdb" not in ids:
        ids["imdb"] = bare
    if not guess.title and not ids:
        raise IdentifyError(
            f"no title in {path!r}: name it like 'Title (Year).mkv' or "
            "'Show/Season 01/Show - S01E01.mkv', or add an id tag like {tmdb-123}"
        )
    return dataclasses.replace(guess, ids=ids)


# --- where the file sits ------------------------------------------------------------


def _locate(path: str, roots: Sequence[str]) -> _Where:
    """Split ``path`` into the folders that may name it and the file stem."""
    names = [_Name(_readable(m.group()), m.end()) for m in _NAME.finditer(path or "")]
    if not names:
        raise IdentifyError(f"no file name in {path!r}")
    first = max((_root_depth(names, root) for root in roots), default=0)
    for index in range(first, len(names) - 1):
        if names[index].text.strip().casefold() in _GENERIC_DIRS:
            first = index + 1  # "Movies", "TV Shows": a library folder, never a title
    folders = [n for n in names[first:-1] if n.text.casefold() not in _DISC_DIRS]
    folder_part = None
    if folders and (part := _PART_DIR.match(folders[-1].text)):
        folder_part = int(part.group(1))
        folders.pop()
    return _Where(path, tuple(folders), _stem(names[-1].text), folder_part)


def _root_depth(names: Sequence[_Name], root: str) -> int:
    """How many leading names of the path are ``root``; 0 when it is not under it."""
    parts = _root_parts(root)
    if not parts or len(parts) >= len(names):
        return 0
    same = all(a.text.casefold() == b for a, b in zip(names, parts, strict=False))
    return len(parts) if same else 0


@functools.lru_cache(maxsize=64)
def _root_parts(root: str) -> tuple[str, ...]:
    return tuple(_readable(m.group()).casefold() for m in _NAME.finditer(root))


def _stem(name: str) -> str:
    """The name without its extension (``Show.2011.11.15`` has none: digits are a date)."""
    base, dot, ext = name.rpartition(".")
    if dot and 0 < len(ext) <= 5 and ext.isascii() and ext.isalnum() and not ext.isdigit():
        return base
    return name


def _readable(text: str) -> str:
    """Text a title can be made of: no lone surrogates, which no API or JSON accepts.

    A surrogate-escaped name came from bytes that are not UTF-8, in practice Latin-1 or
    Windows-1252 (old Windows/Samba copies), so the bytes are read as cp1252.
    """
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:
        return text.encode("utf-8", "surrogateescape").decode("cp1252", "replace")
    except UnicodeEncodeError:  # surrogates that did not come from surrogateescape
        return text.encode("utf-8", "replace").decode("utf-8")


# --- episodes -------------------------------------------------------------------------


def _episode(where: _Where, read: TitleReader) -> Guess | None:
    """The episode the path describes, or None when it is a movie."""
    parent = where.folders[-1] if where.folders else None
    season = season_dir(parent.text) if parent else None
    marker = find_marker(where.stem, in_season_dir=season is not None)
    if season is None:
        if marker is None or (not marker.strong and parent and _is_movie_dir(parent.text)):
            return None
        show = parent
    else:
        show = where.folders[-2] if len(where.folders) > 1 else None
    texts = [show.text if show else "", season[1] if season else ""]
    if marker is not None:
        texts.append(where.stem[: marker.start])
    elif parent is not None:  # an obfuscated file in its release folder names nothing itself
        marker = find_marker(parent.text)  # Show.S01E04.1080p-GRP/a8f3k2.mkv
    title = _show_title(texts, read)
    return Guess(
        kind="episode",
        title=title.title,
        year=title.year,
        season=_season_number(marker, season),
        episodes=marker.episodes if marker else (),
        air_date=marker.air_date if marker else None,
        show_dir=where.path[: show.end] if show else None,
        alternative_title=title.alternative_title,
    )


def _show_title(texts: Sequence[str], read: TitleReader) -> Title:
    """The first of ``texts`` (show folder, season pack, file prefix) with a title.

    Without a year of its own, a later text may lend one (``Doctor Who/Season 01/
    Doctor.Who.2005.S01E01.mkv``); only texts with a year-like number are read for it.
    """
    found = Title("")
    for text in (strip_tags(t).strip(" ._-") for t in texts):
        if found.title:
            if found.year is None and _YEARISH.search(text):
                year = read(text).year
                if year is not None:
                    return dataclasses.replace(found, year=year)
        elif text:
            found = read(text)
    return found


def _season_number(marker: Marker | None, season: tuple[int | None, str] | None) -> int | None:
    """The file's own SxxEyy season wins over its folder (a misfiled episode says which)."""
    if marker is not None and marker.season is not None:
        return marker.season
    return season[0] if season else None


# --- movies ---------------------------------------------------------------------------


def _movie(where: _Where, read: TitleReader) -> Guess:
    base, part = split_part(strip_tags(where.stem))
    base, version = split_version(base)
    base = base.strip(" ._-")
    own = read(base) if base else Title("")
    parent = where.folders[-1].text if where.folders else None
    title = _movie_title(own, parent, read) if parent else own
    return Guess(
        kind="movie",
        title=title.title,
        year=title.year,
        part=part if part is not None else where.folder_part,
        version=version,
        alternative_title=title.alternative_title,
    )


def _movie_title(own: Title, folder: str, read: TitleReader) -> Title:
    """The file's title, or its folder's when the folder knows better (see module doc)."""
    folder = strip_tags(folder)
    if own.title and not _YEARISH.search(folder):
        return own  # the folder cannot add a year: do not pay to read it
    if own.year is not None and str(own.year) not in folder:
        return own  # a different year: a collection folder, not this movie's
    if own.title and own.year is not None and not _MOVIE_DIR.search(folder):
        return own  # only a curated "Title (Year)" folder overrides a complete name
    theirs = read(folder)
    if theirs.title and theirs.year and own.year in (None, theirs.year):
        return theirs
    return own if own.title else theirs


def _is_movie_dir(name: str) -> bool:
    return _MOVIE_DIR.search(strip_tags(name)) is not None
