"""TMDB-shaped JSON bodies built from catalog entries: search results, details, seasons.

``movie_details`` / ``show_details`` / ``season`` / ``episode`` take the parsed
``append_to_response`` names and add one key per known append, exactly as TMDB nests them
(``"credits": {...}``, ``"season/1": {...}``).  Unknown append names are ignored silently,
which is what TMDB does too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from . import tmdb_appends as ap
from .tmdb_catalog import MAX_ID, MovieEntry, ShowEntry, stable_hash
from .tmdb_images import BACKDROP_SIZES, LOGO_SIZES, POSTER_SIZES, PROFILE_SIZES, STILL_SIZES

_GENRES = ((28, "Action"), (12, "Adventure"), (35, "Comedy"), (80, "Crime"), (18, "Drama"),
           (14, "Fantasy"), (27, "Horror"), (9648, "Mystery"), (878, "Science Fiction"),
           (53, "Thriller"))
_WORDS = ("Long", "Night", "Bridge", "Return", "Signal", "Harbor", "Winter", "Promise", "Storm",
          "Mirror", "Garden", "Echo", "Letter", "Crossing", "Shadow", "Door")
CHANGE_KEYS = ("adult", "air_date", "also_known_as", "alternative_titles", "biography", "birthday",
               "budget", "cast", "certifications", "character_names", "created_by", "crew",
               "deathday", "episode", "episode_number", "episode_run_time", "freebase_id",
               "genres", "homepage", "images", "imdb_id", "keywords", "name", "network",
               "origin_country", "original_name", "original_title", "overview", "plot_keywords",
               "poster_path", "production_companies", "release_date", "releases", "revenue",
               "runtime", "season", "season_number", "status", "tagline", "title", "translations",
               "tvdb_id", "type", "videos")

Params = Mapping[str, str]


def configuration(image_base_url: str) -> dict[str, Any]:
    return {"images": {
        "base_url": image_base_url, "secure_base_url": image_base_url,
        "backdrop_sizes": list(BACKDROP_SIZES), "logo_sizes": list(LOGO_SIZES),
        "poster_sizes": list(POSTER_SIZES), "profile_sizes": list(PROFILE_SIZES),
        "still_sizes": list(STILL_SIZES)}, "change_keys": list(CHANGE_KEYS)}


def _genres(seed: tuple[object, ...]) -> list[dict[str, Any]]:
    h = stable_hash(*seed, "genres")
    picks = sorted({h % 10, (h >> 8) % 10})
    return [{"id": _GENRES[i][0], "name": _GENRES[i][1]} for i in picks]


def _votes(seed: tuple[object, ...]) -> tuple[float, int]:
    h = stable_hash(*seed, "votes")
    return round(5 + (h % 400) / 100, 3), 50 + h % 20000


def movie_summary(m: MovieEntry) -> dict[str, Any]:
    seed = ("movie", m.id)
    vote, count = _votes(seed)
    return {
        "adult": False, "backdrop_path": ap.file_path(*seed, "backdrop", 0),
        "genre_ids": [g["id"] for g in _genres(seed)], "id": m.id,
        "original_language": m.original_language, "original_title": m.original_title or m.title,
        "overview": f"A synthetic overview of {m.title} ({m.year}).",
        "popularity": m.popularity, "poster_path": ap.file_path(*seed, "poster", 0),
        "release_date": m.date, "title": m.title, "video": False,
        "vote_average": vote, "vote_count": count,
    }


def show_summary(s: ShowEntry) -> dict[str, Any]:
    seed = ("tv", s.id)
    vote, count = _votes(seed)
    return {
        "adult": False, "backdrop_path": ap.file_path(*seed, "backdrop", 0),
        "genre_ids": [g["id"] for g in _genres(seed)], "id": s.id, "origin_country": ["US"],
        "original_language": s.original_language, "original_name": s.original_name or s.name,
        "overview": f"A synthetic overview of {s.name} ({s.year}).",
        "popularity": s.popularity, "poster_path": ap.file_path(*seed, "poster", 0),
        "first_air_date": s.date, "name": s.name, "vote_average": vote, "vote_count": count,
    }


def search_page(results: Sequence[dict[str, Any]], page: int) -> dict[str, Any]:
    chunk = list(results[(page - 1) * 20 : page * 20])
    return {"page": page, "results": chunk, "total_pages": -(-len(results) // 20),
            "total_results": len(results)}


def movie_details(m: MovieEntry, appends: Sequence[str], params: Params) -> dict[str, Any]:
    seed = ("movie", m.id)
    h = stable_hash(*seed, "details")
    body = movie_summary(m) | {
        "belongs_to_collection": None, "budget": 1_000_000 * (h % 200), "genres": _genres(seed),
        "homepage": "", "imdb_id": m.imdb, "origin_country": ["US"],
        "production_companies": [{"id": 1 + h % 9000, "logo_path": None,
                                  "name": "Synthetic Pictures", "origin_country": "US"}],
        "production_countries": [{"iso_3166_1": "US", "name": "United States of America"}],
        "revenue": 3_000_000 * (h % 300), "runtime": 85 + h % 70,
        "spoken_languages": [{"english_name": "English", "iso_639_1": "en", "name": "English"}],
        "status": "Released", "tagline": f"{m.title}: the tagline.",
    }
    del body["genre_ids"]
    langs = ap.image_langs(params.get("include_image_language"), params.get("language"))
    builders: dict[str, ap.Builder] = {
        "credits": lambda: ap.credits(seed, movie=True),
        "videos": lambda: ap.videos(seed, m.date),
        "images": lambda: ap.images(seed, langs),
        "release_dates": lambda: ap.release_dates(seed, m.date),
        "releases": lambda: ap.releases(seed, m.date),
        "external_ids": lambda: {"id": m.id, "imdb_id": m.imdb, "wikidata_id": f"Q{h % 10**7}",
                                 "facebook_id": None, "instagram_id": None, "twitter_id": None},
        "keywords": lambda: {"id": m.id, "keywords": ap.keyword_list(seed)},
        "alternative_titles": lambda: {"id": m.id, "titles": [
            {"iso_3166_1": "US", "title": t, "type": ""} for t in m.alternative_titles]},
        "translations": lambda: {"id": m.id, "translations": []},
        "similar": ap.empty_page, "recommendations": ap.empty_page, "reviews": ap.empty_page,
        "lists": ap.empty_page,
    }
    return body | {name: builders[name]() for name in appends if name in builders}


def _season_start(s: ShowEntry, number: int) -> dt.date:
    start = dt.date.fromisoformat(s.date)
    year = start.year + max(number - 1, 0)
    return start.replace(year=year, day=min(start.day, 28 if start.month == 2 else 31))


def episode(s: ShowEntry, season_number: int, number: int) -> dict[str, Any]:
    seed = ("tv", s.id, season_number, number)
    h = stable_hash(*seed)
    count = s.seasons.get(season_number, 0)
    air = _season_start(s, season_number) + dt.timedelta(days=7 * (number - 1))
    vote, votes = _votes(seed)
    return {
        "air_date": air.isoformat(), "episode_number": number,
        "episode_type": "finale" if number == count and season_number > 0 else "standard",
        "id": h % MAX_ID + 1, "name": f"The {_WORDS[h % 16]} {_WORDS[(h >> 8) % 16]}",
        "overview": f"Episode {number} of season {season_number} of {s.name}.",
        "production_code": "", "runtime": 40 + h % 20, "season_number": season_number,
        "show_id": s.id, "still_path": ap.file_path(*seed, "still", 0),
        "vote_average": vote, "vote_count": votes % 500, "crew": [], "guest_stars": [],
    }


def _season_name(number: int) -> str:
    return "Specials" if number == 0 else f"Season {number}"


def season_summary(s: ShowEntry, number: int) -> dict[str, Any]:
    seed = ("tv", s.id, number)
    return {"air_date": _season_start(s, number).isoformat(), "episode_count": s.seasons[number],
            "id": stable_hash(*seed, "season") % MAX_ID + 1, "name": _season_name(number),
            "overview": "", "poster_path": ap.file_path(*seed, "poster", 0),
            "season_number": number, "vote_average": _votes(seed)[0]}


def season(s: ShowEntry, number: int, appends: Sequence[str] = (),
           params: Params | None = None) -> dict[str, Any] | None:
    """``/tv/{id}/season/{n}`` body, or ``None`` when the show has no such season."""
    if number not in s.seasons:
        return None
    seed = ("tv", s.id, number)
    summary = season_summary(s, number)
    body = {"_id": ap.hex_id(*seed, "season"), **summary}
    del body["episode_count"]
    body["episodes"] = [episode(s, number, e) for e in range(1, s.seasons[number] + 1)]
    langs = ap.image_langs((params or {}).get("include_image_language"), None)
    builders: dict[str, ap.Builder] = {
        "credits": lambda: ap.credits(seed, movie=False),
        "images": lambda: {"id": summary["id"], "posters": ap.images(seed, langs)["posters"]},
        "external_ids": lambda: {"id": summary["id"], "tvdb_id": summary["id"],
                                 "freebase_mid": None, "freebase_id": None, "tvrage_id": None,
                                 "wikidata_id": None},
        "videos": lambda: ap.videos(seed, summary["air_date"]),
    }
    return body | {name: builders[name]() for name in appends if name in builders}


def show_details(s: ShowEntry, appends: Sequence[str], params: Params) -> dict[str, Any]:
    seed = ("tv", s.id)
    numbers = sorted(s.seasons)
    regular = [n for n in numbers if n > 0]
    last_season = regular[-1] if regular else numbers[-1]
    last_episode = episode(s, last_season, max(s.seasons[last_season], 1))
    body = show_summary(s) | {
        "created_by": [], "episode_run_time": [45], "genres": _genres(seed), "homepage": "",
        "in_production": False, "languages": [s.original_language],
        "last_air_date": last_episode["air_date"], "last_episode_to_air": last_episode,
        "next_episode_to_air": None,
        "networks": [{"id": 49, "logo_path": None, "name": "Synthetic TV", "origin_country": "US"}],
        "number_of_episodes": sum(s.seasons[n] for n in regular),
        "number_of_seasons": len(regular), "production_companies": [],
        "seasons": [season_summary(s, n) for n in numbers], "status": "Ended",
        "tagline": "", "type": "Scripted",
    }
    del body["genre_ids"]
    langs = ap.image_langs(params.get("include_image_language"), params.get("language"))
    total = body["number_of_episodes"]
    builders: dict[str, ap.Builder] = {
        "credits": lambda: ap.credits(seed, movie=False),
        "aggregate_credits": lambda: ap.aggregate_credits(seed, total),
        "images": lambda: ap.images(seed, langs),
        "videos": lambda: ap.videos(seed, s.date),
        "external_ids": lambda: {"id": s.id, "imdb_id": s.imdb, "tvdb_id": s.tvdb,
                                 "freebase_mid": None, "freebase_id": None, "tvrage_id": None,
                                 "wikidata_id": None, "facebook_id": None,
                                 "instagram_id": None, "twitter_id": None},
        "content_ratings": lambda: ap.content_ratings(seed),
        "keywords": lambda: {"id": s.id, "results": ap.keyword_list(seed)},
        "alternative_titles": lambda: {"id": s.id, "results": [
            {"iso_3166_1": "US", "title": t, "type": ""} for t in s.alternative_titles]},
        "episode_groups": lambda: {"id": s.id, "results": []},
        "translations": lambda: {"id": s.id, "translations": []},
        "similar": ap.empty_page, "recommendations": ap.empty_page, "reviews": ap.empty_page,
    }
    for name in appends:
        if name in builders:
            body[name] = builders[name]()
        elif name.startswith("season/") and name[7:].isdigit():
            found = season(s, int(name[7:]))
            if found is not None:  # TMDB leaves out seasons that do not exist
                body[name] = found
    return body


def episode_details(s: ShowEntry, season_number: int, number: int, appends: Sequence[str]
                    ) -> dict[str, Any] | None:
    if not 1 <= number <= s.seasons.get(season_number, 0):
        return None
    body = episode(s, season_number, number)
    seed = ("tv", s.id, season_number, number)
    builders: dict[str, ap.Builder] = {
        "credits": lambda: {"id": body["id"], "cast": [], "crew": [], "guest_stars": []},
        "images": lambda: ap.images(seed, None, stills=True),
        "external_ids": lambda: {"id": body["id"], "imdb_id": None, "tvdb_id": body["id"],
                                 "freebase_mid": None, "freebase_id": None, "tvrage_id": None,
                                 "wikidata_id": None},
        "videos": lambda: ap.videos(seed, body["air_date"]),
    }
    return body | {name: builders[name]() for name in appends if name in builders}
