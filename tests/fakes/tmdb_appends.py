"""Bodies of the ``append_to_response`` parts (credits, images, videos, ...), TMDB-shaped.

Every value is derived from a seed tuple (kind, id, ...) through stable hashes, so the same
request always yields the same bytes (and the same ETag), across processes and runs.
"""

from __future__ import annotations

import hashlib
import string
from collections.abc import Callable
from typing import Any

from .tmdb_catalog import MAX_ID, stable_hash

_B62 = string.digits + string.ascii_letters
_FIRST = ("Ava", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kofi",
          "Lena", "Mateo", "Nora", "Omar", "Priya")
_LAST = ("Adams", "Baptiste", "Chen", "Duarte", "Eriksen", "Fischer", "Garcia", "Haddad", "Ito",
         "Jensen", "Kowalski", "Larsen", "Moreau", "Novak", "Okafor", "Petrov")
_CREW = (("Directing", "Director"), ("Writing", "Screenplay"), ("Production", "Producer"),
         ("Sound", "Original Music Composer"), ("Camera", "Director of Photography"))
_KEYWORDS = ("based on novel or book", "friendship", "revenge", "small town", "time travel",
             "heist", "coming of age", "dystopia", "investigation", "road trip")
MOVIE_CERTS = ("G", "PG", "PG-13", "R")
TV_RATINGS = ("TV-PG", "TV-14", "TV-MA")

Seed = tuple[object, ...]


def file_path(*parts: object, ext: str = "jpg") -> str:
    """A TMDB-looking image path: ``/`` + 27 base62 characters + extension."""
    n = int.from_bytes(hashlib.sha256("|".join(map(str, parts)).encode()).digest(), "big")
    chars = []
    for _ in range(27):
        n, r = divmod(n, 62)
        chars.append(_B62[r])
    return "/" + "".join(chars) + "." + ext


def hex_id(*parts: object) -> str:
    """A 24-hex-digit id like TMDB's credit, video and season ``_id`` values."""
    return hashlib.sha1("|".join(map(str, parts)).encode()).hexdigest()[:24]


def _person(seed: Seed, i: int) -> dict[str, Any]:
    h = stable_hash(*seed, "person", i)
    name = f"{_FIRST[h % 16]} {_LAST[(h >> 8) % 16]}"
    return {
        "adult": False, "gender": 1 + h % 2, "id": h % MAX_ID + 1,
        "known_for_department": "Acting", "name": name, "original_name": name,
        "popularity": round(1 + (h >> 16) % 5000 / 100, 3),
        "profile_path": file_path(*seed, "profile", i), "credit_id": hex_id(*seed, "credit", i),
    }


def credits(seed: Seed, *, movie: bool) -> dict[str, Any]:
    cast = []
    for i in range(6):
        person = _person(seed, i) | {"character": f"Character {i + 1}", "order": i}
        if movie:
            person["cast_id"] = i + 1
        cast.append(person)
    crew = []
    for j, (department, job) in enumerate(_CREW):
        crew.append(_person(seed, 100 + j) | {
            "known_for_department": department, "department": department, "job": job})
    return {"id": seed[1], "cast": cast, "crew": crew}


def aggregate_credits(seed: Seed, episodes: int) -> dict[str, Any]:
    """TV ``aggregate_credits``: roles[]/jobs[] with episode counts instead of one character."""
    base = credits(seed, movie=False)
    cast = [{**{k: v for k, v in p.items() if k not in ("character", "credit_id")},
             "roles": [{"credit_id": p["credit_id"], "character": p["character"],
                        "episode_count": episodes}], "total_episode_count": episodes}
            for p in base["cast"]]
    crew = [{**{k: v for k, v in p.items() if k not in ("job", "credit_id")},
             "jobs": [{"credit_id": p["credit_id"], "job": p["job"], "episode_count": episodes}],
             "total_episode_count": episodes} for p in base["crew"]]
    return {"id": seed[1], "cast": cast, "crew": crew}


def _image(
    seed: Seed, role: str, i: int, lang: str | None, width: int, height: int
) -> dict[str, Any]:
    return {
        "aspect_ratio": round(width / height, 3), "height": height, "iso_639_1": lang,
        "file_path": file_path(*seed, role, i), "vote_average": round(5.6 - 0.1 * i, 3),
        "vote_count": 10 - i, "width": width,
    }


_POSTER_LANGS: tuple[str | None, ...] = ("en", "en", "fr", None)
_BACKDROP_LANGS: tuple[str | None, ...] = (None, "en", "xx")


def image_langs(include_image_language: str | None, language: str | None) -> set[str | None] | None:
    """Which ``iso_639_1`` values an images list keeps; ``None`` means all of them.

    Mirrors TMDB: ``include_image_language=en,null`` wins; otherwise ``language`` keeps only
    that language; "null" also stands for the newer ``xx`` marker for "no language".
    """
    if include_image_language:
        wanted = {p.strip() for p in include_image_language.split(",") if p.strip()}
    elif language:
        wanted = {language.split("-")[0]}
    else:
        return None
    langs: set[str | None] = {w for w in wanted if w != "null"}
    if "null" in wanted:
        langs |= {None, "xx"}
    return langs


def images(seed: Seed, langs: set[str | None] | None, *, stills: bool = False) -> dict[str, Any]:
    def keep(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [it for it in items if langs is None or it["iso_639_1"] in langs]

    if stills:
        return {"id": seed[1], "stills": keep([_image(seed, "still", 0, None, 1920, 1080)])}
    posters = [_image(seed, "poster", i, lg, 2000, 3000) for i, lg in enumerate(_POSTER_LANGS)]
    backdrops = [_image(seed, "backdrop", i, lg, 3840, 2160)
                 for i, lg in enumerate(_BACKDROP_LANGS)]
    logo = _image(seed, "logo", 0, "en", 1000, 400)
    logo["file_path"] = file_path(*seed, "logo", ext="png")
    return {"id": seed[1], "backdrops": keep(backdrops), "logos": keep([logo]),
            "posters": keep(posters)}


def videos(seed: Seed, date: str) -> dict[str, Any]:
    key = file_path(*seed, "video")[1:12]
    return {"id": seed[1], "results": [{
        "iso_639_1": "en", "iso_3166_1": "US", "name": "Official Trailer", "key": key,
        "site": "YouTube", "size": 1080, "type": "Trailer", "official": True,
        "published_at": f"{date}T16:00:00.000Z", "id": hex_id(*seed, "video"),
    }]}


def keyword_list(seed: Seed) -> list[dict[str, Any]]:
    h = stable_hash(*seed, "keywords")
    picks = sorted({h % 10, (h >> 8) % 10, (h >> 16) % 10})
    return [{"id": 1000 + k, "name": _KEYWORDS[k]} for k in picks]


def release_dates(seed: Seed, date: str) -> dict[str, Any]:
    cert = MOVIE_CERTS[stable_hash(*seed, "cert") % len(MOVIE_CERTS)]
    countries = (("US", cert), ("GB", "15"), ("DE", "12"))
    return {"id": seed[1], "results": [{"iso_3166_1": c, "release_dates": [{
        "certification": cv, "descriptors": [], "iso_639_1": "", "note": "",
        "release_date": f"{date}T00:00:00.000Z", "type": 3}]} for c, cv in countries]}


def releases(seed: Seed, date: str) -> dict[str, Any]:
    """The legacy ``releases`` append (Jellyfin still asks for it)."""
    body = release_dates(seed, date)
    return {"id": seed[1], "countries": [
        {"certification": r["release_dates"][0]["certification"], "iso_3166_1": r["iso_3166_1"],
         "primary": i == 0, "release_date": date} for i, r in enumerate(body["results"])]}


def content_ratings(seed: Seed) -> dict[str, Any]:
    rating = TV_RATINGS[stable_hash(*seed, "rating") % len(TV_RATINGS)]
    return {"id": seed[1], "results": [
        {"descriptors": [], "iso_3166_1": "US", "rating": rating},
        {"descriptors": [], "iso_3166_1": "DE", "rating": "12"}]}


def empty_page() -> dict[str, Any]:
    return {"page": 1, "results": [], "total_pages": 0, "total_results": 0}


Builder = Callable[[], Any]
