"""The fake TMDB server itself: real HTTP on 127.0.0.1, so other tests can trust it."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.fakes.fake_clock import FakeClock
from tests.fakes.fake_tmdb import (
    DEFAULT_API_KEY,
    DEFAULT_BEARER_TOKEN,
    FakeTmdb,
    running_fake_tmdb,
)
from tests.fakes.tmdb_catalog import AMBIGUOUS_CATALOG, Catalog, normalize
from tests.fakes.tmdb_process import FakeTmdbProcess
from tests.fakes.tmdb_traffic import RollingWindowLimiter, max_in_window

INVALID_KEY_BODY = {
    "status_code": 7,
    "status_message": "Invalid API key: You must be granted a valid key.",
    "success": False,
}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def tmdb(clock: FakeClock) -> Iterator[FakeTmdb]:
    with running_fake_tmdb(clock=clock) as fake:
        yield fake


@pytest.fixture
def catalog_tmdb() -> Iterator[FakeTmdb]:
    with running_fake_tmdb(catalog=AMBIGUOUS_CATALOG, auto=False) as fake:
        yield fake


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def api(http: requests.Session, fake: FakeTmdb, path: str, **params: Any) -> requests.Response:
    return http.get(f"{fake.url}{path}", params={"api_key": fake.api_key, **params}, timeout=5)


def jpeg_size(data: bytes) -> tuple[int, int]:
    """Walk the JPEG segments (SOI .. SOS .. EOI) and return (width, height) from SOF0."""
    assert data[:2] == b"\xff\xd8" and data[-2:] == b"\xff\xd9"
    pos, size = 2, None
    while data[pos] == 0xFF and data[pos + 1] != 0xDA:
        marker, length = data[pos + 1], int.from_bytes(data[pos + 2 : pos + 4], "big")
        if marker == 0xC0:
            height = int.from_bytes(data[pos + 5 : pos + 7], "big")
            size = (int.from_bytes(data[pos + 7 : pos + 9], "big"), height)
        pos += 2 + length
    assert data[pos + 1] == 0xDA and size is not None
    return size


# --- auth ---------------------------------------------------------------------------------


def test_missing_or_wrong_key_is_401_with_tmdb_body(tmdb: FakeTmdb, http: requests.Session) -> None:
    for params in ({}, {"api_key": "nope"}):
        r = http.get(f"{tmdb.url}/configuration", params=params, timeout=5)
        assert r.status_code == 401
        assert r.json() == INVALID_KEY_BODY


def test_api_key_and_bearer_token_both_work(tmdb: FakeTmdb, http: requests.Session) -> None:
    assert tmdb.api_key == DEFAULT_API_KEY
    assert api(http, tmdb, "/configuration").status_code == 200
    bearer = {"Authorization": f"Bearer {DEFAULT_BEARER_TOKEN}"}
    assert http.get(f"{tmdb.url}/configuration", headers=bearer, timeout=5).status_code == 200
    assert [r["auth"] for r in tmdb.requests()] == ["api_key", "bearer"]


def test_key_can_be_revoked_and_restored_at_runtime(tmdb: FakeTmdb, http: requests.Session) -> None:
    assert api(http, tmdb, "/movie/603").status_code == 200
    tmdb.revoke_key()
    assert api(http, tmdb, "/movie/603").json() == INVALID_KEY_BODY
    http.post(f"{tmdb.root_url}/_control", json={"revoke_key": False}, timeout=5)
    assert api(http, tmdb, "/movie/603").status_code == 200


def test_custom_keys_replace_the_defaults(http: requests.Session) -> None:
    with running_fake_tmdb(api_keys=["k1"]) as fake:
        assert api(http, fake, "/configuration").status_code == 200
        bad = http.get(f"{fake.url}/configuration", params={"api_key": DEFAULT_API_KEY}, timeout=5)
        assert bad.status_code == 401


# --- auto catalog -------------------------------------------------------------------------


def test_auto_search_then_details_agree_on_id_title_and_year(
    tmdb: FakeTmdb, http: requests.Session
) -> None:
    hit = api(http, tmdb, "/search/movie", query="the matrix", primary_release_year=1999).json()
    assert hit["total_results"] == 1
    movie = hit["results"][0]
    assert (movie["title"], movie["release_date"]) == ("The Matrix", "1999-06-15")
    again = api(http, tmdb, "/search/movie", query="The  Matrix", primary_release_year=1999)
    assert again.json()["results"][0]["id"] == movie["id"]
    details = api(http, tmdb, f"/movie/{movie['id']}").json()
    assert (details["id"], details["title"], details["release_date"]) == (
        movie["id"], "The Matrix", "1999-06-15")
    found = api(http, tmdb, f"/find/{details['imdb_id']}", external_source="imdb_id").json()
    assert [m["id"] for m in found["movie_results"]] == [movie["id"]]


def test_auto_ids_are_stable_across_servers_and_differ_by_year() -> None:
    first, second = Catalog(), Catalog()
    a = first.search_movies("Heat", 1995)[0]
    assert second.search_movies("heat", 1995)[0].id == a.id
    assert first.search_movies("Heat", 1986)[0].id != a.id
    assert 1 <= a.id <= 9_999_999
    assert first.search_movies("Heat", None)[0].year in (1995, 1986)  # registry wins


def test_auto_tv_search_details_and_seasons(tmdb: FakeTmdb, http: requests.Session) -> None:
    show = api(http, tmdb, "/search/tv", query="some show", first_air_date_year=2010).json()
    show_id = show["results"][0]["id"]
    assert show["results"][0]["name"] == "Some Show"
    details = api(http, tmdb, f"/tv/{show_id}", append_to_response="external_ids").json()
    assert details["name"] == "Some Show" and details["first_air_date"].startswith("2010")
    found = api(http, tmdb, f"/find/{details['external_ids']['tvdb_id']}",
                external_source="tvdb_id").json()
    assert [s["id"] for s in found["tv_results"]] == [show_id]
    season = api(http, tmdb, f"/tv/{show_id}/season/3").json()
    assert len(season["episodes"]) == 30 and season["season_number"] == 3


def test_unknown_id_in_auto_mode_is_synthesised(tmdb: FakeTmdb, http: requests.Session) -> None:
    body = api(http, tmdb, "/movie/4242").json()
    assert body["title"] == "Movie 4242" and body["imdb_id"] == "tt0004242"


def test_decoys_come_after_the_real_match(http: requests.Session) -> None:
    with running_fake_tmdb(decoys=2) as fake:
        results = api(http, fake, "/search/movie", query="Heat", year=1995).json()["results"]
    assert [r["title"] for r in results] == ["Heat", "The Making of Heat", "Heat II"]


# --- explicit catalog ---------------------------------------------------------------------


def _titles(r: requests.Response) -> list[tuple[int, str, str]]:
    return [(m["id"], m["title"], m["release_date"][:4]) for m in r.json()["results"]]


def test_catalog_same_title_two_years(catalog_tmdb: FakeTmdb, http: requests.Session) -> None:
    both = api(http, catalog_tmdb, "/search/movie", query="Robocop")
    assert _titles(both)[:2] == [(5548, "RoboCop", "1987"), (97020, "RoboCop", "2014")]
    only = api(http, catalog_tmdb, "/search/movie", query="robocop", primary_release_year=2014)
    assert _titles(only) == [(97020, "RoboCop", "2014")]


def test_catalog_title_inside_a_more_popular_title(
    catalog_tmdb: FakeTmdb, http: requests.Session
) -> None:
    hits = _titles(api(http, catalog_tmdb, "/search/movie", query="Darkness"))
    assert [h[1] for h in hits] == ["Army of Darkness", "Darkness"]  # popularity first


def test_catalog_alternative_and_accented_titles(
    catalog_tmdb: FakeTmdb, http: requests.Session
) -> None:
    assert _titles(api(http, catalog_tmdb, "/search/movie", query="A New Hope"))[0][0] == 11
    amelie = api(http, catalog_tmdb, "/search/movie", query="amelie", year=2001).json()
    assert amelie["results"][0]["original_title"] == "Le Fabuleux Destin d'Amélie Poulain"
    assert normalize("Amélie!") == "amelie"


def test_catalog_only_mode_has_no_synthesis(catalog_tmdb: FakeTmdb, http: requests.Session) -> None:
    assert api(http, catalog_tmdb, "/search/movie", query="Zzyzx Road").json()["results"] == []
    missing = api(http, catalog_tmdb, "/movie/123456")
    assert missing.status_code == 404 and missing.json()["status_code"] == 34


def test_catalog_shows_and_find(catalog_tmdb: FakeTmdb, http: requests.Session) -> None:
    offices = api(http, catalog_tmdb, "/search/tv", query="The Office").json()["results"]
    assert [(s["id"], s["first_air_date"][:4]) for s in offices] == [(2316, "2005"), (2996, "2001")]
    by_tvdb = api(http, catalog_tmdb, "/find/78107", external_source="tvdb_id").json()
    assert [s["id"] for s in by_tvdb["tv_results"]] == [2996]
    by_imdb = api(http, catalog_tmdb, "/find/tt0093870", external_source="imdb_id").json()
    assert [m["id"] for m in by_imdb["movie_results"]] == [5548]
    season = api(http, catalog_tmdb, "/tv/2996/season/2").json()
    assert len(season["episodes"]) == 6
    assert api(http, catalog_tmdb, "/tv/2996/season/3").status_code == 404


def test_catalog_can_be_loaded_at_runtime(tmdb: FakeTmdb, http: requests.Session) -> None:
    entry = {"id": 77, "title": "Runtime Entry", "year": 2001}
    tmdb.configure(catalog={"movies": [entry]})
    assert api(http, tmdb, "/movie/77").json()["title"] == "Runtime Entry"


# --- details and appends ------------------------------------------------------------------

MOVIE_APPENDS = "credits,videos,images,release_dates,external_ids,keywords,alternative_titles"


def test_movie_appends_have_tmdb_shapes(catalog_tmdb: FakeTmdb, http: requests.Session) -> None:
    body = api(http, catalog_tmdb, "/movie/766", append_to_response=MOVIE_APPENDS).json()
    cast = body["credits"]["cast"][0]
    assert {"name", "character", "profile_path", "order"} <= cast.keys()
    assert any(c["job"] == "Director" for c in body["credits"]["crew"])
    poster = body["images"]["posters"][0]
    assert {"file_path", "iso_639_1", "vote_average", "width", "height"} <= poster.keys()
    assert poster["file_path"] == body["poster_path"]
    dates = body["release_dates"]["results"][0]["release_dates"][0]
    assert dates["certification"] in ("G", "PG", "PG-13", "R")
    assert body["external_ids"]["imdb_id"] == "tt0106308" == body["imdb_id"]
    assert body["keywords"]["keywords"] and body["videos"]["results"][0]["site"] == "YouTube"
    assert {t["title"] for t in body["alternative_titles"]["titles"]} >= {"Evil Dead 3"}


def test_image_language_filters_appended_images(tmdb: FakeTmdb, http: requests.Session) -> None:
    body = api(http, tmdb, "/movie/603", append_to_response="images", language="en-US",
               include_image_language="en,null").json()
    assert {p["iso_639_1"] for p in body["images"]["posters"]} == {"en", None}


def test_tv_appends_include_seasons(tmdb: FakeTmdb, http: requests.Session) -> None:
    appends = "credits,images,external_ids,content_ratings,keywords,videos,season/1,season/2"
    body = api(http, tmdb, "/tv/1399", append_to_response=appends + ",season/99").json()
    episode = body["season/2"]["episodes"][0]
    assert {"id", "episode_number", "season_number", "name", "overview", "air_date",
            "still_path", "runtime", "vote_average"} <= episode.keys()
    assert (episode["season_number"], episode["episode_number"]) == (2, 1)
    assert "season/99" not in body  # TMDB leaves out seasons that do not exist
    assert body["external_ids"]["tvdb_id"] and body["content_ratings"]["results"]
    assert body["keywords"]["results"] and body["credits"]["cast"]


def test_season_endpoint_matches_the_append(tmdb: FakeTmdb, http: requests.Session) -> None:
    appended = api(http, tmdb, "/tv/1399", append_to_response="season/1").json()["season/1"]
    assert api(http, tmdb, "/tv/1399/season/1").json() == appended


def test_more_than_20_appends_is_400_code_27(tmdb: FakeTmdb, http: requests.Session) -> None:
    twenty = ",".join(f"season/{n}" for n in range(1, 21))
    assert api(http, tmdb, "/tv/1399", append_to_response=twenty).status_code == 200
    r = api(http, tmdb, "/tv/1399", append_to_response=twenty + ",credits")
    assert r.status_code == 400 and r.json()["status_code"] == 27
    r = api(http, tmdb, "/movie/1", append_to_response=",".join(["credits"] * 21))
    assert r.status_code == 400 and r.json()["status_code"] == 27


def test_unknown_path_is_404_code_34(tmdb: FakeTmdb, http: requests.Session) -> None:
    r = api(http, tmdb, "/nothing/here")
    assert r.status_code == 404
    assert r.json() == {"status_code": 34, "success": False,
                        "status_message": "The resource you requested could not be found."}


def test_bad_page_is_400_code_22(tmdb: FakeTmdb, http: requests.Session) -> None:
    r = api(http, tmdb, "/search/movie", query="x", page=501)
    assert r.status_code == 400 and r.json()["status_code"] == 22


# --- ETag ---------------------------------------------------------------------------------


def test_etag_and_if_none_match(tmdb: FakeTmdb, http: requests.Session) -> None:
    first = api(http, tmdb, "/movie/603")
    etag = first.headers["ETag"]
    assert etag.startswith('W/"')
    cached = http.get(f"{tmdb.url}/movie/603", params={"api_key": tmdb.api_key},
                      headers={"If-None-Match": etag}, timeout=5)
    assert cached.status_code == 304 and cached.content == b""
    stale = http.get(f"{tmdb.url}/movie/603", params={"api_key": tmdb.api_key},
                     headers={"If-None-Match": 'W/"other"'}, timeout=5)
    assert stale.status_code == 200 and stale.headers["ETag"] == etag
    tmdb.configure(etag=False)
    assert "ETag" not in api(http, tmdb, "/movie/603").headers


# --- rate limit ---------------------------------------------------------------------------


def test_41st_request_in_the_window_is_429(
    tmdb: FakeTmdb, http: requests.Session, clock: FakeClock
) -> None:
    statuses = [api(http, tmdb, "/configuration").status_code for _ in range(41)]
    assert statuses == [200] * 40 + [429]
    refused = api(http, tmdb, "/configuration")
    assert refused.json()["status_code"] == 25 and refused.headers["Retry-After"] == "10"
    clock.advance(10.001)
    assert api(http, tmdb, "/configuration").status_code == 200


def test_window_is_rolling_not_fixed(http: requests.Session, clock: FakeClock) -> None:
    with running_fake_tmdb(clock=clock, rate_limit=5, rate_window=1.0) as fake:
        for _ in range(3):
            assert api(http, fake, "/configuration").status_code == 200
        clock.advance(0.6)
        assert [api(http, fake, "/configuration").status_code for _ in range(3)] == [200, 200, 429]
        clock.advance(0.5)  # the first three left the window, the later two did not
        statuses = [api(http, fake, "/configuration").status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]


def test_retry_after_fixed_or_omitted(http: requests.Session, clock: FakeClock) -> None:
    with running_fake_tmdb(clock=clock, rate_limit=1, retry_after=7) as fake:
        api(http, fake, "/configuration")
        assert api(http, fake, "/configuration").headers["Retry-After"] == "7"
        fake.configure(retry_after_header=False)
        r = api(http, fake, "/configuration")
        assert r.status_code == 429 and "Retry-After" not in r.headers


def test_limit_is_shared_by_concurrent_clients(clock: FakeClock) -> None:
    statuses: list[int] = []
    with running_fake_tmdb(clock=clock, rate_limit=10) as fake:

        def client() -> None:
            with requests.Session() as s:
                statuses.extend(api(s, fake, "/configuration").status_code for _ in range(10))

        threads = [threading.Thread(target=client) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        stats = fake.stats()
    assert sorted(statuses) == [200] * 10 + [429] * 30
    assert stats["rate_limited"] == 30 and stats["max_in_window_admitted"] == 10
    assert stats["max_in_window"] == 40 and stats["connections_opened"] == 4


def test_limiter_reports_wait_until_a_slot_frees() -> None:
    limiter = RollingWindowLimiter()
    assert limiter.admit(0.0, 2, 10.0) is None and limiter.admit(4.0, 2, 10.0) is None
    assert limiter.admit(5.0, 2, 10.0) == pytest.approx(5.0)
    assert limiter.admit(10.0, 2, 10.0) is None  # t=0 has just left the window


# --- stats and request log ----------------------------------------------------------------


def test_max_in_window_counts_any_rolling_window() -> None:
    times = [0.0, 0.2, 0.4, 1.1, 1.15, 1.3, 5.0]
    assert max_in_window(times, 1.0) == 4  # (0.3, 1.3]
    assert max_in_window(times, 0.1) == 2
    assert max_in_window([], 1.0) == 0


def test_stats_counts_kinds_statuses_and_window(
    tmdb: FakeTmdb, http: requests.Session, clock: FakeClock
) -> None:
    api(http, tmdb, "/configuration")
    api(http, tmdb, "/search/movie", query="x")
    api(http, tmdb, "/search/tv", query="x")
    clock.advance(11)
    for path in ("/movie/1", "/tv/1", "/tv/1/season/1", "/find/tt1", "/nope"):
        api(http, tmdb, path, external_source="imdb_id")
    http.get(f"{tmdb.image_url}w92/a.jpg", timeout=5)
    stats = json.loads(http.get(f"{tmdb.root_url}/_stats", timeout=5).content)
    assert stats == tmdb.stats()
    assert stats["api_requests"] == 8 and stats["image_requests"] == 1
    assert stats["by_kind"] == {"configuration": 1, "search_movie": 1, "search_tv": 1,
                                "movie": 1, "tv": 1, "season": 1, "find": 1, "other": 1}
    assert stats["statuses"] == {"200": 7, "404": 1} and stats["image_statuses"] == {"200": 1}
    assert stats["max_in_window"] == 5 and stats["window_s"] == 10.0
    assert tmdb.stats(window=100)["max_in_window"] == 8


def test_request_log_hides_the_key(tmdb: FakeTmdb, http: requests.Session) -> None:
    api(http, tmdb, "/search/movie", query="heat", year=1995)
    http.get(f"{tmdb.url}/movie/1", headers={"Authorization": "Bearer secret"}, timeout=5)
    log = http.get(f"{tmdb.root_url}/_requests", timeout=5).json()["requests"]
    assert log[0]["query"] == {"query": "heat", "year": "1995"}
    assert log[0]["kind"] == "search_movie" and log[0]["status"] == 200
    assert log[1]["headers"]["authorization"] == "Bearer ***" and log[1]["status"] == 401
    assert "secret" not in json.dumps(log) and tmdb.api_key not in json.dumps(log)
    assert [r["seq"] for r in tmdb.requests(since=1)] == [2]


def test_reset_restores_construction_settings(tmdb: FakeTmdb, http: requests.Session) -> None:
    tmdb.configure(error_rate=1.0, revoke_key=True, force_429_count=5)
    api(http, tmdb, "/configuration")
    http.post(f"{tmdb.root_url}/_reset", timeout=5)
    assert tmdb.stats()["api_requests"] == 0
    assert api(http, tmdb, "/configuration").status_code == 200


def test_control_rejects_unknown_or_invalid_settings(
    tmdb: FakeTmdb, http: requests.Session
) -> None:
    for bad in ({"no_such_knob": 1}, {"error_rate": 2}, {"garbage_kinds": ["bogus"]}):
        r = http.post(f"{tmdb.root_url}/_control", json=bad, timeout=5)
        assert r.status_code == 400 and "error" in r.json()
    with pytest.raises(ValueError):
        FakeTmdb(down_mode="sideways")


# --- fault injection ----------------------------------------------------------------------


def test_error_rate_answers_5xx_with_tmdb_bodies(tmdb: FakeTmdb, http: requests.Session) -> None:
    tmdb.configure(error_rate=1.0, error_statuses=[503])
    r = api(http, tmdb, "/configuration")
    assert r.status_code == 503 and r.json()["status_code"] == 9
    tmdb.configure(error_statuses=[500, 502, 504])
    assert {api(http, tmdb, "/configuration").status_code for _ in range(30)} == {500, 502, 504}


def test_faults_are_reproducible_with_a_seed(http: requests.Session) -> None:
    runs = []
    for _ in range(2):
        with running_fake_tmdb(seed=42, error_rate=0.5, rate_limit=0) as fake:
            runs.append([api(http, fake, "/configuration").status_code for _ in range(20)])
    assert runs[0] == runs[1] and 200 in runs[0] and len(set(runs[0])) > 1


def test_slow_answers_trigger_client_timeouts(http: requests.Session) -> None:
    with running_fake_tmdb(slow_rate=1.0, slow_s=0.5) as fake:
        with pytest.raises(requests.Timeout):
            http.get(f"{fake.url}/configuration", params={"api_key": fake.api_key}, timeout=0.1)
        fake.configure(slow_rate=0.0)
        assert api(http, fake, "/configuration").status_code == 200


def test_latency_delays_answers(http: requests.Session) -> None:
    with running_fake_tmdb(latency_ms=60) as fake:
        start = time.monotonic()
        api(http, fake, "/configuration")
        assert time.monotonic() - start >= 0.06


@pytest.mark.parametrize("kind", ["invalid_json", "truncated_json", "html"])
def test_garbage_bodies(kind: str, tmdb: FakeTmdb, http: requests.Session) -> None:
    tmdb.configure(garbage_rate=1.0, garbage_kinds=[kind])
    r = api(http, tmdb, "/movie/603")
    assert r.status_code == 200
    with pytest.raises(ValueError):
        json.loads(r.content)
    expected_type = "text/html" if kind == "html" else "application/json"
    assert r.headers["Content-Type"].startswith(expected_type)
    assert tmdb.requests()[-1]["fault"] == f"garbage:{kind}"


def test_forced_429_for_next_n_requests(tmdb: FakeTmdb, http: requests.Session) -> None:
    tmdb.force_429(count=3)
    statuses = [api(http, tmdb, "/configuration").status_code for _ in range(4)]
    assert statuses == [429, 429, 429, 200]


def test_forced_429_for_a_time_with_or_without_retry_after(
    tmdb: FakeTmdb, http: requests.Session, clock: FakeClock
) -> None:
    tmdb.configure(force_429_for=5.0)
    r = api(http, tmdb, "/configuration")
    assert r.status_code == 429 and r.headers["Retry-After"] == "5"
    tmdb.configure(retry_after_header=False)
    assert "Retry-After" not in api(http, tmdb, "/configuration").headers
    clock.advance(5.0)
    assert api(http, tmdb, "/configuration").status_code == 200


def test_down_refuse_closes_the_port_and_cuts_connections(
    tmdb: FakeTmdb, http: requests.Session
) -> None:
    assert api(http, tmdb, "/configuration").status_code == 200
    http.post(f"{tmdb.root_url}/_control", json={"down_for": 60}, timeout=5)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{tmdb.url}/configuration", timeout=2)
    with pytest.raises(requests.ConnectionError):  # the kept-alive connection was cut too
        api(http, tmdb, "/configuration")
    assert tmdb.config()["down"] is True
    tmdb.come_up()
    assert api(http, tmdb, "/configuration").status_code == 200


def test_down_refuse_listens_again_on_the_same_port(http: requests.Session) -> None:
    with running_fake_tmdb() as fake:
        port = fake.port
        fake.go_down(0.2)
        deadline = time.monotonic() + 10
        while fake.config()["down"] and time.monotonic() < deadline:
            time.sleep(0.02)
        assert fake.port == port
        assert api(http, fake, "/configuration").status_code == 200


def test_down_drop_answers_nothing_but_control_works(
    tmdb: FakeTmdb, http: requests.Session, clock: FakeClock
) -> None:
    tmdb.configure(down_mode="drop", down_for=30)
    with pytest.raises(requests.ConnectionError):
        api(http, tmdb, "/configuration")
    with pytest.raises(requests.ConnectionError):
        http.get(f"{tmdb.image_url}w92/a.jpg", timeout=5)
    assert http.get(f"{tmdb.root_url}/_control", timeout=5).json()["down"] is True
    assert tmdb.stats()["dropped"] == 2
    clock.advance(30)
    assert api(http, tmdb, "/configuration").status_code == 200


# --- images -------------------------------------------------------------------------------


def test_images_are_valid_jpegs_without_auth_or_rate_limit(
    http: requests.Session, clock: FakeClock
) -> None:
    with running_fake_tmdb(clock=clock, rate_limit=1) as fake:
        config = api(http, fake, "/configuration").json()["images"]
        assert config["secure_base_url"] == fake.image_url
        assert "w500" in config["poster_sizes"] and "original" in config["backdrop_sizes"]
        for _ in range(3):
            r = http.get(f"{config['secure_base_url']}w500/abcdef.jpg", timeout=5)
            assert r.status_code == 200 and r.headers["Content-Type"] == "image/jpeg"
            assert jpeg_size(r.content) == (500, 750)
        assert http.get(f"{fake.image_url}w500/abcdef.jpg", timeout=5).content == r.content
        assert http.get(f"{fake.image_url}w999/abcdef.jpg", timeout=5).status_code == 404
        stats = fake.stats()
    assert stats["api_requests"] == 1 and stats["image_requests"] == 5
    assert stats["rate_limited"] == 0 and "image" not in stats["by_kind"]


def test_truncated_images(tmdb: FakeTmdb, http: requests.Session) -> None:
    full = http.get(f"{tmdb.image_url}w342/x.jpg", timeout=5).content
    tmdb.configure(image_truncate_rate=1.0, image_truncate_modes=["short"])
    short = http.get(f"{tmdb.image_url}w342/x.jpg", timeout=5)
    assert short.status_code == 200 and 0 < len(short.content) < len(full)
    assert not short.content.endswith(b"\xff\xd9")
    tmdb.configure(image_truncate_modes=["lying_length"])
    with pytest.raises(requests.RequestException):
        http.get(f"{tmdb.image_url}w342/x.jpg", timeout=5)


def test_image_errors(tmdb: FakeTmdb, http: requests.Session) -> None:
    tmdb.configure(image_error_rate=1.0)
    assert http.get(f"{tmdb.image_url}w92/x.jpg", timeout=5).status_code == 503
    assert api(http, tmdb, "/configuration").status_code == 200


# --- standalone process -------------------------------------------------------------------


def test_standalone_process_prints_its_port_and_serves() -> None:
    args = ("--rate-limit", "2", "--rate-window", "600", "--catalog", str(AMBIGUOUS_CATALOG))
    with FakeTmdbProcess.spawn(*args) as proc:
        assert proc.port > 0
        with requests.Session() as http:
            r = http.get(f"{proc.url}/movie/5548", params={"api_key": proc.api_key}, timeout=5)
            assert r.json()["title"] == "RoboCop"
            statuses = [http.get(f"{proc.url}/configuration", params={"api_key": proc.api_key},
                                 timeout=5).status_code for _ in range(2)]
        assert statuses == [200, 429]
        assert proc.stats()["rate_limited"] == 1 and proc.config()["rate_limit"] == 2
        assert proc.configure(error_rate=0.25)["error_rate"] == 0.25
    assert proc.proc.returncode == 0


_CLIENT = """
import sys, urllib.error, urllib.request
url = sys.argv[1]
for _ in range(10):
    try:
        print(urllib.request.urlopen(url, timeout=5).status)
    except urllib.error.HTTPError as err:
        print(err.code)
"""


def test_several_client_processes_share_one_budget() -> None:
    with FakeTmdbProcess.spawn("--rate-limit", "10", "--rate-window", "600") as proc:
        url = f"{proc.url}/configuration?api_key={proc.api_key}"
        clients = [subprocess.Popen([sys.executable, "-c", _CLIENT, url], text=True,
                                    stdout=subprocess.PIPE) for _ in range(3)]
        outputs = [c.communicate(timeout=30)[0] for c in clients]
        statuses = sorted(int(line) for out in outputs for line in out.split())
        stats = proc.stats()
    assert statuses == [200] * 10 + [429] * 20
    assert stats["max_in_window"] == 30 and stats["max_in_window_admitted"] == 10
    assert stats["connections_opened"] == 30  # urllib: one connection per request
