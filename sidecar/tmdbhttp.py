"""The HTTP policy behind :class:`sidecar.tmdb.TmdbClient`: auth, retries, errors, ETags.

Everything lives in plain code around ``session.get`` rather than in a mounted requests
adapter, because requests-mock replaces adapters and the tests would then cover nothing.

Retry policy (research notes §1): 429 pauses *every* worker through the shared limiter
(``penalize``) and honours Retry-After; 500/502/503/504, TMDB codes 9/24/43/46, timeouts
and dropped connections back off exponentially with jitter; 401 and 404 are never retried.
After ``max_retries`` retries the caller gets :class:`TmdbUnavailable`.

The API key can sit in the query string (v3 keys), so URLs, request params and ``requests``
exception texts are never logged or put in an exception: messages name the *path* only and
every free text goes through :meth:`Credentials.mask` first.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import logging
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests

from .errors import (
    NoApiKey,
    TmdbAuthError,
    TmdbBadResponse,
    TmdbError,
    TmdbNotFound,
    TmdbUnavailable,
)
from .ratelimit import RateLimiter, Rng, Sleep, backoff_delay

log = logging.getLogger("sidecar.tmdb")

RETRY_STATUSES = frozenset({500, 502, 503, 504})
RETRY_TMDB_CODES = frozenset({9, 24, 43, 46})  # offline, backend timeout, no backend, maintenance
TRANSIENT = (requests.Timeout, requests.ConnectionError, requests.exceptions.ChunkedEncodingError)
_V3_KEY = re.compile(r"[0-9a-fA-F]{32}")
_V4_TOKEN = re.compile(r"eyJ[\w-]*\.[\w-]+\.[\w-]+")
_QUERY_KEY = re.compile(r"(api_key=)[^&\s'\"]+")


@dataclass(frozen=True, slots=True)
class FetchResult:
    """One fetched document.  ``content_hash`` lets the caller skip unchanged writes even
    when TMDB ignores ``If-None-Match`` (brief §7); it is "" for a 304, which has no body."""

    data: dict[str, Any] | None
    etag: str | None
    not_modified: bool
    content_hash: str


def content_hash(data: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON: the same document always hashes the same."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Credentials:
    """The TMDB key in whichever form it came, applied to requests and never printed.

    A 32-hex v3 key goes in ``api_key=``; a v4 read token (a JWT, ``eyJ...``) goes in
    ``Authorization: Bearer``.  Anything else is sent as ``api_key`` (TMDB-compatible
    test servers use free-form keys) with a warning that does not show it.
    """

    def __init__(self, key: str | None) -> None:
        self._key = (key or "").strip() or None
        self.kind: str | None = None
        if self._key is not None:
            self.kind = "v4" if _V4_TOKEN.fullmatch(self._key) else "v3"
            if self.kind == "v3" and not _V3_KEY.fullmatch(self._key):
                log.warning("TMDB key is neither a 32-hex v3 key nor a v4 token; sending as v3")

    def __repr__(self) -> str:
        return f"Credentials({self.kind or 'none'}, ***)"

    def apply(self, params: dict[str, Any], headers: dict[str, str]) -> None:
        if self._key is None:
            raise NoApiKey("no TMDB API key configured (set SCANARR_TMDB_API_KEY)")
        if self.kind == "v4":
            headers["Authorization"] = f"Bearer {self._key}"
        else:
            params["api_key"] = self._key

    def mask(self, text: str) -> str:
        """``text`` with the key (and any ``api_key=...`` value) replaced by ``***``."""
        if self._key:
            text = text.replace(self._key, "***")
        return _QUERY_KEY.sub(r"\1***", text)


class _RedactQueryKeys(logging.Filter):
    """urllib3 logs request lines, query string included, at DEBUG: hide ``api_key``."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if "api_key=" in text:
            record.msg, record.args = _QUERY_KEY.sub(r"\1***", text), None
        return True


logging.getLogger("urllib3.connectionpool").addFilter(_RedactQueryKeys())


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP-date.

    ``now`` is the epoch time the date is measured against (the response's own Date
    header when present, so the two clocks agree).  None when absent or unreadable.
    """
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    when = _epoch(value)
    return None if when is None else max(0.0, when - now)


def _epoch(http_date: str | None) -> float | None:
    """An HTTP-date header as epoch seconds; None when absent, unreadable or zoneless."""
    if not http_date:
        return None
    try:
        when = email.utils.parsedate_to_datetime(http_date)
    except (TypeError, ValueError):
        return None
    return when.timestamp() if when.tzinfo else None


@dataclass
class ClientStats:
    """Counters for metrics and the status page; safe to bump from several threads."""

    requests: int = 0
    rate_limited: int = 0
    retries: int = 0
    not_modified: int = 0
    image_requests: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def bump(self, name: str) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + 1)

    def error(self, reason: str) -> None:
        with self._lock:
            self.errors[reason] = self.errors.get(reason, 0) + 1

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            names = ("requests", "rate_limited", "retries", "not_modified", "image_requests")
            return {**{n: getattr(self, n) for n in names}, "errors": dict(self.errors)}


def tmdb_error_body(response: requests.Response) -> tuple[int | None, str]:
    """TMDB's ``status_code`` and ``status_message`` from an error body, if it has one."""
    try:
        body = response.json()
    except ValueError:
        return None, ""
    if not isinstance(body, dict):
        return None, ""
    code = body.get("status_code")
    return (code if isinstance(code, int) else None), str(body.get("status_message") or "")


class Transport:
    """Sends one logical GET with the full retry policy; shared by all worker threads."""

    def __init__(
        self,
        credentials: Credentials,
        *,
        base_url: str,
        limiter: RateLimiter,
        session: requests.Session,
        timeout: tuple[float, float],
        max_retries: int,
        sleep: Sleep,
        rng: Rng,
        wall_clock: Callable[[], float],
    ) -> None:
        self.credentials, self.base_url, self.limiter = credentials, base_url.rstrip("/"), limiter
        self.session, self.timeout, self.attempts = session, timeout, max(1, max_retries + 1)
        self.sleep, self.rng, self.wall_clock = sleep, rng, wall_clock
        self.stats = ClientStats()
        self.auth_error: str | None = None

    def backoff(self, attempt: int) -> float:
        return backoff_delay(attempt, self.rng)

    def get_json(
        self, path: str, params: Mapping[str, Any], etag: str | None = None
    ) -> FetchResult:
        """GET ``base_url + path`` as a JSON object, with auth, limiter and retries."""
        try:
            return self._get_json(path, params, etag)
        except TmdbError as exc:
            self.stats.error(exc.reason)
            raise

    def _get_json(self, path: str, params: Mapping[str, Any], etag: str | None) -> FetchResult:
        if self.auth_error is not None:
            raise TmdbAuthError(self.auth_error)
        query, headers = dict(params), {"Accept": "application/json"}
        self.credentials.apply(query, headers)
        if etag:
            headers["If-None-Match"] = etag
        url = self.base_url + path

        def send() -> requests.Response:
            self.limiter.acquire()
            self.stats.bump("requests")
            try:
                return self.session.get(url, params=query, headers=headers, timeout=self.timeout)
            finally:
                self.limiter.complete()

        response = self.run(f"GET {path}", send, self._api_verdict)
        return self._result(path, response, etag)

    def run(
        self,
        what: str,
        send: Callable[[], requests.Response],
        verdict: Callable[[requests.Response, int], float | None],
    ) -> requests.Response:
        """Call ``send`` until ``verdict`` says done (None) or the attempts run out."""
        last = ""
        for attempt in range(self.attempts):
            try:
                response = send()
            except TRANSIENT as exc:
                delay = self.backoff(attempt)
                last = f"{type(exc).__name__}: {self.credentials.mask(str(exc))[:200]}"
            except requests.RequestException as exc:
                raise TmdbError(f"{what}: {self.credentials.mask(str(exc))}") from None
            else:
                wait = verdict(response, attempt)
                if wait is None:
                    return response
                delay, last = wait, f"HTTP {response.status_code}"
            if attempt + 1 < self.attempts:
                self.stats.bump("retries")
                log.info("%s: %s, retry %d in %.1f s", what, last, attempt + 1, delay)
                self.sleep(delay)
        raise TmdbUnavailable(f"{what}: gave up after {self.attempts} attempts (last: {last})")

    def _api_verdict(self, response: requests.Response, attempt: int) -> float | None:
        """None when ``response`` is final, else how long to wait before trying again."""
        status = response.status_code
        if status == 429:
            self.stats.bump("rate_limited")
            return self.limiter.penalize(self.retry_after(response))
        if status < 400:
            return None
        code, _ = tmdb_error_body(response)
        if status in RETRY_STATUSES or code in RETRY_TMDB_CODES:
            return self.backoff(attempt)
        return None

    def retry_after(self, response: requests.Response) -> float | None:
        """Retry-After in seconds, an HTTP-date measured against the server's own Date."""
        server_now = _epoch(response.headers.get("Date"))
        now = self.wall_clock() if server_now is None else server_now
        return parse_retry_after(response.headers.get("Retry-After"), now)

    def _result(self, path: str, response: requests.Response, etag: str | None) -> FetchResult:
        status = response.status_code
        if status == 304:
            self.stats.bump("not_modified")
            return FetchResult(None, response.headers.get("ETag") or etag, True, "")
        if status >= 400:
            raise self._failure(path, response)
        try:
            data = response.json()
        except ValueError:
            kind = response.headers.get("Content-Type", "no content type")
            raise TmdbBadResponse(f"GET {path}: answer is not JSON ({kind})") from None
        if not isinstance(data, dict):
            raise TmdbBadResponse(f"GET {path}: expected a JSON object, got {type(data).__name__}")
        return FetchResult(data, response.headers.get("ETag"), False, content_hash(data))

    def _failure(self, path: str, response: requests.Response) -> TmdbError:
        status = response.status_code
        code, message = tmdb_error_body(response)
        text = self.credentials.mask(
            f"GET {path}: HTTP {status}" + (f" (code {code}: {message})" if code else "")
        )
        if status == 401:
            self.auth_error = text
            log.error("TMDB refused the key; fetching stops until it is fixed: %s", text)
            return TmdbAuthError(text)
        if status == 404:
            return TmdbNotFound(text)
        if status >= 500:
            return TmdbUnavailable(text)
        return TmdbError(text)
