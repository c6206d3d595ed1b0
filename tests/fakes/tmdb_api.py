"""Routing of ``/3/...`` API paths to TMDB bodies: pure, no sockets, no faults, no auth.

``route`` answers what a healthy TMDB would answer for a path and its query parameters,
including TMDB's own errors (404 code 34, 400 code 27 for more than 20 appends, 400 code 22
for a bad page).  The HTTP layer adds auth, rate limiting, faults and ETags around it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import tmdb_payloads as pl
from .tmdb_catalog import Catalog

MAX_APPENDS = 20

ERRORS: dict[int, tuple[int, str]] = {  # TMDB status_code -> (HTTP status, message)
    7: (401, "Invalid API key: You must be granted a valid key."),
    9: (503, "Service offline: This service is temporarily offline, try again later."),
    11: (500, "Internal error: Something went wrong, contact TMDb."),
    22: (400, "Invalid page: Pages start at 1 and max at 500. They are expected to be an integer."),
    24: (504, "Your request to the backend server timed out. Try again."),
    25: (429, "Your request count (#) is over the allowed limit of (40)."),
    27: (400, "Too many append to response objects: The maximum number of remote calls is 20."),
    34: (404, "The resource you requested could not be found."),
    43: (502, "Couldn't connect to the backend server."),
}
CODE_FOR_HTTP = {500: 11, 502: 43, 503: 9, 504: 24}

_ROUTES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("configuration", re.compile(r"/configuration")),
    ("search_movie", re.compile(r"/search/movie")),
    ("search_tv", re.compile(r"/search/tv")),
    ("find", re.compile(r"/find/(?P<external_id>[^/]+)")),
    ("movie", re.compile(r"/movie/(?P<id>\d+)(?:/(?P<sub>[a-z_/]+))?")),
    ("episode", re.compile(r"/tv/(?P<id>\d+)/season/(?P<season>\d+)/episode/(?P<episode>\d+)")),
    ("season", re.compile(r"/tv/(?P<id>\d+)/season/(?P<season>\d+)")),
    ("tv", re.compile(r"/tv/(?P<id>\d+)(?:/(?P<sub>[a-z_/]+))?")),
)


@dataclass(frozen=True)
class ApiResult:
    status: int
    body: dict[str, Any]
    kind: str


def error_body(code: int) -> dict[str, Any]:
    return {"status_code": code, "status_message": ERRORS[code][1], "success": False}


def error(code: int, kind: str) -> ApiResult:
    return ApiResult(ERRORS[code][0], error_body(code), kind)


def classify(api_path: str) -> tuple[str, dict[str, str]]:
    """``("movie", {"id": "603", ...})`` for ``/movie/603``; ``("other", {})`` if unknown."""
    for kind, pattern in _ROUTES:
        match = pattern.fullmatch(api_path.rstrip("/") or "/")
        if match:
            return kind, {k: v for k, v in match.groupdict().items() if v is not None}
    return "other", {}


def _appends(params: Mapping[str, str]) -> list[str] | None:
    """The ``append_to_response`` names, or ``None`` when there are more than TMDB allows."""
    names = [n.strip() for n in params.get("append_to_response", "").split(",") if n.strip()]
    return None if len(names) > MAX_APPENDS else names


def _year(params: Mapping[str, str], *names: str) -> int | None:
    for name in names:
        value = params.get(name, "").strip()
        if value.isdigit():
            return int(value)
    return None


def route(api_path: str, params: Mapping[str, str], catalog: Catalog, image_base: str) -> ApiResult:
    """What a healthy TMDB answers for ``/3{api_path}?{params}``."""
    kind, args = classify(api_path)
    if kind == "configuration":
        return ApiResult(200, pl.configuration(image_base), kind)
    if kind in ("search_movie", "search_tv"):
        return _search(kind, params, catalog)
    if kind == "find":
        return _find(args, params, catalog)
    if kind in ("movie", "tv"):
        return _details(kind, args, params, catalog)
    if kind in ("season", "episode"):
        return _season_or_episode(kind, args, params, catalog)
    return error(34, kind)


def _search(kind: str, params: Mapping[str, str], catalog: Catalog) -> ApiResult:
    page_text = params.get("page", "1")
    if not page_text.isdigit() or not 1 <= int(page_text) <= 500:
        return error(22, kind)
    query = params.get("query", "")
    if kind == "search_movie":
        movies = catalog.search_movies(query, _year(params, "primary_release_year", "year"))
        results = [pl.movie_summary(m) for m in movies]
    else:
        shows = catalog.search_shows(query, _year(params, "first_air_date_year", "year"))
        results = [pl.show_summary(s) for s in shows]
    return ApiResult(200, pl.search_page(results, int(page_text)), kind)


def _find(args: Mapping[str, str], params: Mapping[str, str], catalog: Catalog) -> ApiResult:
    movies, shows = catalog.find(args["external_id"], params.get("external_source", ""))
    return ApiResult(200, {
        "movie_results": [pl.movie_summary(m) | {"media_type": "movie"} for m in movies],
        "person_results": [],
        "tv_results": [pl.show_summary(s) | {"media_type": "tv"} for s in shows],
        "tv_episode_results": [], "tv_season_results": []}, "find")


def _details(kind: str, args: Mapping[str, str], params: Mapping[str, str],
             catalog: Catalog) -> ApiResult:
    appends = _appends(params)
    if appends is None:
        return error(27, kind)
    sub = args.get("sub")
    wanted = [sub] if sub else appends
    entry_id = int(args["id"])
    body: dict[str, Any] | None = None
    if kind == "movie":
        movie = catalog.movie(entry_id)
        body = pl.movie_details(movie, wanted, params) if movie else None
    else:
        show = catalog.show(entry_id)
        body = pl.show_details(show, wanted, params) if show else None
    if body is None or (sub and sub not in body):
        return error(34, kind)
    if sub:  # /movie/{id}/credits etc.: the append's own body, not the details
        return ApiResult(200, body[sub], kind)
    return ApiResult(200, body, kind)


def _season_or_episode(kind: str, args: Mapping[str, str], params: Mapping[str, str],
                       catalog: Catalog) -> ApiResult:
    appends = _appends(params)
    if appends is None:
        return error(27, kind)
    show = catalog.show(int(args["id"]))
    body: dict[str, Any] | None = None
    if show and kind == "season":
        body = pl.season(show, int(args["season"]), appends, params)
    elif show:
        body = pl.episode_details(show, int(args["season"]), int(args["episode"]), appends)
    return ApiResult(200, body, kind) if body else error(34, kind)
