"""What every shared backend needs: the URL that names it, and how to trust stored state.

One setting (``rate_limit_url``) names the place several Scanarr instances meet -- a folder
for processes on one machine, a Redis server for several machines.  The shared rate budget
(:mod:`sidecar.sharedlimit`) and scan leadership (:mod:`sidecar.leader`) both parse it here,
so they always agree on where the other instances are.

State written by *another* instance cannot be taken at face value: it may have been written
with a different configured rate, or before the clock stepped backwards.  :func:`usable`
turns it into something this instance can safely decide on.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, replace
from typing import Literal
from urllib.parse import SplitResult, parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from sidecar.errors import ConfigError
from sidecar.ratelimit import Adaptive, Policy, recovered

SETTING = "rate_limit_url"
DEFAULT_PREFIX = "scanarr"
FORMS = "a folder (/shared/dir or file:///shared/dir) or redis://host:6379/0"


@dataclass(frozen=True, slots=True)
class Backend:
    """Where the shared state lives: ``path`` (a folder) or ``redis_url`` + key ``prefix``."""

    kind: Literal["file", "redis"]
    path: str = ""
    redis_url: str = ""
    prefix: str = DEFAULT_PREFIX

    def __str__(self) -> str:
        """A display form that never shows a Redis password."""
        return self.path if self.kind == "file" else redact(self.redis_url)


def parse_backend_url(url: str, setting: str = SETTING) -> Backend:
    """``file:///dir``, an absolute folder path, or ``redis[s]://host:port/db?prefix=p``.

    Raises :class:`ConfigError` naming ``setting`` for anything else, for a folder that does
    not exist (a typo must not silently give each instance a budget of its own), and for a
    Redis URL without a host.
    """
    text = (url or "").strip()
    if not text:
        raise ConfigError(setting, f"is empty; expected {FORMS}")
    if os.path.isabs(os.path.expanduser(text)):
        return _folder(os.path.expanduser(text), setting)
    parts = urlsplit(text)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise ConfigError(setting, f"file:// URLs must name a local folder, got {text!r}")
        return _folder(unquote(parts.path), setting)
    if parts.scheme in ("redis", "rediss"):
        return _redis(text, setting)
    raise ConfigError(setting, f"expected {FORMS}, got {redact(text)!r}")


def _folder(path: str, setting: str) -> Backend:
    if not os.path.isabs(path):
        raise ConfigError(setting, f"the folder must be an absolute path, got {path!r}")
    if not os.path.isdir(path):
        raise ConfigError(setting, f"folder {path!r} does not exist (create and share it first)")
    return Backend("file", path=os.path.abspath(path))


def _redis(text: str, setting: str) -> Backend:
    parts = urlsplit(text)
    if not _port_ok(parts):
        raise ConfigError(setting, f"bad port in {redact(text)!r}")
    if not parts.hostname:
        raise ConfigError(setting, f"redis URL needs a host, got {redact(text)!r}")
    db = parts.path.strip("/")
    if db and not db.isdigit():
        raise ConfigError(setting, f"redis database must be a number, got {db!r}")
    query = parse_qsl(parts.query, keep_blank_values=True)
    prefix = dict(query).get("prefix", DEFAULT_PREFIX).strip()
    if not prefix or any(ch.isspace() for ch in prefix):
        raise ConfigError(setting, f"prefix must be a non-empty word, got {prefix!r}")
    rest = urlencode([(k, v) for k, v in query if k != "prefix"])
    clean = urlunsplit((parts.scheme, parts.netloc, parts.path, rest, ""))
    return Backend("redis", redis_url=clean, prefix=prefix)


def _port_ok(parts: SplitResult) -> bool:
    """urllib checks the port only when asked, by raising."""
    try:
        return parts.port != 0
    except ValueError:
        return False


def redact(url: str) -> str:
    """``redis://:secret@host`` -> ``redis://***@host``: URLs end up in logs and errors."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, "***@" + host, parts.path, parts.query, parts.fragment))


def usable(policy: Policy, state: Adaptive, now: float) -> Adaptive:
    """Stored adaptive state as this instance may act on it at ``now``.

    The rate is kept inside this instance's own ``[floor_rate, rate]``: instances
    configured with different budgets each stay within their own (the strictest wins).
    Times are :func:`clamped`, then :func:`~sidecar.ratelimit.recovered` applies, exactly
    as in the in-process limiter.
    """
    rate = min(max(state.rate, policy.floor_rate), float(policy.rate))
    return recovered(policy, replace(clamped(policy, state, now), rate=rate), now)


def from_the_future(policy: Policy, state: Adaptive, now: float) -> bool:
    """Times further ahead than ``max_pause`` can only come from a clock that stepped back."""
    horizon = now + policy.max_pause
    return state.paused_until > horizon or (state.calm_since or -math.inf) > horizon


def clamped(policy: Policy, state: Adaptive, now: float) -> Adaptive:
    """``state`` with its times cut to ``now + max_pause``.

    Stores must *write* the result back when :func:`from_the_future` is true: cutting only
    on read would push the end of the pause ahead on every read, forever.
    """
    if not from_the_future(policy, state, now):
        return state
    horizon = now + policy.max_pause
    calm = state.calm_since
    return replace(state, paused_until=min(state.paused_until, horizon),
                   calm_since=None if calm is None else min(calm, horizon))


def full_recovery_seconds(policy: Policy) -> float:
    """Longest a 429's effects last: the longest pause plus climbing back from the floor.

    After this long without a 429 the stored state equals a fresh one, so backends may
    let it expire.
    """
    steps = -(-(policy.rate - policy.floor_rate) // (policy.recover_step * policy.rate))
    return policy.max_pause + (steps + 1) * policy.recover_after + policy.per
