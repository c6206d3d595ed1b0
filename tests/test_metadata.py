"""metadata.json documents: built from TMDB answers, valid against the shipped schema.

The samples in ``tests/data/tmdb_answers`` are shaped like real TMDB answers (The Matrix,
Game of Thrones) with the awkward parts TMDB really sends: billing order not matching list
order, an empty premiere certification, ``""``/``null``/``"xx"`` image languages, an empty
``air_date``, a null ``still_path``.  Sparse and malformed variants are derived from them.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from sidecar import metadata
from sidecar.errors import TmdbBadResponse, TmdbNotFound
from sidecar.metadata import (
    episode_document,
    load_valid_metadata,
    movie_document,
    show_document,
    validate_document,
)

DATA = Path(__file__).parent / "data" / "tmdb_answers"
WHEN = dt.datetime(2024, 5, 1, 12, 30, 15, tzinfo=dt.UTC)
JUNK: list[Any] = [None, "", 0, -3, True, [], {}, "junk", [None, 1, "x"], {"results": None}]


def answer(name: str) -> dict[str, Any]:
    return json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))


def movie(**overrides: Any) -> dict[str, Any]:
    return answer("movie_603") | overrides


def movie_doc(details: Any = None, **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("fetched_at", WHEN)
    kwargs.setdefault("version", "1.2.3")
    return movie_document(movie() if details is None else details, **kwargs)


def show_doc(details: Any = None, **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("fetched_at", WHEN)
    kwargs.setdefault("version", "1.2.3")
    return show_document(answer("tv_1399") if details is None else details, **kwargs)


def episode_doc(episodes: Any = 1, season: Any = None, show: Any = None) -> dict[str, Any]:
    return episode_document(
        answer("tv_1399") if show is None else show,
        answer("tv_1399_season_1") if season is None else season,
        episodes,
        fetched_at=WHEN,
        version="1.2.3",
    )


# --- movies -----------------------------------------------------------------------------


def test_movie_document_core_fields() -> None:
    doc = movie_doc()
    validate_document(doc)
    assert doc["schema"] == metadata.SCHEMA_VERSION == 1
    assert (doc["type"], doc["tmdb_id"], doc["imdb_id"], doc["tvdb_id"]) == (
        "movie", 603, "tt0133093", None)
    assert (doc["title"], doc["original_title"], doc["year"]) == ("The Matrix", "The Matrix", 1999)
    assert doc["release_date"] == "1999-03-31"
    assert doc["runtime"] == 136
    assert doc["tagline"] == "Welcome to the Real World."
    assert doc["genres"] == ["Action", "Science Fiction"]
    assert doc["studios"] == ["Village Roadshow Pictures", "Warner Bros. Pictures"]
    assert doc["rating"] == {"average": 8.2, "votes": 24000}
    assert doc["keywords"] == ["saving the world", "artificial intelligence (a.i.)"]  # deduped
    assert doc["alternative_titles"] == ["Matrix", "The Matrix 1"]
    assert doc["collection"] == {"tmdb_id": 2344, "name": "The Matrix Collection"}
    assert doc["images"] == {"poster": "/f89U3ADr1oiB1s9GkdPOEpXUk5H.jpg",
                             "backdrop": "/fNG7i7RqMErkcqhohV2a6cV1Ehy.jpg"}
    assert (doc["source"], doc["language"], doc["fetched_at"], doc["scanarr_version"]) == (
        "tmdb", "en-US", "2024-05-01T12:30:15Z", "1.2.3")


def test_cast_is_top_twenty_in_billing_order() -> None:
    cast = movie_doc()["cast"]
    assert len(cast) == 20
    assert [p["order"] for p in cast] == list(range(20))
    assert cast[0] == {"name": "Laurence Fishburne", "character": "Morpheus", "order": 0,
                       "tmdb_id": 2975, "profile": "/profile1.jpg"}
    assert cast[1]["name"] == "Keanu Reeves"
    assert cast[5]["character"] is None  # TMDB sends "" for an unnamed role
    assert cast[6]["profile"] is None


def test_directors_and_writers_once_each() -> None:
    doc = movie_doc()
    assert [(p["name"], p["tmdb_id"]) for p in doc["directors"]] == [
        ("Lana Wachowski", 9340), ("Lilly Wachowski", 9339)]  # nameless director dropped
    assert [p["name"] for p in doc["writers"]] == ["Lana Wachowski", "Lilly Wachowski"]


@pytest.mark.parametrize(
    ("country", "expected"),
    [("US", "R"), ("DE", "16"), ("FR", None)],  # never another country's rating
)
def test_certification_for_the_configured_country(country: str, expected: str | None) -> None:
    assert movie_doc(certification_country=country)["certification"] == expected


def test_certification_country_defaults_to_the_language_region() -> None:
    assert movie_doc(language="de-DE")["certification"] == "16"
    assert movie_doc(language="fr")["certification"] is None


def test_certification_prefers_theatrical_and_skips_empty() -> None:
    details = movie()
    details["release_dates"]["results"][1]["release_dates"].pop()  # drop the theatrical "R"
    assert movie_doc(details)["certification"] == "NR"


def test_certification_from_legacy_releases() -> None:
    details = movie(release_dates=None,
                    releases={"countries": [{"iso_3166_1": "US", "certification": "PG"}]})
    assert movie_doc(details)["certification"] == "PG"


def test_trailer_is_the_official_youtube_trailer() -> None:
    assert movie_doc()["trailer"] == {"site": "YouTube", "key": "vKQi3bBA1y8",
                                      "name": "The Matrix (1999) Official Trailer"}


def test_trailer_falls_back_to_teaser_and_rejects_odd_keys() -> None:
    details = movie()
    details["videos"]["results"] = [
        {"site": "YouTube", "type": "Trailer", "key": "bad key!", "name": "x"},
        {"site": "YouTube", "type": "Teaser", "key": "abc-DEF_123", "name": "Teaser"},
    ]
    assert movie_doc(details)["trailer"]["key"] == "abc-DEF_123"
    details["videos"]["results"] = details["videos"]["results"][:1]
    assert movie_doc(details)["trailer"] is None


def test_poster_falls_back_to_the_best_image_in_the_language() -> None:
    details = movie(poster_path=None, backdrop_path="")
    doc = movie_doc(details)
    assert doc["images"]["poster"] == "/poster_en_high.jpg"
    # backdrops: text-free first; null, "" and "xx" all mean "no text"; then by votes
    assert doc["images"]["backdrop"] == "/backdrop_xx.jpg"
    assert movie_doc(details, language="de-DE")["images"]["poster"] == "/poster_de.jpg"
    assert movie_doc(details, language="fr-FR")["images"]["poster"] == "/poster_textless.jpg"


def test_no_images_at_all() -> None:
    doc = movie_doc(movie(poster_path=None, backdrop_path=None, images=None))
    assert doc["images"] == {"poster": None, "backdrop": None}
    validate_document(doc)


def test_imdb_id_from_external_ids_when_details_lack_it() -> None:
    assert movie_doc(movie(imdb_id=""))["imdb_id"] == "tt0133093"
    details = movie(imdb_id=None, external_ids={"imdb_id": "not-an-id"})
    assert movie_doc(details)["imdb_id"] is None


def test_sparse_movie_is_a_valid_document() -> None:
    doc = movie_doc({"id": 42, "title": "Tiny"})
    validate_document(doc)
    assert doc["year"] is None and doc["release_date"] is None
    assert doc["cast"] == [] and doc["genres"] == [] and doc["rating"] is None
    assert doc["certification"] is None and doc["trailer"] is None and doc["collection"] is None


@pytest.mark.parametrize("key", sorted(answer("movie_603")))
def test_any_malformed_field_gives_a_valid_document_or_bad_response(key: str) -> None:
    """TMDB can send null, "" or the wrong type anywhere: never a crash, never an invalid doc."""
    for junk in JUNK:
        details = movie(**{key: copy.deepcopy(junk)})
        try:
            doc = movie_doc(details)
        except TmdbBadResponse:
            assert key in ("id", "title")
            continue
        validate_document(doc)


@pytest.mark.parametrize("details", [{"title": "No id"}, {"id": None, "title": "x"},
                                     {"id": "abc", "title": "x"}, {"id": 0, "title": "x"}])
def test_movie_without_id_is_a_bad_response(details: dict[str, Any]) -> None:
    with pytest.raises(TmdbBadResponse, match="missing id"):
        movie_doc(details)


@pytest.mark.parametrize("title", [None, "", "   "])
def test_movie_without_title_is_a_bad_response(title: Any) -> None:
    with pytest.raises(TmdbBadResponse, match="missing title"):
        movie_doc({"id": 1, "title": title})


@pytest.mark.parametrize("details", [None, [], "html error page", 42])
def test_non_object_answer_is_a_bad_response(details: Any) -> None:
    with pytest.raises(TmdbBadResponse):
        movie_document(details)
    with pytest.raises(TmdbBadResponse):
        show_document(details)


def test_unsafe_characters_are_removed() -> None:
    doc = movie_doc({"id": 1, "title": "Bad\x00 \x1bTitle\ud800", "overview": "\x07"})
    assert doc["title"] == "Bad Title"
    assert doc["overview"] is None
    json.dumps(doc, ensure_ascii=False).encode("utf-8")  # lone surrogates would fail here


def test_dates_must_be_real() -> None:
    assert movie_doc({"id": 1, "title": "x", "release_date": "1999-02-30"})["year"] is None
    assert movie_doc({"id": 1, "title": "x", "release_date": "0000-01-01"})["year"] is None


def test_fetched_at_is_utc() -> None:
    naive = dt.datetime(2024, 1, 2, 3, 4, 5)
    assert movie_doc(fetched_at=naive)["fetched_at"] == "2024-01-02T03:04:05Z"
    paris = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert movie_doc(fetched_at=paris)["fetched_at"] == "2024-01-02T02:04:05Z"
    now = movie_document(movie())
    validate_document(now)
    assert now["scanarr_version"]


# --- shows --------------------------------------------------------------------------------


def test_show_document() -> None:
    doc = show_doc()
    validate_document(doc)
    assert (doc["type"], doc["tmdb_id"], doc["imdb_id"], doc["tvdb_id"]) == (
        "show", 1399, "tt0944947", 121361)
    assert (doc["title"], doc["year"], doc["first_air_date"]) == ("Game of Thrones", 2011,
                                                                  "2011-04-17")
    assert doc["certification"] == "TV-MA"
    assert doc["networks"] == ["HBO"]
    assert [c["name"] for c in doc["creators"]] == ["David Benioff", "D. B. Weiss"]
    assert doc["runtime"] is None  # episode_run_time: [] is common nowadays
    assert doc["keywords"] == ["based on novel or book", "dragon"]
    assert doc["trailer"]["key"] == "BpJYNVhGf1s"
    assert [(s["season"], s["poster"]) for s in doc["seasons"]] == [
        (0, "/kMTcwNRfFKCZ0O2OaBZS0nZ2AIe.jpg"), (1, "/wgfKiqzuMrFIkU1M68DDDY8kGC1.jpg"),
        (2, "/9xmdxOlVM1QQwjD8nWqjDXVZGmy.jpg")]
    assert doc["images"]["poster"] == "/1XS1oqL89opfnbLl8WnZY1O1uJx.jpg"


def test_show_without_name_or_id() -> None:
    with pytest.raises(TmdbBadResponse, match="missing name"):
        show_doc({"id": 5})
    with pytest.raises(TmdbBadResponse, match="missing id"):
        show_doc({"name": "Nameless"})


@pytest.mark.parametrize("key", sorted(answer("tv_1399")))
def test_any_malformed_show_field(key: str) -> None:
    for junk in JUNK:
        try:
            doc = show_doc(answer("tv_1399") | {key: copy.deepcopy(junk)})
        except TmdbBadResponse:
            assert key in ("id", "name")
            continue
        validate_document(doc)


# --- episodes -------------------------------------------------------------------------------


def test_episode_document() -> None:
    doc = episode_doc(1)
    validate_document(doc)
    assert doc["type"] == "episode"
    assert doc["show"] == {"tmdb_id": 1399, "title": "Game of Thrones", "imdb_id": "tt0944947",
                           "tvdb_id": 121361}
    assert (doc["season"], doc["episode"], doc["tmdb_id"]) == (1, 1, 63056)
    assert (doc["title"], doc["air_date"], doc["runtime"]) == ("Winter Is Coming", "2011-04-17",
                                                               62)
    assert doc["images"] == {"still": "/9hGF3WUkBf7cSjMg0cdMDHJkByd.jpg"}
    assert [p["name"] for p in doc["directors"]] == ["Tim Van Patten"]
    assert [p["name"] for p in doc["writers"]] == ["David Benioff", "D. B. Weiss"]
    assert [p["name"] for p in doc["guest_stars"]] == ["Susan Brown"]
    assert len(doc["episodes"]) == 1 and doc["episodes"][0]["episode"] == 1


def test_multi_episode_file_is_one_document() -> None:
    doc = episode_doc([1, 2])
    validate_document(doc)
    assert doc["episode"] == 1
    assert [e["episode"] for e in doc["episodes"]] == [1, 2]
    assert [e["tmdb_id"] for e in doc["episodes"]] == [63056, 63057]
    assert doc["title"] == "Winter Is Coming / The Kingsroad"
    assert doc["runtime"] == 62 + 56
    assert doc["overview"] == "Overview of Winter Is Coming.\n\nOverview of The Kingsroad."
    assert [p["name"] for p in doc["guest_stars"]] == ["Susan Brown", "Guest Two"]
    assert [p["order"] for p in doc["guest_stars"]] == [0, 1]
    assert [p["name"] for p in doc["writers"]] == ["David Benioff", "D. B. Weiss"]  # once each


def test_episode_with_empty_air_date_and_no_still() -> None:
    doc = episode_doc(3)
    validate_document(doc)
    assert doc["air_date"] is None and doc["year"] is None
    assert doc["images"] == {"still": None}
    assert doc["runtime"] is None


def test_specials_season() -> None:
    doc = episode_doc(1, season=answer("tv_1399_season_0"))
    validate_document(doc)
    assert (doc["season"], doc["episode"], doc["title"]) == (0, 1, "Inside Game of Thrones")


def test_untitled_episode_gets_a_placeholder_title() -> None:
    season = answer("tv_1399_season_1")
    season["episodes"][0]["name"] = ""
    assert episode_doc(1, season=season)["title"] == "Episode 1"


def test_episode_external_ids_when_present() -> None:
    season = answer("tv_1399_season_1")
    season["episodes"][0]["external_ids"] = {"imdb_id": "tt1480055", "tvdb_id": 3254641}
    doc = episode_doc(1, season=season)
    assert (doc["imdb_id"], doc["tvdb_id"]) == ("tt1480055", 3254641)


def test_unknown_episode_is_not_found() -> None:
    with pytest.raises(TmdbNotFound, match="no episode 99"):
        episode_doc([1, 99])


def test_episode_without_id_is_a_bad_response() -> None:
    season = answer("tv_1399_season_1")
    del season["episodes"][0]["id"]
    with pytest.raises(TmdbBadResponse, match="missing id"):
        episode_doc(1, season=season)


def test_season_number_from_episodes_or_bad_response() -> None:
    season = answer("tv_1399_season_1")
    del season["season_number"]
    assert episode_doc(1, season=season)["season"] == 1
    for entry in season["episodes"]:
        del entry["season_number"]
    with pytest.raises(TmdbBadResponse, match="season_number"):
        episode_doc(1, season=season)


@pytest.mark.parametrize("season", [None, "x", {"episodes": None}, {"episodes": [None, 3]}])
def test_malformed_season(season: Any) -> None:
    with pytest.raises((TmdbBadResponse, TmdbNotFound)):
        episode_document(answer("tv_1399"), season, 1)


def test_no_episode_numbers() -> None:
    with pytest.raises(ValueError):
        episode_doc([])


@pytest.mark.parametrize("key", sorted(answer("tv_1399_season_1")["episodes"][0]))
def test_any_malformed_episode_field(key: str) -> None:
    for junk in JUNK:
        season = answer("tv_1399_season_1")
        season["episodes"][0][key] = copy.deepcopy(junk)
        try:
            doc = episode_doc(1, season=season)
        except (TmdbBadResponse, TmdbNotFound):
            assert key in ("id", "episode_number")
            continue
        validate_document(doc)


# --- the schema and adoption -------------------------------------------------------------------


@pytest.mark.parametrize(
    "breakage",
    [
        lambda d: d.pop("tmdb_id"),
        lambda d: d.update(tmdb_id="603"),
        lambda d: d.update(imdb_id="0133093"),
        lambda d: d.update(schema=2),
        lambda d: d.update(type="album"),
        lambda d: d.update(title=""),
        lambda d: d.update(year="1999"),
        lambda d: d.update(release_date="31/03/1999"),
        lambda d: d.update(fetched_at="yesterday"),
        lambda d: d.pop("cast"),
        lambda d: d["cast"][0].pop("name"),
        lambda d: d.update(rating={"average": 11, "votes": 1}),
        lambda d: d.update(images={"poster": "poster.jpg"}),
    ],
)
def test_schema_rejects_broken_movie_documents(breakage: Any) -> None:
    doc = movie_doc()
    breakage(doc)
    with pytest.raises(jsonschema.ValidationError):
        validate_document(doc)
    assert not raw_schema_validator().is_valid(doc)  # the inlined copy agrees with the file


def raw_schema_validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads(metadata.SCHEMA_PATH.read_text("utf-8")))


def test_generated_documents_pass_the_schema_file_as_written() -> None:
    for doc in (movie_doc(), show_doc(), episode_doc([1, 2]), movie_doc({"id": 1, "title": "x"})):
        raw_schema_validator().validate(doc)


def test_schema_rejects_broken_episode_documents() -> None:
    for breakage in (lambda d: d.update(episodes=[]), lambda d: d.pop("show"),
                     lambda d: d.update(season=-1), lambda d: d["show"].pop("tmdb_id")):
        doc = episode_doc(1)
        breakage(doc)
        with pytest.raises(jsonschema.ValidationError):
            validate_document(doc)


def test_schema_file_is_a_valid_draft_2020_12_schema() -> None:
    schema = json.loads(metadata.SCHEMA_PATH.read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def test_load_valid_metadata(tmp_path: Path) -> None:
    path = tmp_path / "metadata.json"
    path.write_text(json.dumps(movie_doc()), encoding="utf-8")
    assert load_valid_metadata(path) == movie_doc()
    assert load_valid_metadata(str(path)) == movie_doc()


@pytest.mark.parametrize(
    "content",
    [b"", b"{", b'{"schema": 1}', b"[]", b"\xff\xfe not utf-8", b"null",
     json.dumps({"schema": 1, "type": "movie", "tmdb_id": 1}).encode()],
)
def test_load_valid_metadata_refuses_doubtful_files(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "metadata.json"
    path.write_bytes(content)
    assert load_valid_metadata(path) is None


def test_load_valid_metadata_missing_truncated_or_huge(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_valid_metadata(tmp_path / "nope.json") is None
    assert load_valid_metadata(tmp_path) is None  # a directory
    full = json.dumps(episode_doc([1, 2])).encode()
    (tmp_path / "cut.json").write_bytes(full[: len(full) // 2])
    assert load_valid_metadata(tmp_path / "cut.json") is None
    (tmp_path / "ok.json").write_bytes(full)
    monkeypatch.setattr(metadata, "MAX_DOCUMENT_BYTES", len(full) - 1)
    assert load_valid_metadata(tmp_path / "ok.json") is None


# --- the team's fake TMDB answers build valid documents too --------------------------------------


def test_fake_tmdb_payloads_build_valid_documents() -> None:
    payloads = pytest.importorskip("tests.fakes.tmdb_payloads")
    catalog = pytest.importorskip("tests.fakes.tmdb_catalog")
    params = {"language": "en-US", "include_image_language": "en,null"}
    movie_appends = ["credits", "videos", "images", "release_dates", "external_ids", "keywords",
                     "alternative_titles"]
    show_appends = ["credits", "images", "external_ids", "content_ratings", "keywords", "videos"]
    for i in range(1, 6):
        entry = catalog.MovieEntry(id=1000 + i, title=f"Film {i}", year=1990 + i)
        validate_document(movie_doc(payloads.movie_details(entry, movie_appends, params)))
        show = catalog.ShowEntry(id=2000 + i, name=f"Show {i}", year=2000 + i,
                                 seasons={0: 2, 1: 3})
        details = payloads.show_details(show, show_appends, params)
        validate_document(show_doc(details))
        for number in (0, 1):
            season = payloads.season(show, number)
            validate_document(episode_doc([1, 2], season=season, show=details))
