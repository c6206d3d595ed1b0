"""TmdbClient: the one door to TMDB, shared by every worker thread.

The endpoints here shape requests (``append_to_response``, languages, season batches)
and results; the HTTP policy -- auth, limiter, retries, error mapping, ETags -- lives in
:mod:`sidecar.tmdbhttp` and artwork in :mod:`sidecar.tmdbimages`.  Every call returns
plain dicts, so nothing above this layer depends on ``requests``.

Request budget (brief §3.3): a movie is ONE request; a show with up to 14 seasons on disk
is ONE request too, because ``append_to_response`` takes ``season/N`` entries next to the
show's own six appends, within TMDB's limit of 20 appends per request.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import quote

import requests

from .errors import ConfigError, TmdbBadResponse
from .httpsession import PinnedProxySession
from .ratelimit import RateLimiter, Rng, Sleep
from .tmdbhttp import ClientStats, Credentials, FetchResult, Transport, content_hash
from .tmdbimages import IMAGE_SIZES, ImageFetcher, build_image_url

__all__ = ["IMAGE_SIZES", "ClientStats", "FetchResult", "TmdbClient", "normalize_language"]

log = logging.getLogger("sidecar.tmdb")

DEFAULT_BASE_URL = "https://api.themoviedb.org/3"
DEFAULT_IMAGE_URL = "https://image.tmdb.org/t/p/"  # what /configuration names today
MAX_APPENDS = 20  # TMDB error 27 beyond this
MOVIE_APPENDS = ("credits", "videos", "images", "release_dates", "external_ids", "keywords",
                 "alternative_titles")
TV_APPENDS = ("credits", "images", "external_ids", "content_ratings", "keywords", "videos")
CONFIG_TTL = 3 * 24 * 3600.0  # TMDB: "check for updates every few days"
FIND_SOURCES = {"imdb": "imdb_id", "imdb_id": "imdb_id", "tvdb": "tvdb_id", "tvdb_id": "tvdb_id"}
# Regions TMDB does not serve for these languages (Jellyfin TmdbUtils.NormalizeLanguage).
_REGION_FALLBACK = {"de-CH": "de", "fr-CH": "fr", "it-CH": "it", "es-419": "es-MX"}


def normalize_language(tag: str) -> str:
    """TMDB's spelling of a language tag: ``pt-br`` -> ``pt-BR``, ``de_CH`` -> ``de``."""
    parts = tag.strip().replace("_", "-").split("-")
    if not parts[0].isalpha():
        raise ConfigError("LANGUAGE", f"not a language tag: {tag!r}")
    lang = parts[0].lower()
    if len(parts) == 1 or not parts[1]:
        return lang
    full = f"{lang}-{parts[1].upper()}"
    return _REGION_FALLBACK.get(full, full)


def season_batches(seasons: Sequence[int], first_room: int) -> list[list[int]]:
    """Seasons grouped per request: ``first_room`` ride along with the show, then 20 each."""
    ordered = sorted(set(seasons))
    batches = [ordered[:first_room]]
    rest = ordered[first_room:]
    batches += [rest[i : i + MAX_APPENDS] for i in range(0, len(rest), MAX_APPENDS)]
    return batches


def pop_seasons(data: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """Move the appended ``season/N`` objects out of ``data`` into ``{N: season}``.

    A season TMDB does not have comes back missing, null or as an error body
    (``success: false``); those are left out rather than passed on as empty seasons.
    """
    found: dict[int, dict[str, Any]] = {}
    for key in [k for k in data if k.startswith("season/")]:
        value = data.pop(key)
        number = key.partition("/")[2]
        if number.isdigit() and isinstance(value, dict) and value.get("success") is not False:
            found[int(number)] = value
    return found


class TmdbClient:
    """Thread-safe TMDB v3 client; one instance per process, shared by all workers.

    ``api_key`` may be a v3 key or a v4 read token (told apart by form) or None, in which
    case every API call raises NoApiKey without touching the network.  After a 401 the
    client stops calling TMDB (``auth_error`` says why) until :meth:`reset_auth`.
    """

    def __init__(
        self,
        api_key: str | None,
        *,
        base_url: str = DEFAULT_BASE_URL,
        language: str = "en-US",
        limiter: RateLimiter,
        session: requests.Session | None = None,
        image_session: requests.Session | None = None,
        timeout: tuple[float, float] = (5, 20),
        max_retries: int = 5,
        sleep: Sleep = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: Rng = random.random,
        wall_clock: Callable[[], float] = time.time,
        image_connections: int = 4,
        config_ttl: float = CONFIG_TTL,
    ) -> None:
        self.language = normalize_language(language)
        lang = self.language.split("-")[0]
        self.image_language = ",".join(dict.fromkeys([lang, "null", "en"]))
        self._http = Transport(
            Credentials(api_key), base_url=base_url, limiter=limiter,
            session=session or _new_session(base_url), timeout=timeout, max_retries=max_retries,
            sleep=sleep, rng=rng, wall_clock=wall_clock,
        )
        self._images = ImageFetcher(self._http, image_session or _new_session(DEFAULT_IMAGE_URL),
                                    image_connections)
        self._clock, self._config_ttl = clock, config_ttl
        self._config: tuple[float, dict[str, Any]] | None = None
        self._config_lock = threading.Lock()

    def __repr__(self) -> str:
        return (f"TmdbClient(base_url={self._http.base_url!r}, language={self.language!r}, "
                f"auth={self._http.credentials!r})")

    # --- status ---------------------------------------------------------------------

    @property
    def has_key(self) -> bool:
        return self._http.credentials.kind is not None

    @property
    def auth_error(self) -> str | None:
        """Why TMDB refused the key (masked), or None; the status page shows it."""
        return self._http.auth_error

    @property
    def auth_failed(self) -> bool:
        return self._http.auth_error is not None

    def reset_auth(self) -> None:
        """Forget a 401 so the next call tries TMDB again (after the key was fixed)."""
        self._http.auth_error = None

    @property
    def stats(self) -> ClientStats:
        return self._http.stats

    # --- endpoints ------------------------------------------------------------------

    def movie(self, tmdb_id: int, *, etag: str | None = None) -> FetchResult:
        """Movie details with credits, videos, images, ratings, ids, keywords: one request."""
        return self._http.get_json(f"/movie/{int(tmdb_id)}", self._detail_params(MOVIE_APPENDS),
                                   etag)

    def tv(self, tmdb_id: int, seasons: Sequence[int], *, etag: str | None = None) -> FetchResult:
        """Show details plus the given seasons (with episodes), in as few requests as TMDB allows.

        The result is the show dict with ``seasons`` replaced by ``{number: season}`` for
        the seasons asked for (a season TMDB does not know is left out); TMDB's own list of
        season summaries moves to ``season_summaries``.  The ETag is used only when
        everything fits in one request: a 304 then covers every season too.
        """
        path = f"/tv/{int(tmdb_id)}"
        first, *more = season_batches(seasons, MAX_APPENDS - len(TV_APPENDS))
        appends = TV_APPENDS + tuple(f"season/{n}" for n in first)
        head = self._http.get_json(path, self._detail_params(appends), None if more else etag)
        if head.not_modified or head.data is None:
            return head
        show = dict(head.data)
        found = pop_seasons(show)
        for batch in more:
            params = {"language": self.language,
                      "append_to_response": ",".join(f"season/{n}" for n in batch)}
            part = self._http.get_json(path, params)
            found.update(pop_seasons(dict(part.data or {})))
        show["season_summaries"] = show.pop("seasons", [])
        show["seasons"] = dict(sorted(found.items()))
        return FetchResult(show, head.etag, False, content_hash(show))

    def search_movie(self, query: str, year: int | None = None) -> list[dict[str, Any]]:
        """First page of movie matches; ``year`` filters on the *primary* release year."""
        return self._results("/search/movie", query, primary_release_year=year)

    def search_tv(self, query: str, year: int | None = None) -> list[dict[str, Any]]:
        """First page of show matches; ``year`` filters on the first air date."""
        return self._results("/search/tv", query, first_air_date_year=year)

    def find(self, external_id: str, source: str) -> dict[str, Any]:
        """Look up an IMDb (``tt...``) or TVDB id: ``{movie_results: [...], tv_results: ...}``."""
        if source not in FIND_SOURCES:
            raise ValueError(f"unknown external source {source!r}; one of {sorted(FIND_SOURCES)}")
        params = {"external_source": FIND_SOURCES[source], "language": self.language}
        result = self._http.get_json(f"/find/{quote(str(external_id), safe='')}", params)
        return result.data or {}

    def configuration(self) -> dict[str, Any]:
        """``/configuration`` (image base URL and sizes), cached for ``config_ttl`` seconds."""
        with self._config_lock:
            now = self._clock()
            if self._config is None or now - self._config[0] >= self._config_ttl:
                data = self._http.get_json("/configuration", {}).data or {}
                self._config = (now, data)
            return self._config[1]

    def image_url(self, path: str | None, kind: str) -> str | None:
        """Full artwork URL for a TMDB image path; ``kind`` picks the size (IMAGE_SIZES)."""
        if kind not in IMAGE_SIZES:
            raise ValueError(f"unknown image kind {kind!r}; one of {sorted(IMAGE_SIZES)}")
        return build_image_url(self.configuration(), path, kind) if path else None

    def download_image(self, url: str) -> bytes:
        """Artwork bytes from the image CDN; not counted against the API rate limit."""
        return self._images.download(url)

    # --- helpers --------------------------------------------------------------------

    def _detail_params(self, appends: Sequence[str]) -> dict[str, Any]:
        return {
            "language": self.language,
            "include_image_language": self.image_language,
            "append_to_response": ",".join(appends),
        }

    def _results(self, path: str, query: str, **filters: int | None) -> list[dict[str, Any]]:
        params = {"query": query, "include_adult": "false", "language": self.language, **filters}
        data = self._http.get_json(path, params).data or {}
        results = data.get("results")
        if not isinstance(results, list):
            raise TmdbBadResponse(f"GET {path}: no results list")
        return [r for r in results if isinstance(r, dict)]


def _new_session(url: str) -> requests.Session:
    """A session for ``url``'s host whose proxy settings are read from the environment once
    (see :mod:`sidecar.httpsession`); another host it is sent to is looked up on first use."""
    session = PinnedProxySession(url)
    session.headers["User-Agent"] = "scanarr"
    return session
