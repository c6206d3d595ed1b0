"""Defensive readers for raw TMDB answers.

TMDB is mostly well-formed, but any field can be missing, ``null``, ``""`` (air dates)
or the wrong type, and image languages come as ``null``, ``""`` or ``"xx"`` for "no
text" (the choosing among alternatives lives in ``tmdbpicks``).  Every helper here takes
whatever TMDB sent and returns a clean value or ``None``/``[]``, so the document builders
in ``metadata.py`` read like a field list and a sparse answer yields a sparse (but valid)
document instead of a crash.  Only the ``require_*`` helpers (and the season lookups
built on them) raise: they guard the few fields without which a document would be
meaningless, with ``TmdbBadResponse`` so the worker marks the item ``ERROR bad_response``
(retryable: TMDB may answer properly next time), or ``TmdbNotFound`` for an episode
number the season does not have.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from typing import Any

from sidecar.errors import TmdbBadResponse, TmdbNotFound

_UNSAFE_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_IMDB = re.compile(r"^tt\d+$")


# --- required fields ------------------------------------------------------------------


def require_dict(value: Any, what: str) -> Mapping[str, Any]:
    """The top of a TMDB answer must be an object; anything else is a bad response."""
    if not isinstance(value, Mapping):
        raise TmdbBadResponse(f"{what}: expected a JSON object, got {type(value).__name__}")
    return value


def require_id(data: Mapping[str, Any], what: str) -> int:
    """TMDB's numeric id: without it nothing can be written or adopted later."""
    tmdb_id = int_id(data.get("id"))
    if tmdb_id is None:
        raise TmdbBadResponse(f"{what}: missing id")
    return tmdb_id


def require_text(data: Mapping[str, Any], key: str, what: str) -> str:
    """A title a player must show: an item without one is a broken answer."""
    value = text(data.get(key))
    if value is None:
        raise TmdbBadResponse(f"{what}: missing {key}")
    return value


# --- scalars ---------------------------------------------------------------------------


def text(value: Any) -> str | None:
    """A stripped string, with characters XML and UTF-8 cannot carry removed; '' -> None."""
    if not isinstance(value, str):
        return None
    cleaned = _UNSAFE_TEXT.sub("", value).strip()
    return cleaned or None


def int_id(value: Any) -> int | None:
    """A positive integer id (TMDB, TVDB); digit strings accepted, bools and junk not."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    return value if isinstance(value, int) and value > 0 else None


def imdb_id(value: Any) -> str | None:
    """IMDb ids look like ``tt0133093``; TMDB sends ``""`` or ``null`` when unknown."""
    cleaned = text(value)
    return cleaned if cleaned and _IMDB.match(cleaned) else None


def date(value: Any) -> str | None:
    """A real ISO date ``YYYY-MM-DD``; TMDB's ``""``, ``null`` and junk become None."""
    cleaned = text(value)
    if not cleaned or not _DATE.match(cleaned):
        return None
    try:
        parsed = datetime.date.fromisoformat(cleaned)
    except ValueError:
        return None
    return cleaned if parsed.year >= 1000 else None


def year(iso_date: str | None) -> int | None:
    return int(iso_date[:4]) if iso_date else None


def counter(value: Any) -> int:
    """A non-negative count (votes, episodes); junk counts as 0."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def minutes(value: Any) -> int | None:
    """A runtime in minutes; TMDB uses 0 and null for "unknown"."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value) if value > 0 else None


def image_path(value: Any) -> str | None:
    """A TMDB image file path (``/abc.jpg``): the part appended to base URL + size."""
    cleaned = text(value)
    return cleaned if cleaned and cleaned.startswith("/") and " " not in cleaned else None


def rating(data: Mapping[str, Any]) -> dict[str, Any] | None:
    """TMDB's community score; None when nobody voted (an average of 0 means nothing)."""
    average, votes = data.get("vote_average"), data.get("vote_count")
    if isinstance(average, bool) or not isinstance(average, int | float):
        return None
    count = counter(votes)
    if average <= 0 and count == 0:
        return None
    return {"average": round(min(max(float(average), 0.0), 10.0), 3), "votes": count}


def country_of(language: str) -> str | None:
    """``en-US`` -> ``US``: the default country for certifications."""
    _, _, country = language.partition("-")
    return country.upper() or None


# --- collections -------------------------------------------------------------------


def dicts(value: Any) -> list[Mapping[str, Any]]:
    """The objects of a list, skipping nulls and strays; a non-list is empty."""
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def sub(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """An appended sub-answer (``credits``, ``images`` ...), or {} when absent or null."""
    value = data.get(key)
    return value if isinstance(value, Mapping) else {}


def names(value: Any, key: str = "name") -> list[str]:
    """The distinct names of a list of objects (genres, companies, keywords), in order."""
    seen: dict[str, None] = {}
    for item in dicts(value):
        name = text(item.get(key))
        if name:
            seen.setdefault(name, None)
    return list(seen)


# --- TMDB sub-objects -------------------------------------------------------------------


def collection(value: Any) -> dict[str, Any] | None:
    """``belongs_to_collection`` -> ``{tmdb_id, name}`` (Kodi/Jellyfin "set")."""
    if not isinstance(value, Mapping) or int_id(value.get("id")) is None:
        return None
    return {"tmdb_id": int_id(value.get("id")), "name": text(value.get("name"))}


def season_number(value: Any) -> int | None:
    """A season or episode number: 0 (specials) upwards."""
    return value if type(value) is int and value >= 0 else None  # not bool


def season_summaries(value: Any) -> list[dict[str, Any]]:
    """The show's ``seasons[]``: enough to name season posters and count episodes."""
    return [
        {
            "season": number,
            "tmdb_id": int_id(season.get("id")),
            "name": text(season.get("name")),
            "air_date": date(season.get("air_date")),
            "episode_count": season_number(season.get("episode_count")),
            "poster": image_path(season.get("poster_path")),
        }
        for season in dicts(value)
        if (number := season_number(season.get("season_number"))) is not None
    ]


def episode_entry(episode: Mapping[str, Any], number: int) -> dict[str, Any]:
    """One ``episodes[]`` item of a season answer, as a document's ``episodes`` entry."""
    return {
        "episode": number,
        "tmdb_id": require_id(episode, f"episode {number}"),
        # An untitled episode is normal in young or sparse translations: not an error.
        "title": text(episode.get("name")) or f"Episode {number}",
        "overview": text(episode.get("overview")),
        "air_date": date(episode.get("air_date")),
        "runtime": minutes(episode.get("runtime")),
        "rating": rating(episode),
        "still": image_path(episode.get("still_path")),
    }


def find_episodes(
    season: Mapping[str, Any], numbers: tuple[int, ...], show_id: int
) -> list[Mapping[str, Any]]:
    """The ``episodes[]`` entries for ``numbers``; ``TmdbNotFound`` names the missing ones
    (the file points at an episode TMDB does not have: a renumbering, a wrong season)."""
    by_number = {
        e["episode_number"]: e
        for e in dicts(season.get("episodes"))
        if season_number(e.get("episode_number")) is not None  # not bool: True == 1
    }
    missing = [n for n in numbers if n not in by_number]
    if missing:
        where = f"show {show_id} season {season.get('season_number')}"
        raise TmdbNotFound(f"{where} has no episode {', '.join(map(str, missing))}")
    return [by_number[n] for n in numbers]


def season_of(season: Mapping[str, Any], episodes: list[Mapping[str, Any]], show_id: int) -> int:
    """The season's number, from the season answer or else its episodes."""
    for candidate in (season.get("season_number"), episodes[0].get("season_number")):
        if (number := season_number(candidate)) is not None:
            return number
    raise TmdbBadResponse(f"show {show_id} season: missing season_number")
