"""Decides the answer to one request: auth, rate limit, 429 storms, faults, ETag, body.

No sockets here: ``Responder.api`` and ``Responder.image`` turn a ``Request`` into a ``Reply``
that the HTTP handler writes out verbatim (or acts on: ``drop`` closes the connection with no
answer, ``declared_length`` sends a Content-Length the body does not fill).  All randomness
comes from one seeded ``random.Random``, all time from the injected ``clock`` and ``sleep``.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .tmdb_api import CODE_FOR_HTTP, ApiResult, error_body, route
from .tmdb_catalog import Catalog
from .tmdb_images import image_bytes, is_image_file, is_valid_size
from .tmdb_traffic import FaultConfig, RollingWindowLimiter

JSON = "application/json;charset=utf-8"
API_CACHE_CONTROL = "public, max-age=28800"
_HTML_ERROR = (b"<html><head><title>502 Bad Gateway</title></head><body><center>"
               b"<h1>502 Bad Gateway</h1></center><hr><center>openresty</center></body></html>")
_INVALID_JSON = b'{"page":1,"results":[{"id":\x00\xff<<not json>>'


@dataclass(frozen=True)
class Request:
    method: str
    path: str                       # URL path, e.g. "/3/movie/603" or "/t/p/w500/x.jpg"
    params: Mapping[str, str]       # query parameters (last value wins)
    headers: Mapping[str, str]      # lower-cased names


@dataclass
class Reply:
    status: int
    body: bytes = b""
    content_type: str = JSON
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False                  # close the connection without any answer
    declared_length: int | None = None  # lie: announce this many bytes, send fewer, close
    fault: str | None = None            # which injected fault shaped this reply, for the log
    auth: str | None = None             # "api_key" | "bearer" when the request authenticated


def json_reply(status: int, body: Mapping[str, Any], **kw: Any) -> Reply:
    raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    return Reply(status, raw, **kw)


def etag_of(body: bytes) -> str:
    return 'W/"' + hashlib.sha1(body).hexdigest()[:32] + '"'


def etag_matches(header: str, etag: str) -> bool:
    wanted = {t.strip().removeprefix("W/") for t in header.split(",")}
    return "*" in wanted or etag.removeprefix("W/") in wanted


class Responder:
    """The fake TMDB's brain; thread-safe, shared by every handler thread."""

    def __init__(self, catalog: Catalog, faults: FaultConfig, api_keys: Iterable[str], *,
                 seed: int, clock: Callable[[], float], sleep: Callable[[float], Any]) -> None:
        self.catalog, self.faults = catalog, faults
        self.api_keys = set(api_keys)
        self.revoked = False
        self.clock, self.sleep = clock, sleep
        self.limiter = RollingWindowLimiter()
        self.storm_count, self.storm_until, self.drop_until = 0, -math.inf, -math.inf
        self.image_base = ""
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def reseed(self, seed: int) -> None:
        with self._lock:
            self._rng = random.Random(seed)

    def _roll(self, rate: float) -> bool:
        if rate <= 0:
            return False
        with self._lock:
            return self._rng.random() < rate

    def _pick(self, options: tuple[Any, ...]) -> Any:
        with self._lock:
            return self._rng.choice(options)

    def _network_delay(self) -> None:
        f = self.faults
        if f.latency_ms or f.jitter_ms:
            with self._lock:
                jitter = self._rng.uniform(0, f.jitter_ms)
            self.sleep((f.latency_ms + jitter) / 1000)

    # --- API ------------------------------------------------------------------------------

    def api(self, req: Request) -> Reply:
        now = self.clock()
        if now < self.drop_until:
            return Reply(0, drop=True, fault="down")
        self._network_delay()
        refused = self._throttle(now)
        if refused is not None:
            return refused
        auth = self._authenticate(req)
        if auth is None:
            return json_reply(401, error_body(7))
        reply = self._faulty_or_real(req)
        reply.auth = auth
        return reply

    def _throttle(self, now: float) -> Reply | None:
        """A 429 for a forced storm or for the rolling window, else ``None``."""
        f = self.faults
        with self._lock:
            storm = self.storm_count > 0 or now < self.storm_until
            if self.storm_count > 0:
                self.storm_count -= 1
        if storm:
            wait = max(self.storm_until - now, 1.0)
            return self._too_many(wait, "storm")
        wait_for = self.limiter.admit(now, f.rate_limit, f.rate_window)
        return None if wait_for is None else self._too_many(wait_for, "rate_limit")

    def _too_many(self, wait: float, fault: str) -> Reply:
        f = self.faults
        headers = {}
        if f.retry_after_header:
            seconds = f.retry_after if f.retry_after is not None else max(1, math.ceil(wait))
            headers["Retry-After"] = str(seconds)
        return json_reply(429, error_body(25), headers=headers, fault=fault)

    def _authenticate(self, req: Request) -> str | None:
        if self.revoked:
            return None
        if req.params.get("api_key") in self.api_keys:
            return "api_key"
        scheme, _, token = req.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and token.strip() in self.api_keys:
            return "bearer"
        return None

    def _faulty_or_real(self, req: Request) -> Reply:
        f = self.faults
        if self._roll(f.error_rate):
            status = int(self._pick(f.error_statuses))
            return json_reply(status, error_body(CODE_FOR_HTTP.get(status, 11)), fault="error")
        slow = self._roll(f.slow_rate)
        if slow:
            self.sleep(f.slow_s)
        result = route(req.path.removeprefix("/3"), req.params, self.catalog, self.image_base)
        reply = self._real(result, req)
        if result.status == 200 and self._roll(f.garbage_rate):
            return self._garbage(reply)
        if slow:
            reply.fault = "slow"
        return reply

    def _real(self, result: ApiResult, req: Request) -> Reply:
        reply = json_reply(result.status, result.body)
        if result.status != 200:
            return reply
        reply.headers["Cache-Control"] = API_CACHE_CONTROL
        if self.faults.etag:
            etag = etag_of(reply.body)
            reply.headers["ETag"] = etag
            if etag_matches(req.headers.get("if-none-match", ""), etag):
                return Reply(304, headers=dict(reply.headers))
        return reply

    def _garbage(self, real: Reply) -> Reply:
        kind = str(self._pick(self.faults.garbage_kinds))
        fault = f"garbage:{kind}"
        if kind == "html":
            return Reply(200, _HTML_ERROR, "text/html", fault=fault)
        if kind == "truncated_json":
            return Reply(200, real.body[: len(real.body) // 2], fault=fault)
        return Reply(200, _INVALID_JSON, fault=fault)

    # --- images ---------------------------------------------------------------------------

    def image(self, size: str, file_name: str) -> Reply:
        """``/t/p/{size}/{file}``: no auth, no rate limit, only its own faults."""
        if self.clock() < self.drop_until:
            return Reply(0, drop=True, fault="down")
        self._network_delay()
        if not is_valid_size(size) or not is_image_file(file_name):
            return Reply(404, b"Not Found", "text/plain")
        f = self.faults
        if self._roll(f.image_error_rate):
            return Reply(503, b"<html><body>503 Service Unavailable</body></html>",
                         "text/html", fault="image_error")
        body = image_bytes(size, file_name)
        headers = {"Cache-Control": "public, max-age=31536000"}
        if self._roll(f.image_truncate_rate):
            mode = str(self._pick(f.image_truncate_modes))
            short = body[: len(body) // 2]
            lie = len(body) if mode == "lying_length" else None
            return Reply(200, short, "image/jpeg", headers, declared_length=lie,
                         fault=f"truncate:{mode}")
        return Reply(200, body, "image/jpeg", headers)
