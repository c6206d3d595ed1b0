"""The structure of one file or folder name: episode markers, dates, seasons, parts, versions.

These are our own compiled regexes, not guessit's ``type``, on purpose: guessit reads
``Blade.Runner.2049`` as S20E49, ``Naruto Shippuden - 500`` as S5E0 and drops ``1x02-1x03``,
and a wrong kind sends the lookup to the wrong TMDB endpoint.  The shapes follow the
Plex and Jellyfin naming guides (research/tmdb-and-naming.md section 7) and Jellyfin's
Emby.Naming stacking/episode rules.  Titles are read by ``sidecar.titleparse``.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

_I = re.IGNORECASE
_SXXEYY = re.compile(
    r"(?<![a-z0-9])s(\d{1,3})[ ._-]?e(\d{1,4})((?:-?e\d{1,4})*)(?:-(\d{1,4})(?![0-9p]))?", _I
)
_NXNN = re.compile(r"(?<![a-z0-9])(\d{1,2})x(\d{2,3})((?:-(?:\d{1,2}x)?\d{2,3})*)(?![a-z0-9])", _I)
_YMD = re.compile(r"(?<![0-9])((?:19|20)\d{2})([-. ])(\d{2})\2(\d{2})(?![0-9])")
_DMY = re.compile(r"(?<![0-9])(\d{2})([-. ])(\d{2})\2((?:19|20)\d{2})(?![0-9])")
_EP_ONLY = re.compile(r"(?<![a-z0-9])(?:e|ep|episode)[ ._]?(\d{1,4})(?![0-9])", _I)
_DASH_NUMBER = re.compile(r"\s-\s(\d{1,4})(?:v\d)?(?=$|[\s\[(.])")  # anime "Title - 01"
_LEADING_NUMBER = re.compile(r"^(\d{1,3})(?=$|\s*[-._ ]\s*\D)")  # "01 - Pilot" in a season folder
_PAREN_YEAR = re.compile(r"\((?:19|20)\d{2}\)")

_SEASON_DIR = re.compile(
    r"^(?:season|saison|staffel|temporada|series)[ ._-]*(\d{1,4})$|^s(\d{1,2})$|^(specials?)$", _I
)
_SEASON_WORD = re.compile(
    r"(?<![a-z0-9])(?:season|saison|staffel|temporada)[ ._-]*(\d{1,4})(?![0-9])", _I
)
_SEASON_PACK = re.compile(r"(?<![a-z0-9])s(\d{1,2})(?=$|[ ._-])", _I)

_PART = re.compile(
    r"(^|\s*-\s*|[ ._-])(cd|dvd|part|pt|dis[ck])[ ._-]?(\d{1,2}|[a-d])(?=$|[ ._-])", _I
)
_YEAR_TOKEN = re.compile(r"(?<=[ ._(\[])(?:19|20)\d{2}(?=$|[ ._)\]])")
_VERSION = re.compile(
    r"^(?P<head>.*?\((?:18[89]|19\d|20\d)\d\))\s*"
    r"(?:-\s*(?P<label>\S.*)|(?P<bracketed>\[[^\]]+\]))$"
)
_MAX_RANGE = 50  # "S01E01-E99" is a typo, not 99 episodes in one file


@dataclass(frozen=True, slots=True)
class Marker:
    """Where a file name says which episode it is, and what that is."""

    start: int  # the show title, if any, is the text before this offset
    season: int | None = None
    episodes: tuple[int, ...] = ()
    air_date: datetime.date | None = None
    strong: bool = True  # SxxEyy, NxNN and dates beat a movie-style ``Title (Year)`` folder


def find_marker(stem: str, *, in_season_dir: bool = False) -> Marker | None:
    """The episode marker in a file stem, strongest form first; None for a movie-like name.

    Weak forms (``E05``, anime ``Title - 01``, a leading ``01``) are only trusted where
    they are unambiguous: a leading number or bare `` - 01`` needs a season folder (or an
    anime ``[Group]`` prefix), because ``Movie - 2`` is a movie.
    """
    strong = _sxxeyy(stem) or _nxnn(stem) or _dated(stem)
    if strong is not None:
        return strong
    match = _EP_ONLY.search(stem)
    if match is None and (in_season_dir or stem.startswith("[")):
        match = _DASH_NUMBER.search(stem)
    if match is None and in_season_dir:
        match = _LEADING_NUMBER.search(stem)
    if match is None or _PAREN_YEAR.search(stem, match.end()):
        return None  # "Star Wars Episode 1 The Phantom Menace (1999)" is a movie
    return Marker(match.start(), None, (int(match.group(1)),), strong=False)


def _sxxeyy(stem: str) -> Marker | None:
    match = _SXXEYY.search(stem)
    if match is None:
        return None
    first = int(match.group(2))
    episodes = [first]
    for token in re.findall(r"-?e\d+", match.group(3), _I):
        _add_episode(episodes, int(token.lstrip("-eE")), is_range=token.startswith("-"))
    if match.group(4):
        _add_episode(episodes, int(match.group(4)), is_range=True)
    return Marker(match.start(), int(match.group(1)), tuple(episodes))


def _nxnn(stem: str) -> Marker | None:
    match = _NXNN.search(stem)
    if match is None:
        return None
    episodes = [int(match.group(2))]
    for token in filter(None, match.group(3).split("-")):
        _add_episode(episodes, int(token.rpartition("x")[2]), is_range=True)
    return Marker(match.start(), int(match.group(1)), tuple(episodes))


def _add_episode(episodes: list[int], number: int, *, is_range: bool) -> None:
    """``E01-E03`` is a range (1, 2, 3); ``E01E03`` lists exactly 1 and 3."""
    last = episodes[-1]
    if is_range and last < number <= last + _MAX_RANGE:
        episodes.extend(range(last + 1, number + 1))
    elif number not in episodes:
        episodes.append(number)


def _dated(stem: str) -> Marker | None:
    """Date-based episodes: ``2011-11-15``, or ``15-11-2011`` (Plex: day first), ``.``/space too."""
    for match in _YMD.finditer(stem):
        day = _date(int(match.group(1)), int(match.group(3)), int(match.group(4)))
        if day is not None:
            return Marker(match.start(), air_date=day)
    for match in _DMY.finditer(stem):
        first, second, year = int(match.group(1)), int(match.group(3)), int(match.group(4))
        day = _date(year, second, first) or _date(year, first, second)  # US order if it must
        if day is not None:
            return Marker(match.start(), air_date=day)
    return None


def _date(year: int, month: int, day: int) -> datetime.date | None:
    try:
        return datetime.date(year, month, day)
    except ValueError:
        return None


def season_dir(name: str) -> tuple[int | None, str] | None:
    """``(season, title text)`` when a folder holds one season, else None.

    ``Season 01`` -> (1, ""), ``Specials`` -> (0, ""), a scene season pack
    ``Show.Name.S01.1080p`` -> (1, "Show.Name.") and an episode's own release folder
    ``Show.S01E01.720p-GRP`` -> (1, "Show.").  The title text is a fallback for the show
    title when there is no show folder above.
    """
    match = _SEASON_DIR.match(name.strip())
    if match:
        number = match.group(1) or match.group(2)
        return (int(number) if number else 0), ""
    marker = _sxxeyy(name) or _nxnn(name)
    if marker is not None:
        return marker.season, name[: marker.start]
    found = _SEASON_WORD.search(name) or _SEASON_PACK.search(name, 1)
    return (int(found.group(1)), name[: found.start()]) if found else None


def split_part(base: str) -> tuple[str, int | None]:
    """Split a multi-part suffix (``-cd1``, `` - part1``, ``pt2``, ``disc2``, ``cdb``) off.

    ``Part N`` is kept when it is the title (``Harry Potter ... Part 1 (2010)``,
    ``Dune Part Two``): a part counts only after the year, or after ``-``/``_``/``.``,
    or with a keyword that is never a title word (cd, dvd, pt, disc, disk).
    """
    for match in reversed(list(_PART.finditer(base))):
        head, tail = base[: match.start()], base[match.end() :]
        after_year = _YEAR_TOKEN.search(head) is not None
        if tail.strip(" ._-") and not after_year:
            continue  # a "part" in the middle of the title
        separated = match.group(1).strip(" ") != "" or not head
        if after_year or separated or match.group(2).lower() != "part":
            number = match.group(3).lower()
            value = int(number) if number.isdigit() else ord(number) - ord("a") + 1
            return (head.rstrip(" -_") + tail).strip(), value
    return base, None


def split_version(base: str) -> tuple[str, str | None]:
    """Split a multi-version label off ``Title (Year) - label`` or ``Title (Year) [label]``.

    Plex and Jellyfin only recognise a label after the full ``Title (Year)`` name, so a
    name without a year never has a version (``Show - Pilot`` is not one).  Several
    bracket groups (``[1080p] [BluRay] [YTS.MX]``) are a release name, not a label.
    """
    match = _VERSION.match(base)
    if match is None:
        return base, None
    label = match.group("label") or match.group("bracketed")
    label = " ".join(re.sub(r"[\[\]]", " ", label).split())
    return (match.group("head"), label) if label else (base, None)
