"""The ``metadata.json`` documents: built from TMDB answers, checked against the schema.

A document is what Scanarr leaves beside a movie, a show folder or an episode.  It is
plain JSON on purpose: the host players do not read it, but people, scripts and the next
Scanarr run do -- the scanner *adopts* a library that already has valid documents
instead of fetching everything again (``load_valid_metadata``).

Every document has ``schema`` (this module's ``SCHEMA_VERSION``), ``type``
(``movie | show | episode``), ``tmdb_id``, ``imdb_id``, ``tvdb_id`` (null when unknown),
``title``, ``images`` (the TMDB file paths of the artwork written beside it) and the
provenance keys ``source``, ``language``, ``fetched_at``, ``scanarr_version``.

Multi-episode files (``S01E01-E02``): one ``episode`` document per *file*.  ``episodes``
always lists the TMDB episodes the file holds (one entry for an ordinary file), so a
reader has a single code path; the top-level fields describe the file as a player shows
it -- ``episode`` is the first number, ``title`` the titles joined with `` / ``,
``runtime`` the sum, ``tmdb_id``/``air_date``/``rating`` those of the first episode,
``images.still`` the first still that exists; people are merged, each person once.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from sidecar import __version__
from sidecar import tmdbfields as tf
from sidecar import tmdbpicks as tp

SCHEMA_VERSION = 1
SCHEMA_PATH = Path(__file__).parent / "schemas" / "metadata.schema.json"
MAX_DOCUMENT_BYTES = 4 * 1024 * 1024  # a real document is a few KB; refuse to adopt junk

Document = dict[str, Any]


def movie_document(
    details: Any,
    *,
    language: str = "en-US",
    certification_country: str | None = None,
    fetched_at: datetime | None = None,
    version: str | None = None,
) -> Document:
    """The document for ``/movie/{id}`` with credits, videos, images, release_dates,
    external_ids, keywords and alternative_titles appended.

    ``certification_country`` defaults to the language's country (``en-US`` -> ``US``).
    Raises ``TmdbBadResponse`` when the id or title is missing.
    """
    d = tf.require_dict(details, "movie")
    tmdb_id = tf.require_id(d, "movie")
    external, credits, images = tf.sub(d, "external_ids"), tf.sub(d, "credits"), tf.sub(d, "images")
    release = tf.date(d.get("release_date"))
    country = certification_country or tf.country_of(language)
    return {
        **_header(
            "movie",
            tmdb_id,
            tf.imdb_id(d.get("imdb_id")) or tf.imdb_id(external.get("imdb_id")),
            tf.int_id(external.get("tvdb_id")),
        ),
        "title": tf.require_text(d, "title", f"movie {tmdb_id}"),
        "original_title": tf.text(d.get("original_title")),
        "original_language": tf.text(d.get("original_language")),
        "alternative_titles": tf.names(tf.sub(d, "alternative_titles").get("titles"), key="title"),
        "year": tf.year(release),
        "release_date": release,
        "overview": tf.text(d.get("overview")),
        "tagline": tf.text(d.get("tagline")),
        "runtime": tf.minutes(d.get("runtime")),
        "genres": tf.names(d.get("genres")),
        "studios": tf.names(d.get("production_companies")),
        "countries": tf.names(d.get("production_countries")),
        "certification": tp.movie_certification(d, country),
        "rating": tf.rating(d),
        "cast": tp.cast(credits.get("cast")),
        "directors": tp.crew(credits.get("crew"), jobs=["Director"]),
        "writers": tp.crew(credits.get("crew"), departments=["Writing"]),
        "keywords": tf.names(tf.sub(d, "keywords").get("keywords")),
        "trailer": tp.trailer(tf.sub(d, "videos"), language),
        "collection": tf.collection(d.get("belongs_to_collection")),
        "images": _artwork(d, images, language),
        **_provenance(language, fetched_at, version),
    }


def show_document(
    details: Any,
    *,
    language: str = "en-US",
    certification_country: str | None = None,
    fetched_at: datetime | None = None,
    version: str | None = None,
) -> Document:
    """The document for ``/tv/{id}`` with credits, images, external_ids, content_ratings,
    keywords and videos appended.  Raises ``TmdbBadResponse`` without id or name."""
    d = tf.require_dict(details, "show")
    tmdb_id = tf.require_id(d, "show")
    external = tf.sub(d, "external_ids")
    first_aired = tf.date(d.get("first_air_date"))
    run_times = d.get("episode_run_time")
    runtimes = [m for m in map(tf.minutes, run_times if isinstance(run_times, list) else []) if m]
    country = certification_country or tf.country_of(language)
    return {
        **_header(
            "show", tmdb_id, tf.imdb_id(external.get("imdb_id")), tf.int_id(external.get("tvdb_id"))
        ),
        "title": tf.require_text(d, "name", f"show {tmdb_id}"),
        "original_title": tf.text(d.get("original_name")),
        "original_language": tf.text(d.get("original_language")),
        "year": tf.year(first_aired),
        "first_air_date": first_aired,
        "last_air_date": tf.date(d.get("last_air_date")),
        "status": tf.text(d.get("status")),
        "overview": tf.text(d.get("overview")),
        "tagline": tf.text(d.get("tagline")),
        "runtime": runtimes[0] if runtimes else None,
        "genres": tf.names(d.get("genres")),
        "networks": tf.names(d.get("networks")),
        "studios": tf.names(d.get("production_companies")),
        "certification": tp.show_certification(d, country),
        "rating": tf.rating(d),
        "cast": tp.cast(tf.sub(d, "credits").get("cast")),
        "creators": [
            {"name": name, "tmdb_id": tf.int_id(p.get("id")), "job": "Creator"}
            for p in tf.dicts(d.get("created_by"))
            if (name := tf.text(p.get("name")))
        ],
        "keywords": tf.names(tf.sub(d, "keywords").get("results")),
        "trailer": tp.trailer(tf.sub(d, "videos"), language),
        "seasons": tf.season_summaries(d.get("seasons")),
        "images": _artwork(d, tf.sub(d, "images"), language),
        **_provenance(language, fetched_at, version),
    }


def episode_document(
    show: Any,
    season: Any,
    episodes: int | Sequence[int],
    *,
    language: str = "en-US",
    fetched_at: datetime | None = None,
    version: str | None = None,
) -> Document:
    """The document for one episode *file*: ``episodes`` is its number, or several numbers
    for a multi-episode file (see the module docstring for the shape).

    ``show`` is the ``/tv/{id}`` answer, ``season`` the ``/tv/{id}/season/{n}`` answer.
    Raises ``TmdbBadResponse`` for a malformed answer and ``TmdbNotFound`` when the season
    has no such episode (the file name points at an episode TMDB does not know).
    """
    show_ref = _show_reference(tf.require_dict(show, "show"))
    season_d = tf.require_dict(season, f"show {show_ref['tmdb_id']} season")
    numbers = (episodes,) if isinstance(episodes, int) else tuple(episodes)
    if not numbers:
        raise ValueError("episode_document needs at least one episode number")
    raw = tf.find_episodes(season_d, numbers, show_ref["tmdb_id"])
    entries = [tf.episode_entry(e, n) for e, n in zip(raw, numbers, strict=True)]
    external = tf.sub(raw[0], "external_ids")
    return {
        **_header(
            "episode",
            entries[0]["tmdb_id"],
            tf.imdb_id(external.get("imdb_id")),
            tf.int_id(external.get("tvdb_id")),
        ),
        "show": show_ref,
        "season": tf.season_of(season_d, raw, show_ref["tmdb_id"]),
        "episode": numbers[0],
        **_as_one_file(entries),
        **_episode_people(raw),
        "episodes": entries,
        "images": {"still": next((e["still"] for e in entries if e["still"]), None)},
        **_provenance(language, fetched_at, version),
    }


def _show_reference(show: Mapping[str, Any]) -> Document:
    """What an episode document says about its show: enough to find the show again."""
    show_id = tf.require_id(show, "show")
    external = tf.sub(show, "external_ids")
    return {
        "tmdb_id": show_id,
        "title": tf.require_text(show, "name", f"show {show_id}"),
        "imdb_id": tf.imdb_id(external.get("imdb_id")),
        "tvdb_id": tf.int_id(external.get("tvdb_id")),
    }


def _as_one_file(entries: list[Document]) -> Document:
    """The fields a player shows for the file, from one or several episodes."""
    runtimes = [e["runtime"] for e in entries if e["runtime"]]
    return {
        "title": " / ".join(e["title"] for e in entries),
        "overview": "\n\n".join(e["overview"] for e in entries if e["overview"]) or None,
        "air_date": entries[0]["air_date"],
        "year": tf.year(entries[0]["air_date"]),
        "runtime": sum(runtimes) if runtimes else None,
        "rating": entries[0]["rating"],
    }


def _episode_people(raw: list[Mapping[str, Any]]) -> Document:
    guests = tp.merge_people(*(tp.cast(e.get("guest_stars")) for e in raw))
    return {
        "directors": tp.merge_people(*(tp.crew(e.get("crew"), jobs=["Director"]) for e in raw)),
        "writers": tp.merge_people(*(tp.crew(e.get("crew"), departments=["Writing"]) for e in raw)),
        "guest_stars": [{**person, "order": rank} for rank, person in enumerate(guests)],
    }


# --- validation and adoption ---------------------------------------------------------


@cache
def _validator() -> jsonschema.Draft202012Validator:
    """The schema, read and checked once per process, with its ``$defs`` inlined: resolving
    ``$ref`` was half the cost of a validation, and adoption validates every document."""
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(_inline_refs(schema, schema.get("$defs", {})))


def _inline_refs(node: Any, defs: Mapping[str, Any]) -> Any:
    """Replace local ``{"$ref": "#/$defs/x"}`` by the definition (the schema is not recursive)."""
    if isinstance(node, list):
        return [_inline_refs(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    inlined = {k: _inline_refs(v, defs) for k, v in node.items() if k != "$ref"}
    ref = node.get("$ref")
    if not (isinstance(ref, str) and ref.startswith("#/$defs/")):
        return inlined if ref is None else node
    target = _inline_refs(defs[ref.removeprefix("#/$defs/")], defs)
    return {"allOf": [target], **inlined} if inlined else target


def validate_document(doc: Any) -> None:
    """Raise ``jsonschema.ValidationError`` (the most relevant one) if ``doc`` is invalid."""
    validator = _validator()
    if validator.is_valid(doc):  # the fast path; best_match walks every error
        return
    error = jsonschema.exceptions.best_match(validator.iter_errors(doc))
    if error is not None:
        raise error


def is_valid_document(doc: Any) -> bool:
    return bool(_validator().is_valid(doc))


def load_valid_metadata(path: str | os.PathLike[str]) -> Document | None:
    """The document at ``path`` if it exists, parses and validates; None otherwise.

    The scanner uses this to adopt a library that already has metadata without asking
    TMDB; anything doubtful (unreadable, truncated, hand-edited into nonsense, another
    schema version) returns None so the item is simply fetched again.
    """
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_DOCUMENT_BYTES + 1)
        if len(raw) > MAX_DOCUMENT_BYTES:
            return None
        doc = json.loads(raw.decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return doc if isinstance(doc, dict) and is_valid_document(doc) else None


# --- pieces ---------------------------------------------------------------------------


def _header(kind: str, tmdb_id: int, imdb: str | None, tvdb: int | None) -> Document:
    return {
        "schema": SCHEMA_VERSION,
        "type": kind,
        "tmdb_id": tmdb_id,
        "imdb_id": imdb,
        "tvdb_id": tvdb,
    }


def _provenance(language: str, fetched_at: datetime | None, version: str | None) -> Document:
    """Where and when the data came from; injectable so tests and refreshes are reproducible."""
    when = fetched_at or datetime.now(UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return {
        "source": "tmdb",
        "language": language,
        "fetched_at": when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "scanarr_version": version or scanarr_version(),
    }


def scanarr_version() -> str:
    """The package version (``sidecar.__version__``), recorded in every document."""
    return __version__


def _artwork(details: Mapping[str, Any], images: Mapping[str, Any], language: str) -> Document:
    return {
        "poster": tp.pick_image(details.get("poster_path"), images.get("posters"), language),
        "backdrop": tp.pick_image(
            details.get("backdrop_path"), images.get("backdrops"), language, textless=True
        ),
    }
