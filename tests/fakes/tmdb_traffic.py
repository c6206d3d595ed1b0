"""Traffic bookkeeping for the fake TMDB: fault knobs, the rolling-window limiter, the log.

Kept apart from the HTTP code so each piece is small and checkable on its own:
``FaultConfig`` is the full set of runtime knobs (CLI flags, constructor keywords and the
``/_control`` JSON all map onto its fields), ``RollingWindowLimiter`` is the old TMDB
"40 requests per 10 s" rule, and ``RequestLog`` keeps every request and derives ``/_stats``.
"""

from __future__ import annotations

import bisect
import dataclasses
import threading
from collections import Counter, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

ERROR_STATUSES = (500, 502, 503, 504)
GARBAGE_KINDS = ("invalid_json", "truncated_json", "html")
TRUNCATE_MODES = ("short", "lying_length")
DOWN_MODES = ("refuse", "drop")
_RATES = ("error_rate", "slow_rate", "garbage_rate", "image_error_rate", "image_truncate_rate")


@dataclass(frozen=True)
class FaultConfig:
    """Every runtime knob; defaults are a healthy TMDB with the legacy 40/10 s limit."""

    rate_limit: int = 40               # API requests per rolling window; 0 = unlimited
    rate_window: float = 10.0          # seconds
    retry_after: int | None = None     # fixed Retry-After; None = seconds until a slot frees
    retry_after_header: bool = True    # False: 429s carry no Retry-After at all
    latency_ms: float = 0.0            # added to every API and image answer
    jitter_ms: float = 0.0             # plus uniform 0..jitter_ms
    error_rate: float = 0.0            # fraction of API requests answered with a 5xx
    error_statuses: tuple[int, ...] = ERROR_STATUSES
    slow_rate: float = 0.0             # fraction of API requests held for slow_s first
    slow_s: float = 5.0
    garbage_rate: float = 0.0          # fraction of API 200s replaced by a broken body
    garbage_kinds: tuple[str, ...] = GARBAGE_KINDS
    image_error_rate: float = 0.0      # fraction of image requests answered 503
    image_truncate_rate: float = 0.0   # fraction of images cut short
    image_truncate_modes: tuple[str, ...] = TRUNCATE_MODES
    down_mode: str = "refuse"          # what down_for does: close the port, or drop requests
    etag: bool = True                  # send ETag and honour If-None-Match

    def merged(self, changes: Mapping[str, Any]) -> FaultConfig:
        """A copy with ``changes`` applied (JSON lists become tuples), validated."""
        names = {f.name for f in dataclasses.fields(self)}
        unknown = set(changes) - names
        if unknown:
            raise ValueError(f"unknown fault setting(s): {', '.join(sorted(unknown))}")
        defaults = {f.name: f.default for f in dataclasses.fields(self)}
        fixed: dict[str, Any] = {k: _coerce(defaults[k], v) for k, v in changes.items()}
        return dataclasses.replace(self, **fixed).validated()

    def validated(self) -> FaultConfig:
        for name in _RATES:
            if not 0.0 <= float(getattr(self, name)) <= 1.0:
                raise ValueError(f"{name} must be within 0..1")
        _check_subset("garbage_kinds", self.garbage_kinds, GARBAGE_KINDS)
        _check_subset("image_truncate_modes", self.image_truncate_modes, TRUNCATE_MODES)
        _check_subset("down_mode", (self.down_mode,), DOWN_MODES)
        if not all(500 <= s <= 599 for s in self.error_statuses) or not self.error_statuses:
            raise ValueError("error_statuses must be non-empty 5xx codes")
        if self.rate_limit < 0 or self.rate_window <= 0:
            raise ValueError("rate_limit must be >= 0 and rate_window > 0")
        return self

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _coerce(default: object, value: Any) -> Any:
    """JSON and CLI values to the field's type (``[500]`` -> ``(500,)``, ``1`` -> ``1.0``)."""
    if value is None or isinstance(default, str):
        return value
    if isinstance(default, tuple):
        kind = type(default[0]) if default else str
        items = value.split(",") if isinstance(value, str) else value
        return tuple(kind(v) for v in items)
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ValueError(f"expected true/false, got {value!r}")
        return value
    if isinstance(default, float):
        return float(value)
    return int(value)  # int fields, and retry_after (int | None)


def _check_subset(name: str, values: Sequence[str], allowed: Sequence[str]) -> None:
    if not values or not set(values) <= set(allowed):
        raise ValueError(f"{name} must be among {', '.join(allowed)}")


class RollingWindowLimiter:
    """At most ``limit`` admitted requests in any rolling ``window`` seconds (a sliding log).

    Refused requests are not counted: a client that keeps hammering is refused only until
    the oldest admitted request leaves the window, which is what the old TMDB did.
    """

    def __init__(self) -> None:
        self._times: deque[float] = deque()
        self._lock = threading.Lock()

    def admit(self, now: float, limit: int, window: float) -> float | None:
        """``None`` if admitted (and counted), else the seconds until a slot frees up."""
        with self._lock:
            while self._times and self._times[0] <= now - window:
                self._times.popleft()
            if limit <= 0:
                return None
            if len(self._times) >= limit:
                return self._times[len(self._times) - limit] + window - now
            self._times.append(now)
            return None

    def clear(self) -> None:
        with self._lock:
            self._times.clear()


def max_in_window(times: Sequence[float], window: float) -> int:
    """Most timestamps falling in any half-open interval ``(t - window, t]``."""
    ordered = sorted(times)
    best = 0
    for j, t in enumerate(ordered):
        i = bisect.bisect_right(ordered, t - window, 0, j + 1)
        best = max(best, j - i + 1)
    return best


@dataclass
class _Gauges:
    """Connection and in-flight counters with their high-water marks."""

    opened: int = 0
    open: int = 0
    max_open: int = 0
    in_flight: Counter[str] = field(default_factory=Counter)
    max_in_flight: Counter[str] = field(default_factory=Counter)


class RequestLog:
    """Every API and image request with its outcome, and the figures ``/_stats`` reports."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[dict[str, Any]] = []
        self._gauges = _Gauges()

    def add(self, record: dict[str, Any]) -> None:
        with self._lock:
            record["seq"] = len(self._records) + 1
            self._records.append(record)

    def records(self, since: int = 0) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(r) for r in self._records[since:]]

    def clear(self) -> None:
        with self._lock:
            self._records.clear()
            opened, still_open = self._gauges.opened, self._gauges.open
            self._gauges = _Gauges(opened=opened, open=still_open, max_open=still_open)

    def connection(self, delta: int) -> None:
        with self._lock:
            g = self._gauges
            g.opened += max(delta, 0)
            g.open += delta
            g.max_open = max(g.max_open, g.open)

    def flight(self, lane: str, delta: int) -> None:
        with self._lock:
            g = self._gauges
            g.in_flight[lane] += delta
            g.max_in_flight[lane] = max(g.max_in_flight[lane], g.in_flight[lane])

    def stats(self, window: float, rate_limit: int) -> dict[str, Any]:
        with self._lock:
            records = list(self._records)
            g = self._gauges
            gauges = {"connections_opened": g.opened, "open_connections": g.open,
                      "max_open_connections": g.max_open,
                      "max_in_flight": g.max_in_flight["api"],
                      "max_in_flight_images": g.max_in_flight["image"]}
        api = [r for r in records if r["kind"] != "image"]
        images = [r for r in records if r["kind"] == "image"]
        admitted = [r["t"] for r in api if r["status"] not in (0, 429)]
        return {
            "api_requests": len(api), "image_requests": len(images),
            "by_kind": dict(Counter(r["kind"] for r in api)),
            "statuses": {str(k): v for k, v in Counter(r["status"] for r in api).items()},
            "image_statuses": {str(k): v for k, v in Counter(r["status"] for r in images).items()},
            "rate_limited": sum(1 for r in api if r["status"] == 429),
            "dropped": sum(1 for r in records if r["status"] == 0),
            "faults": dict(Counter(r["fault"] for r in records if r["fault"])),
            "max_in_window": max_in_window([r["t"] for r in api], window),
            "max_in_window_admitted": max_in_window(admitted, window),
            "window_s": window, "rate_limit": rate_limit, **gauges,
        }
