"""Choices among TMDB's alternatives: which image, certification, trailer and people.

TMDB offers many posters, a release (and rating) per country and type, several videos
and long credit lists; a player wants one of each, or a short list.  The rules here are
the ones a Kodi/Jellyfin user would expect (language first, the configured country's
rating only, an official YouTube trailer, top-billed cast) and are pure functions over
the raw answers, like ``tmdbfields``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from sidecar.tmdbfields import counter, dicts, image_path, int_id, sub, text

CAST_LIMIT = 20
NO_LANGUAGE = frozenset({"", "xx"})  # plus None: "this image has no text"

_YOUTUBE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
# Release types by preference for a certification: theatrical, limited, digital,
# physical, TV, premiere (TMDB's numbering is 1 premiere .. 6 TV).
_RELEASE_PREFERENCE = {3: 0, 2: 1, 4: 2, 5: 3, 6: 4, 1: 5}


def cast(value: Any, limit: int = CAST_LIMIT) -> list[dict[str, Any]]:
    """Top-billed people, re-numbered from 0 so ``order`` is a plain rank."""
    people = [p for p in dicts(value) if text(p.get("name"))]
    people.sort(key=lambda p: _order(p.get("order")))  # stable: TMDB order breaks ties
    return [
        {
            "name": text(p.get("name")),
            "character": text(p.get("character")),
            "order": rank,
            "tmdb_id": int_id(p.get("id")),
            "profile": image_path(p.get("profile_path")),
        }
        for rank, p in enumerate(people[:limit])
    ]


def crew(
    value: Any, *, jobs: Iterable[str] = (), departments: Iterable[str] = ()
) -> list[dict[str, Any]]:
    """People with one of ``jobs`` or in one of ``departments``, once each."""
    wanted_jobs, wanted_departments = set(jobs), set(departments)
    found: dict[Any, dict[str, Any]] = {}
    for person in dicts(value):
        name, job = text(person.get("name")), text(person.get("job"))
        if not name or not (job in wanted_jobs or person.get("department") in wanted_departments):
            continue
        key = int_id(person.get("id")) or name
        found.setdefault(key, {"name": name, "tmdb_id": int_id(person.get("id")), "job": job})
    return list(found.values())


def merge_people(*groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Concatenate people lists (multi-episode files), keeping each person once."""
    found: dict[Any, dict[str, Any]] = {}
    for group in groups:
        for person in group:
            found.setdefault(person.get("tmdb_id") or person["name"], person)
    return list(found.values())


def _order(value: Any) -> int:
    """TMDB billing order; people without one go last."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 1_000_000


# --- choices among alternatives ------------------------------------------------------


def pick_image(
    default: Any, candidates: Any, language: str, *, textless: bool = False
) -> str | None:
    """The image to download: TMDB's own pick for the language, else the best candidate.

    ``poster_path``/``backdrop_path`` already follow TMDB's language rules, so they win.
    Without one, rank the ``images`` list: the language first (or, for backdrops, no text
    first), then by votes.  ``null``, ``""`` and ``"xx"`` all mean "no text".
    """
    chosen = image_path(default)
    if chosen:
        return chosen
    lang = language.partition("-")[0].lower()

    def rank(image: Mapping[str, Any]) -> tuple[int, float, int]:
        iso = image.get("iso_639_1")
        textless_image = iso is None or iso in NO_LANGUAGE
        matches = isinstance(iso, str) and iso.lower() == lang
        first, second = (textless_image, matches) if textless else (matches, textless_image)
        tier = 0 if first else 1 if second else 2
        average = image.get("vote_average")
        score = float(average) if isinstance(average, int | float) else 0.0
        return tier, -score, -counter(image.get("vote_count"))

    usable = [i for i in dicts(candidates) if image_path(i.get("file_path"))]
    return image_path(min(usable, key=rank).get("file_path")) if usable else None


def movie_certification(details: Mapping[str, Any], country: str | None) -> str | None:
    """The rating for ``country`` from ``release_dates`` (or legacy ``releases``).

    Never another country's rating: "12" from DE would mislead a US parental filter.
    """
    if not country:
        return None
    for entry in dicts(sub(details, "release_dates").get("results")):
        if str(entry.get("iso_3166_1", "")).upper() != country:
            continue
        releases = sorted(
            dicts(entry.get("release_dates")),
            key=lambda r: _RELEASE_PREFERENCE.get(counter(r.get("type")), 9),
        )
        for release in releases:
            if cert := text(release.get("certification")):
                return cert
    for entry in dicts(sub(details, "releases").get("countries")):
        cert = text(entry.get("certification"))
        if cert and str(entry.get("iso_3166_1", "")).upper() == country:
            return cert
    return None


def show_certification(details: Mapping[str, Any], country: str | None) -> str | None:
    """The rating for ``country`` from ``content_ratings``."""
    for entry in dicts(sub(details, "content_ratings").get("results")):
        if country and str(entry.get("iso_3166_1", "")).upper() == country:
            return text(entry.get("rating"))
    return None


def trailer(videos: Mapping[str, Any], language: str) -> dict[str, Any] | None:
    """The YouTube trailer to link: a Trailer before a Teaser, official, in the language."""
    lang = language.partition("-")[0].lower()
    usable = [
        v
        for v in dicts(videos.get("results"))
        if v.get("site") == "YouTube"
        and _youtube_key(v.get("key"))
        and v.get("type") in ("Trailer", "Teaser")
    ]
    if not usable:
        return None
    best = min(
        usable,
        key=lambda v: (
            v.get("type") != "Trailer",
            v.get("official") is False,
            str(v.get("iso_639_1") or "").lower() != lang,
        ),
    )
    return {"site": "YouTube", "key": text(best.get("key")), "name": text(best.get("name"))}


def _youtube_key(value: Any) -> bool:
    key = text(value)
    return bool(key and _YOUTUBE_KEY.match(key))
