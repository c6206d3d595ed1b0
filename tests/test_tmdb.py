"""TmdbClient against requests-mock: every HTTP policy, no network, no real sleeping."""

from __future__ import annotations

import email.utils
import gzip
import hashlib
import json
import logging
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests
import requests_mock as rm
from requests.utils import select_proxy

from sidecar.errors import (
    ConfigError,
    NoApiKey,
    TmdbAuthError,
    TmdbBadResponse,
    TmdbError,
    TmdbNotFound,
    TmdbUnavailable,
)
from sidecar.ratelimit import TokenBucket
from sidecar.tmdb import TmdbClient, normalize_language, season_batches
from tests.fakes.proxy_env import ProxyEnv

BASE = "http://tmdb.test/3"
IMG = "https://image.tmdb.test/t/p/"
V3_KEY = "0123456789abcdef0123456789abcdef"
V4_TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJhdWQiOiIwMTIzIn0.c2lnbmF0dXJlLWJ5dGVz"
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 60 + b"\xff\xd9"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 60 + b"\x00\x00\x00\x00IEND\xaeB`\x82"
WEBP = b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x00" * 40
CONFIG = {"images": {
    "secure_base_url": IMG,
    "poster_sizes": ["w92", "w154", "w185", "w342", "w500", "w780", "original"],
    "backdrop_sizes": ["w300", "w780", "w1280", "original"],
    "still_sizes": ["w92", "w185", "w300", "original"],
    "logo_sizes": ["w45", "w92", "w154", "w185", "w300", "w500", "original"],
    "profile_sizes": ["w45", "w185", "h632", "original"],
}}


class SpyLimiter:
    """Counts calls; penalize answers like a real limiter would (Retry-After or 1 s)."""

    def __init__(self) -> None:
        self.acquired = 0
        self.completed = 0
        self.penalties: list[float | None] = []

    def acquire(self, cost: int = 1) -> None:
        self.acquired += cost

    def complete(self) -> None:
        self.completed += 1

    def penalize(self, retry_after: float | None = None) -> float:
        self.penalties.append(retry_after)
        return 1.0 if retry_after is None else retry_after

    def snapshot(self) -> dict[str, Any]:
        return {"acquired": self.acquired}


class Sleeps(list[float]):
    """Records sleeps instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def limiter() -> SpyLimiter:
    return SpyLimiter()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def make(limiter: SpyLimiter, sleeps: Sleeps) -> Callable[..., TmdbClient]:
    def factory(api_key: str | None = V3_KEY, **kw: Any) -> TmdbClient:
        kw.setdefault("limiter", limiter)
        kw.setdefault("sleep", sleeps)
        kw.setdefault("rng", lambda: 0.0)
        return TmdbClient(api_key, base_url=BASE, **kw)

    return factory


@pytest.fixture
def client(make: Callable[..., TmdbClient]) -> TmdbClient:
    return make()


def query(request: Any) -> dict[str, str]:
    """The query string of a recorded request, case kept (requests-mock's .qs lowercases)."""
    return {k: v[-1] for k, v in parse_qs(urlparse(request.url).query).items()}


def last(mocker: rm.Mocker) -> Any:
    assert mocker.last_request is not None
    return mocker.last_request


def appends(request: Any) -> list[str]:
    return query(request)["append_to_response"].split(",")


# --- auth --------------------------------------------------------------------------------


def test_v3_key_goes_in_the_query(client: TmdbClient, requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{BASE}/movie/603", json={"id": 603})
    client.movie(603)
    sent = last(requests_mock)
    assert query(sent)["api_key"] == V3_KEY
    assert "Authorization" not in sent.headers


def test_v4_token_goes_in_a_bearer_header(make: Callable[..., TmdbClient],
                                          requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{BASE}/movie/603", json={"id": 603})
    make(V4_TOKEN).movie(603)
    sent = last(requests_mock)
    assert sent.headers["Authorization"] == f"Bearer {V4_TOKEN}"
    assert "api_key" not in query(sent)


@pytest.mark.parametrize("key", [None, "", "   "])
def test_no_key_fails_without_any_http(make: Callable[..., TmdbClient], requests_mock: rm.Mocker,
                                       limiter: SpyLimiter, key: str | None) -> None:
    client = make(key)
    assert not client.has_key
    with pytest.raises(NoApiKey):
        client.movie(603)
    with pytest.raises(NoApiKey):
        client.search_tv("Lost")
    assert requests_mock.call_count == 0 and limiter.acquired == 0


def test_401_stops_all_calls_until_reset(client: TmdbClient, requests_mock: rm.Mocker,
                                         sleeps: Sleeps) -> None:
    body = {"status_code": 7, "status_message": "Invalid API key: You must be granted a valid key.",
            "success": False}
    requests_mock.get(f"{BASE}/movie/603", status_code=401, json=body)
    with pytest.raises(TmdbAuthError) as caught:
        client.movie(603)
    assert not isinstance(caught.value, NoApiKey) and caught.value.reason == "auth"
    assert requests_mock.call_count == 1 and sleeps == []  # not retried
    assert client.auth_failed and "Invalid API key" in (client.auth_error or "")
    with pytest.raises(TmdbAuthError):
        client.search_movie("Matrix")  # fails fast: no request at all
    assert requests_mock.call_count == 1
    client.reset_auth()
    requests_mock.get(f"{BASE}/movie/603", json={"id": 603})
    assert client.movie(603).data == {"id": 603}
    assert client.auth_error is None


# --- error mapping -----------------------------------------------------------------------


def test_404_is_not_found_and_not_retried(client: TmdbClient, requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{BASE}/movie/1", status_code=404,
                      json={"status_code": 34, "status_message": "could not be found"})
    with pytest.raises(TmdbNotFound, match="code 34"):
        client.movie(1)
    assert requests_mock.call_count == 1
    assert client.stats.as_dict()["errors"] == {"not_found": 1}


def test_other_4xx_is_a_plain_tmdb_error(client: TmdbClient, requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{BASE}/tv/1", status_code=400,
                      json={"status_code": 27, "status_message": "Too many append to response"})
    with pytest.raises(TmdbError) as caught:
        client.tv(1, [1])
    assert type(caught.value) is TmdbError and requests_mock.call_count == 1


@pytest.mark.parametrize(("body", "ctype"), [
    (b"{not json", "application/json"),
    (b"<html><body>502 Bad Gateway</body></html>", "text/html"),
    (b"[1, 2, 3]", "application/json"),
    (b"", "application/json"),
])
def test_non_object_answers_are_bad_responses(client: TmdbClient, requests_mock: rm.Mocker,
                                              body: bytes, ctype: str) -> None:
    requests_mock.get(f"{BASE}/movie/603", content=body, headers={"Content-Type": ctype})
    with pytest.raises(TmdbBadResponse):
        client.movie(603)


def test_search_without_results_list_is_bad(client: TmdbClient, requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{BASE}/search/movie", json={"page": 1})
    with pytest.raises(TmdbBadResponse):
        client.search_movie("Matrix")


# --- retries -----------------------------------------------------------------------------


def test_5xx_then_success(client: TmdbClient, requests_mock: rm.Mocker, sleeps: Sleeps,
                          limiter: SpyLimiter) -> None:
    requests_mock.get(f"{BASE}/movie/603", [
        {"status_code": 500}, {"status_code": 502}, {"status_code": 504}, {"json": {"id": 603}},
    ])
    assert client.movie(603).data == {"id": 603}
    assert sleeps == [1, 2, 4]
    assert limiter.acquired == 4  # every attempt goes through the limiter
    stats = client.stats.as_dict()
    assert stats["requests"] == 4 and stats["retries"] == 3 and stats["errors"] == {}


def test_5xx_exhausted_is_unavailable(client: TmdbClient, requests_mock: rm.Mocker,
                                      sleeps: Sleeps) -> None:
    requests_mock.get(f"{BASE}/movie/603", status_code=503,
                      json={"status_code": 9, "status_message": "Service offline."})
    with pytest.raises(TmdbUnavailable, match="6 attempts"):
        client.movie(603)
    assert requests_mock.call_count == 6 and sleeps == [1, 2, 4, 8, 16]
    assert client.stats.as_dict()["errors"] == {"unavailable": 1}


def test_max_retries_is_configurable(make: Callable[..., TmdbClient], requests_mock: rm.Mocker,
                                     ) -> None:
    requests_mock.get(f"{BASE}/movie/603", status_code=500)
    with pytest.raises(TmdbUnavailable):
        make(max_retries=1).movie(603)
    assert requests_mock.call_count == 2


def test_tmdb_retry_codes_are_retried_whatever_the_status(
    client: TmdbClient, requests_mock: rm.Mocker
) -> None:
    requests_mock.get(f"{BASE}/movie/603", [
        {"status_code": 400, "json": {"status_code": 46, "status_message": "maintenance"}},
        {"json": {"id": 603}},
    ])
    assert client.movie(603).data == {"id": 603}
    assert requests_mock.call_count == 2


def test_other_5xx_is_unavailable_without_retry(client: TmdbClient,
                                                requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{BASE}/movie/603", status_code=501)
    with pytest.raises(TmdbUnavailable):
        client.movie(603)
    assert requests_mock.call_count == 1


@pytest.mark.parametrize("exc", [requests.ConnectTimeout, requests.ReadTimeout,
                                 requests.ConnectionError,
                                 requests.exceptions.ChunkedEncodingError])
def test_timeouts_and_dropped_connections_are_retried(
    client: TmdbClient, requests_mock: rm.Mocker, sleeps: Sleeps, exc: type[Exception]
) -> None:
    requests_mock.get(f"{BASE}/movie/603", [{"exc": exc}, {"exc": exc}, {"json": {"id": 603}}])
    assert client.movie(603).data == {"id": 603}
    assert sleeps == [1, 2]


def test_timeouts_are_passed_to_requests(make: Callable[..., TmdbClient],
                                         requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{BASE}/movie/603", json={"id": 603})
    make(timeout=(1.5, 9.0)).movie(603)
    assert last(requests_mock).timeout == (1.5, 9.0)


def test_backoff_has_jitter(make: Callable[..., TmdbClient], requests_mock: rm.Mocker,
                            sleeps: Sleeps) -> None:
    requests_mock.get(f"{BASE}/movie/603", [{"status_code": 503}] * 2 + [{"json": {}}])
    make(rng=lambda: 1.0).movie(603)
    assert sleeps == [pytest.approx(1.1), pytest.approx(2.2)]


# --- 429 ---------------------------------------------------------------------------------


def test_429_retry_after_seconds_penalizes_everyone(
    client: TmdbClient, requests_mock: rm.Mocker, limiter: SpyLimiter, sleeps: Sleeps
) -> None:
    requests_mock.get(f"{BASE}/movie/603", [
        {"status_code": 429, "headers": {"Retry-After": "3"},
         "json": {"status_code": 25, "status_message": "over the limit"}},
        {"json": {"id": 603}},
    ])
    assert client.movie(603).data == {"id": 603}
    assert limiter.penalties == [3.0] and sleeps == [3.0]
    assert client.stats.as_dict()["rate_limited"] == 1


def test_429_retry_after_http_date_uses_the_server_date(
    client: TmdbClient, requests_mock: rm.Mocker, limiter: SpyLimiter
) -> None:
    now = 1_700_000_000
    requests_mock.get(f"{BASE}/movie/603", [
        {"status_code": 429, "headers": {
            "Date": email.utils.formatdate(now, usegmt=True),
            "Retry-After": email.utils.formatdate(now + 7, usegmt=True)}},
        {"json": {"id": 603}},
    ])
    client.movie(603)
    assert limiter.penalties == [pytest.approx(7.0)]


def test_429_http_date_without_date_header_uses_wall_clock(
    make: Callable[..., TmdbClient], requests_mock: rm.Mocker, limiter: SpyLimiter
) -> None:
    now = 1_700_000_000
    requests_mock.get(f"{BASE}/movie/603", [
        {"status_code": 429, "headers": {"Retry-After": email.utils.formatdate(now + 12,
                                                                               usegmt=True)}},
        {"json": {"id": 603}},
    ])
    make(wall_clock=lambda: float(now)).movie(603)
    assert limiter.penalties == [pytest.approx(12.0)]


def test_429_without_retry_after_backs_off_through_the_shared_limiter(
    make: Callable[..., TmdbClient], requests_mock: rm.Mocker
) -> None:
    """Real limiter on a fake clock: pauses 1, 2, 4 s and the retries start after each."""
    clock = {"now": 0.0}
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock["now"] += seconds

    bucket = TokenBucket(35, 10.0, clock=lambda: clock["now"], sleep=sleep, rng=lambda: 0.0)
    sent_at: list[float] = []

    def answer(request: Any, context: Any) -> dict[str, Any]:
        sent_at.append(clock["now"])
        context.status_code = 429 if len(sent_at) <= 3 else 200
        return {"id": 603}

    requests_mock.get(f"{BASE}/movie/603", json=answer)
    client = make(limiter=bucket, sleep=sleep)
    assert client.movie(603).data == {"id": 603}
    assert sent_at == [0.0, 1.0, 3.0, 7.0]
    assert sleeps == [1.0, 2.0, 4.0]  # the client sleeps the pause; acquire adds nothing
    snap = bucket.snapshot()
    assert snap["penalties"] == 3 and snap["rate"] < 35


def test_429_pause_holds_back_other_callers(make: Callable[..., TmdbClient],
                                            requests_mock: rm.Mocker) -> None:
    """The 429 of one call makes the *next* caller wait in acquire too."""
    clock = {"now": 0.0}
    limiter_sleeps: list[float] = []

    def limiter_sleep(seconds: float) -> None:
        limiter_sleeps.append(seconds)
        clock["now"] += seconds

    bucket = TokenBucket(35, 10.0, clock=lambda: clock["now"], sleep=limiter_sleep,
                         rng=lambda: 0.0)
    requests_mock.get(f"{BASE}/movie/1", status_code=429, headers={"Retry-After": "5"})
    requests_mock.get(f"{BASE}/movie/2", json={"id": 2})
    client = make(limiter=bucket, max_retries=0)
    with pytest.raises(TmdbUnavailable):
        client.movie(1)
    client.movie(2)
    assert limiter_sleeps == [5.0]


def test_429_exhausted_is_unavailable(client: TmdbClient, requests_mock: rm.Mocker,
                                      limiter: SpyLimiter) -> None:
    requests_mock.get(f"{BASE}/movie/603", status_code=429)
    with pytest.raises(TmdbUnavailable, match="429"):
        client.movie(603)
    assert requests_mock.call_count == 6 and len(limiter.penalties) == 6
    assert client.stats.as_dict()["rate_limited"] == 6


# --- endpoints ---------------------------------------------------------------------------


def test_movie_is_one_request_with_all_appends(client: TmdbClient, requests_mock: rm.Mocker,
                                               limiter: SpyLimiter) -> None:
    requests_mock.get(f"{BASE}/movie/603", json={"id": 603, "credits": {"cast": []}})
    result = client.movie(603)
    assert requests_mock.call_count == 1 and limiter.acquired == 1
    q = query(last(requests_mock))
    assert q["append_to_response"] == (
        "credits,videos,images,release_dates,external_ids,keywords,alternative_titles")
    assert q["language"] == "en-US" and q["include_image_language"] == "en,null"
    assert result.data == {"id": 603, "credits": {"cast": []}} and not result.not_modified


def test_language_is_normalised_for_text_and_images(make: Callable[..., TmdbClient],
                                                    requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{BASE}/movie/603", json={"id": 603})
    client = make(language="pt_br")
    client.movie(603)
    q = query(last(requests_mock))
    assert q["language"] == "pt-BR" and q["include_image_language"] == "pt,null,en"


@pytest.mark.parametrize(("tag", "expected"), [
    ("en-US", "en-US"), ("pt-br", "pt-BR"), ("DE", "de"), ("de-CH", "de"), ("es-419", "es-MX"),
    (" fr_ca ", "fr-CA"),
])
def test_normalize_language(tag: str, expected: str) -> None:
    assert normalize_language(tag) == expected


@pytest.mark.parametrize("tag", ["", "  ", "-US", "12"])
def test_bad_language_is_a_config_error(tag: str) -> None:
    with pytest.raises(ConfigError):
        normalize_language(tag)


def _show_with_seasons(request: Any, context: Any) -> dict[str, Any]:
    """A fake /tv/{id} that honours append_to_response season/N entries."""
    data: dict[str, Any] = {"id": 1399, "name": "Show",
                            "seasons": [{"season_number": 1, "episode_count": 2}]}
    for item in appends(request):
        if item.startswith("season/"):
            n = int(item.split("/")[1])
            data[item] = {"season_number": n, "episodes": [{"episode_number": 1}]}
        else:
            data[item] = {}
    return data


def test_tv_with_three_seasons_is_one_request(client: TmdbClient,
                                              requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{BASE}/tv/1399", json=_show_with_seasons)
    result = client.tv(1399, [3, 1, 2, 2])
    assert requests_mock.call_count == 1
    assert appends(last(requests_mock)) == [
        "credits", "images", "external_ids", "content_ratings", "keywords", "videos",
        "season/1", "season/2", "season/3"]
    data = result.data or {}
    assert list(data["seasons"]) == [1, 2, 3]
    assert data["seasons"][2]["episodes"] == [{"episode_number": 1}]
    assert data["season_summaries"] == [{"season_number": 1, "episode_count": 2}]
    assert not any(k.startswith("season/") for k in data)


@pytest.mark.parametrize(("count", "requests_needed"), [(0, 1), (14, 1), (15, 2), (16, 2),
                                                        (34, 2), (35, 3)])
def test_tv_season_batches_stay_within_20_appends(
    client: TmdbClient, requests_mock: rm.Mocker, count: int, requests_needed: int
) -> None:
    requests_mock.get(f"{BASE}/tv/1399", json=_show_with_seasons)
    result = client.tv(1399, range(1, count + 1), etag='"abc"')
    assert requests_mock.call_count == requests_needed
    assert all(len(appends(r)) <= 20 for r in requests_mock.request_history)
    assert list((result.data or {})["seasons"]) == list(range(1, count + 1))
    sent_etag = [r.headers.get("If-None-Match") for r in requests_mock.request_history]
    assert sent_etag == (['"abc"'] if requests_needed == 1 else [None] * requests_needed)


def test_tv_sixteen_seasons_split_14_plus_2(client: TmdbClient,
                                           requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{BASE}/tv/1399", json=_show_with_seasons)
    client.tv(1399, range(1, 17))
    first, second = requests_mock.request_history
    assert appends(first)[6:] == [f"season/{n}" for n in range(1, 15)]
    assert appends(second) == ["season/15", "season/16"]


def test_tv_leaves_out_seasons_tmdb_does_not_have(client: TmdbClient,
                                                  requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{BASE}/tv/1399", json={
        "id": 1399, "season/1": {"episodes": []}, "season/2": None,
        "season/9": {"success": False, "status_code": 34}})
    assert (client.tv(1399, [1, 2, 9]).data or {})["seasons"] == {1: {"episodes": []}}


def test_season_batches() -> None:
    assert season_batches([], 14) == [[]]
    assert season_batches([0, 2, 1], 14) == [[0, 1, 2]]
    assert [len(b) for b in season_batches(range(50), 14)] == [14, 20, 16]


def test_search_movie_uses_primary_release_year(client: TmdbClient,
                                                requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{BASE}/search/movie", json={"results": [{"id": 603}, None, "x"]})
    assert client.search_movie("The Matrix", 1999) == [{"id": 603}]
    q = query(last(requests_mock))
    assert q["query"] == "The Matrix" and q["primary_release_year"] == "1999"
    assert q["include_adult"] == "false" and "year" not in q
    client.search_movie("The Matrix")
    assert "primary_release_year" not in query(last(requests_mock))


def test_search_tv_uses_first_air_date_year(client: TmdbClient,
                                            requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{BASE}/search/tv", json={"results": [{"id": 1399}]})
    assert client.search_tv("Game of Thrones", 2011) == [{"id": 1399}]
    assert query(last(requests_mock))["first_air_date_year"] == "2011"


@pytest.mark.parametrize(("source", "sent"), [("imdb_id", "imdb_id"), ("imdb", "imdb_id"),
                                              ("tvdb_id", "tvdb_id"), ("tvdb", "tvdb_id")])
def test_find_by_external_id(client: TmdbClient, requests_mock: rm.Mocker, source: str,
                             sent: str) -> None:
    requests_mock.get(f"{BASE}/find/tt0133093", json={"movie_results": [{"id": 603}]})
    assert client.find("tt0133093", source) == {"movie_results": [{"id": 603}]}
    assert query(last(requests_mock))["external_source"] == sent


def test_find_rejects_unknown_sources(client: TmdbClient, requests_mock: rm.Mocker) -> None:
    with pytest.raises(ValueError):
        client.find("123", "facebook")
    assert requests_mock.call_count == 0


def test_configuration_is_cached_with_a_ttl(make: Callable[..., TmdbClient],
                                            requests_mock: rm.Mocker) -> None:
    now = {"t": 0.0}
    requests_mock.get(f"{BASE}/configuration", json=CONFIG)
    client = make(clock=lambda: now["t"])
    assert client.configuration() == CONFIG
    assert client.configuration() == CONFIG
    assert requests_mock.call_count == 1
    now["t"] = 3 * 24 * 3600.0
    client.configuration()
    assert requests_mock.call_count == 2


def test_image_urls_pick_sizes_from_the_configuration(client: TmdbClient,
                                                      requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{BASE}/configuration", json=CONFIG)
    assert client.image_url("/p.jpg", "poster") == IMG + "w780/p.jpg"
    assert client.image_url("/b.jpg", "backdrop") == IMG + "w1280/b.jpg"
    assert client.image_url("s.jpg", "still") == IMG + "w300/s.jpg"
    assert client.image_url("/l.svg", "logo") == IMG + "w500/l.png"
    assert client.image_url(None, "poster") is None
    assert requests_mock.call_count == 1
    with pytest.raises(ValueError):
        client.image_url("/x.jpg", "banner")


# --- images ------------------------------------------------------------------------------


def _image(body: bytes, ctype: str = "image/jpeg", **headers: str) -> dict[str, Any]:
    return {"content": body, "headers": {"Content-Type": ctype,
                                         "Content-Length": str(len(body)), **headers}}


@pytest.mark.parametrize("body", [JPEG, PNG, WEBP])
def test_download_image_skips_the_api_limiter(client: TmdbClient, requests_mock: rm.Mocker,
                                              limiter: SpyLimiter, body: bytes) -> None:
    requests_mock.get(IMG + "w780/p.jpg", **_image(body))
    assert client.download_image(IMG + "w780/p.jpg") == body
    assert limiter.acquired == 0
    assert "api_key" not in last(requests_mock).url
    stats = client.stats.as_dict()
    assert stats["image_requests"] == 1 and stats["requests"] == 0


@pytest.mark.parametrize("response", [
    {"content": JPEG[:20], "headers": {"Content-Type": "image/jpeg", "Content-Length": "64"}},
    _image(b"<html>oops</html>", "text/html"),
    _image(b"GIF89a" + b"\x00" * 20, "image/gif"),
    _image(JPEG, ""),
])
def test_broken_images_are_bad_responses(client: TmdbClient, requests_mock: rm.Mocker,
                                         response: dict[str, Any]) -> None:
    requests_mock.get(IMG + "w780/p.jpg", **response)
    with pytest.raises(TmdbBadResponse):
        client.download_image(IMG + "w780/p.jpg")


def test_image_length_check_skips_encoded_bodies(client: TmdbClient,
                                                 requests_mock: rm.Mocker) -> None:
    """Content-Length counts the gzip bytes, the body is decoded: not a truncation."""
    packed = gzip.compress(JPEG)
    requests_mock.get(IMG + "w780/p.jpg", **_image(packed, **{"Content-Encoding": "gzip"}))
    assert client.download_image(IMG + "w780/p.jpg") == JPEG


def test_image_download_retries_5xx_and_timeouts(client: TmdbClient, requests_mock: rm.Mocker,
                                                 sleeps: Sleeps, limiter: SpyLimiter) -> None:
    requests_mock.get(IMG + "w780/p.jpg", [
        {"status_code": 503}, {"exc": requests.ReadTimeout},
        {"status_code": 429, "headers": {"Retry-After": "2"}}, _image(JPEG),
    ])
    assert client.download_image(IMG + "w780/p.jpg") == JPEG
    assert sleeps == [1, 2, 2.0] and limiter.penalties == []


def test_missing_image_is_not_found(client: TmdbClient, requests_mock: rm.Mocker) -> None:
    requests_mock.get(IMG + "w780/p.jpg", status_code=404)
    with pytest.raises(TmdbNotFound):
        client.download_image(IMG + "w780/p.jpg")
    assert requests_mock.call_count == 1


def test_proxies_are_read_once_per_host_for_api_and_images(
        make: Callable[..., TmdbClient], requests_mock: rm.Mocker,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Users behind a proxy still get through; nobody reads the environment per request."""
    env = ProxyEnv(monkeypatch)  # a per-request look-up would fail the test
    env.set(HTTP_PROXY="http://proxy.test:3128", HTTPS_PROXY="http://proxy.test:3129")
    client = make()
    requests_mock.get(f"{BASE}/movie/603", json={"id": 603})
    requests_mock.get(IMG + "w780/p.jpg", **_image(JPEG))
    for _ in range(2):
        client.movie(603)
        client.download_image(IMG + "w780/p.jpg")
    sent = requests_mock.request_history
    assert [select_proxy(r.url, r.proxies) for r in sent] == [
        "http://proxy.test:3128", "http://proxy.test:3129"] * 2
    assert env.lookups == [BASE, "https://image.tmdb.org/t/p/", IMG + "w780/p.jpg"], \
        "the API and default image hosts when the client is made, the fake CDN on first use"


def test_no_proxy_hosts_go_direct(make: Callable[..., TmdbClient], requests_mock: rm.Mocker,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    ProxyEnv(monkeypatch).set(HTTP_PROXY="http://proxy.test:3128",
                              HTTPS_PROXY="http://proxy.test:3128",
                              NO_PROXY="tmdb.test,image.tmdb.test")
    client = make()
    requests_mock.get(f"{BASE}/movie/603", json={"id": 603})
    requests_mock.get(IMG + "w780/p.jpg", **_image(JPEG))
    client.movie(603)
    client.download_image(IMG + "w780/p.jpg")
    assert [select_proxy(r.url, r.proxies) for r in requests_mock.request_history] == [None] * 2


class BlockingImageSession:
    """A stand-in image session whose downloads hang until released (requests-mock
    serialises all sends behind one lock, so it cannot show concurrency)."""

    def __init__(self) -> None:
        self.active = self.peak = self.calls = 0
        self.lock, self.release = threading.Lock(), threading.Event()

    def get(self, url: str, timeout: Any = None) -> requests.Response:
        with self.lock:
            self.calls += 1
            self.active += 1
            self.peak = max(self.peak, self.active)
        self.release.wait(timeout=10)
        with self.lock:
            self.active -= 1
        response = requests.Response()
        response.status_code, response._content = 200, JPEG
        response.headers["Content-Type"] = "image/jpeg"
        return response


def test_image_downloads_share_a_small_connection_cap(make: Callable[..., TmdbClient]) -> None:
    session = BlockingImageSession()
    client = make(image_connections=2, image_session=session)
    threads = [threading.Thread(target=client.download_image, args=(IMG + "w780/p.jpg",))
               for _ in range(5)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 10
    while session.active < 2 and time.monotonic() < deadline:
        time.sleep(0.001)
    time.sleep(0.05)  # room for a third download to (wrongly) get in
    assert session.active == 2
    session.release.set()
    for t in threads:
        t.join(timeout=10)
    assert session.peak == 2 and session.calls == 5


# --- ETag and content hash ---------------------------------------------------------------


def test_etag_304_is_not_modified(client: TmdbClient, requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{BASE}/movie/603", status_code=304, headers={"ETag": 'W/"v1"'})
    result = client.movie(603, etag='W/"v1"')
    assert last(requests_mock).headers["If-None-Match"] == 'W/"v1"'
    assert result.not_modified and result.data is None and result.etag == 'W/"v1"'
    assert client.stats.as_dict()["not_modified"] == 1


def test_etag_is_returned_and_only_sent_when_given(client: TmdbClient,
                                                   requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{BASE}/movie/603", json={"id": 603}, headers={"ETag": '"v2"'})
    result = client.movie(603)
    assert "If-None-Match" not in last(requests_mock).headers
    assert result.etag == '"v2"' and not result.not_modified


def test_tv_304_skips_the_seasons(client: TmdbClient, requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{BASE}/tv/1399", status_code=304)
    result = client.tv(1399, [1, 2], etag='"e"')
    assert result.not_modified and result.etag == '"e"' and requests_mock.call_count == 1


def test_content_hash_is_canonical(client: TmdbClient, requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{BASE}/movie/1", text='{"id": 1, "title": "A", "genres": [1, 2]}')
    requests_mock.get(f"{BASE}/movie/2", text='{"genres":[1,2],"title":"A","id":1}')
    one, two = client.movie(1), client.movie(2)
    canonical = json.dumps({"genres": [1, 2], "id": 1, "title": "A"}, sort_keys=True,
                           separators=(",", ":"))
    assert one.content_hash == two.content_hash == hashlib.sha256(canonical.encode()).hexdigest()
    requests_mock.get(f"{BASE}/movie/3", text='{"id": 1, "title": "B", "genres": [1, 2]}')
    assert client.movie(3).content_hash != one.content_hash


def test_tv_content_hash_covers_the_seasons(client: TmdbClient,
                                            requests_mock: rm.Mocker) -> None:
    requests_mock.get(f"{BASE}/tv/1399", json=_show_with_seasons)
    one, again, more = client.tv(1399, [1, 2]), client.tv(1399, [2, 1]), client.tv(1399, [1])
    assert one.content_hash == again.content_hash != more.content_hash


# --- secrets -----------------------------------------------------------------------------


@pytest.mark.parametrize("key", [V3_KEY, V4_TOKEN])
def test_key_never_appears_in_logs_errors_or_repr(
    make: Callable[..., TmdbClient], requests_mock: rm.Mocker, caplog: pytest.LogCaptureFixture,
    key: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    client = make(key)
    leaky = requests.ConnectionError(f"Max retries exceeded with url: /3/movie/1?api_key={key}")
    requests_mock.get(f"{BASE}/movie/1", exc=leaky)
    requests_mock.get(f"{BASE}/movie/2", status_code=401,
                      json={"status_code": 7, "status_message": f"Invalid API key {key}"})
    requests_mock.get(f"{BASE}/movie/3", exc=requests.exceptions.InvalidURL(f"bad ?api_key={key}"))
    texts = [repr(client)]
    for movie_id in (1, 3, 2):
        with pytest.raises(TmdbError) as caught:
            client.movie(movie_id)
        texts.append(str(caught.value))
        texts.append("".join(traceback.format_exception(caught.value)))
    texts.append(client.auth_error or "")
    logging.getLogger("urllib3.connectionpool").debug(
        '%s://%s:%s "%s %s %s" %s %s', "http", "tmdb.test", 80, "GET",
        f"/3/movie/1?api_key={key}&language=en-US", "HTTP/1.1", 200, 10)
    texts += [r.getMessage() for r in caplog.records if not r.name.startswith("requests_mock")]
    assert any("api_key=***" in t for t in texts)
    assert not [t for t in texts if key in t]
