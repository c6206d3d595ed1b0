"""Database ids written by people: tags in file and folder names, and NFO files.

An id beats any title search (every scanner studied does an id lookup first), so this
module finds them wherever users and media managers put them:

* Plex tags ``{tmdb-123}``, ``{imdb-tt0372784}``, ``{tvdb-123}``; Jellyfin tags
  ``[tmdbid-123]``, ``[imdbid-tt...]``, ``[tvdbid-123]`` (``=`` works as well as ``-``,
  as in Jellyfin's ``GetAttributeValue``); a bare ``tt1234567`` as a last resort.
* NFO files (Kodi, Jellyfin, tinyMediaManager, Radarr): ``<uniqueid type="...">``,
  ``<tmdbid>``, ``<imdbid>``, ``<imdb_id>``, ``<tvdbid>``, and IMDb/TMDB/TVDB URLs in
  URL-only NFOs.  They are read with regexes, not an XML parser, because real NFO files
  are often not well-formed XML (a URL line after the document, stray ``&``).

Everything here is pure text in, ids out: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

ID_KEYS = ("tmdb", "imdb", "tvdb")

_TAG = re.compile(r"[\[{]\s*(tmdb|imdb|tvdb)(?:id)?\s*[-=]\s*(tt\d+|\d+)\s*[\]}]", re.IGNORECASE)
# Tags that are never part of a title: ids, and Plex editions ``{edition-Director's Cut}``.
_STRIPPABLE = re.compile(
    r"\s*[\[{]\s*(?:(?:tmdb|imdb|tvdb)(?:id)?\s*[-=][^\]}]*|edition[-=][^\]}]*)[\]}]",
    re.IGNORECASE,
)
_BARE_IMDB = re.compile(r"(?<![a-z0-9])(tt\d{7,8})(?![0-9])", re.IGNORECASE)

_NFO_ROOT = re.compile(r"<\s*(movie|tvshow|episodedetails|musicvideo)\b", re.IGNORECASE)
_NFO_UNIQUEID = re.compile(r"<uniqueid\b([^>]*)>\s*([^<\s]+)\s*</uniqueid\s*>", re.IGNORECASE)
_NFO_TYPE = re.compile(r"""\btype\s*=\s*["']?\s*(\w+)""", re.IGNORECASE)
_NFO_TAG = re.compile(
    r"<(tmdbid|tmdb_id|imdbid|imdb_id|imdb|tvdbid|tvdb_id|id)>\s*([^<\s]+)\s*</\1\s*>",
    re.IGNORECASE,
)
_NFO_URLS = (
    ("imdb", re.compile(r"imdb\.com/(?:[a-z]{2}/)?title/(tt\d{7,8})", re.IGNORECASE)),
    ("tmdb", re.compile(r"themoviedb\.org/(?:movie|tv)/(\d+)", re.IGNORECASE)),
    ("tvdb", re.compile(r"thetvdb\.com/\S*?[?&](?:series)?id=(\d+)", re.IGNORECASE)),
)
# Which NFO documents describe the thing a Guess of each kind looks up.  An episode NFO
# carries the *episode's* ids: using them for the show lookup would find nothing, or a
# different show whose TV id happens to equal the episode id.
_NFO_ROOTS_FOR = {"movie": ("movie",), "episode": ("tvshow",)}


def clean_id(key: str, value: str) -> str | None:
    """Return the canonical form of an id, or None when it cannot be one.

    Managers write ``0`` or empty values for "unknown"; IMDb ids are ``tt`` + 7-8 digits.
    """
    value = value.strip()
    if key == "imdb":
        value = value.lower()
        return value if re.fullmatch(r"tt\d{7,8}", value) else None
    return value if value.isdigit() and value.isascii() and int(value) > 0 else None


def name_ids(names: Iterable[str]) -> dict[str, str]:
    """Ids tagged in file/folder ``names``, given nearest first: the nearest tag wins.

    The nearest name is the most specific one: a movie file's own tag beats a tag on a
    folder above it.
    """
    ids: dict[str, str] = {}
    for name in names:
        if "[" in name or "{" in name:
            for match in _TAG.finditer(name):
                key = match.group(1).lower()
                value = clean_id(key, match.group(2))
                if value is not None:
                    ids.setdefault(key, value)
    return ids


def bare_imdb_id(names: Iterable[str]) -> str | None:
    """A bare ``tt1234567`` in a name (Jellyfin and Radarr accept it), nearest first.

    It ranks below explicit tags and NFO ids: nobody types it by accident, but a release
    name may carry it for a different cut or a compilation.
    """
    for name in names:
        if "tt" in name.lower():
            match = _BARE_IMDB.search(name)
            if match:
                return match.group(1).lower()
    return None


def strip_tags(text: str) -> str:
    """``text`` without id and edition tags, so they never leak into a title."""
    if "[" not in text and "{" not in text:
        return text
    return _STRIPPABLE.sub("", text).strip()


def read_nfo_ids(nfo_text: str) -> dict[str, str]:
    """Ids found in an NFO document (or a URL-only NFO), keys ``tmdb``/``imdb``/``tvdb``.

    Precedence inside one NFO: ``<uniqueid>`` (the current Kodi/Jellyfin form), then
    the older dedicated tags, then URLs. Invalid values (``0``, empty, bad imdb) are skipped.
    """
    ids: dict[str, str] = {}
    for match in _NFO_UNIQUEID.finditer(nfo_text):
        kind = _NFO_TYPE.search(match.group(1))
        if kind:
            _put(ids, kind.group(1), match.group(2))
    for match in _NFO_TAG.finditer(nfo_text):
        tag, value = match.group(1).lower(), match.group(2)
        if tag == "id":  # Kodi's <id> is an IMDb id for movies, a TVDB id for shows
            tag = "imdb" if value.lower().startswith("tt") else ""
        _put(ids, tag.split("_")[0].removesuffix("id"), value)
    for key, pattern in _NFO_URLS:
        for match in pattern.finditer(nfo_text):
            _put(ids, key, match.group(1))
    return ids


def nfo_ids_for(kind: str, nfo_text: str) -> dict[str, str]:
    """The NFO's ids when the NFO describes what a ``kind`` guess looks up, else ``{}``.

    A URL-only NFO (no XML root) is trusted for either kind: people drop an IMDb link
    beside a movie or into a show folder.
    """
    root = _NFO_ROOT.search(nfo_text)
    if root and root.group(1).lower() not in _NFO_ROOTS_FOR.get(kind, ()):
        return {}
    return read_nfo_ids(nfo_text)


def _put(ids: dict[str, str], key: str, value: str) -> None:
    key = key.lower()
    if key in ID_KEYS and key not in ids:
        cleaned = clean_id(key, value)
        if cleaned is not None:
            ids[key] = cleaned
