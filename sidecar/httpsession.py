"""A ``requests`` session that reads the proxy environment once per host, not per request.

A plain session (``trust_env=True``) re-reads the environment on EVERY request:
``get_environ_proxies`` walks all of ``os.environ`` and ``should_bypass_proxies`` matches
``NO_PROXY``, about 11% of the CPU a worker spends per TMDB call at full speed.  The
answer cannot change while the process runs, so :class:`PinnedProxySession` asks once for
each scheme and host it talks to, writes the answer into ``session.proxies`` under that
``scheme://host`` key (the most specific key ``requests`` looks for), and turns
``trust_env`` off.  Users behind ``HTTPS_PROXY``/``HTTP_PROXY``/``ALL_PROXY`` still go
through their proxy, hosts ``NO_PROXY`` covers still go direct, and a CA bundle named by
``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` (a TLS-inspecting proxy's) is still trusted.

Hosts are pinned when the session is created (the TMDB API, the image CDN) and, for a
host only learned later (the image base URL ``/configuration`` names), on its first
request; after that a request costs a set lookup.  Proxy URLs can carry a password, so
only their scheme, host and port are ever logged.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.utils import get_environ_proxies, select_proxy

log = logging.getLogger(__name__)


def environment_proxy(url: str) -> str | None:
    """The proxy the environment names for ``url``; None for a direct connection
    (no proxy variable set, or ``NO_PROXY`` covers the host)."""
    return select_proxy(url, get_environ_proxies(url))


def environment_ca_bundle() -> str | bool:
    """The CA bundle ``requests`` would take from the environment, else True (certifi)."""
    return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True


def origin(url: str) -> str | None:
    """``scheme://host`` as ``requests`` keys per-host proxies (no port, lower case)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}" if parts.scheme and parts.hostname else None


def shown(proxy: str) -> str:
    """A proxy URL fit for a log: scheme, host and port, never ``user:password@``."""
    parts = urlsplit(proxy if "://" in proxy else "http://" + proxy)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


class PinnedProxySession(requests.Session):
    """A session with ``trust_env`` off whose proxies come from the environment, read once
    per ``scheme://host`` (at creation for ``urls``, else at its first request)."""

    def __init__(self, *urls: str) -> None:
        super().__init__()
        self.trust_env = False
        self.verify = environment_ca_bundle()
        self._pinned: frozenset[str] = frozenset()  # replaced, never mutated: lock-free reads
        self._pin_lock = threading.Lock()
        for url in urls:
            self.pin(url)

    def pin(self, url: str) -> None:
        """Resolve the environment's proxy for ``url``'s scheme and host, once."""
        key = origin(url)
        if key is None or key in self._pinned:
            return
        with self._pin_lock:
            if key in self._pinned:
                return
            proxy = environment_proxy(url)
            if proxy:
                # a new dict, so a request merging the old one meanwhile never sees it change
                self.proxies = {**self.proxies, key: proxy}
            self._pinned = self._pinned | {key}
        if proxy:
            log.info("HTTP requests to %s go through the proxy %s", key, shown(proxy))
        else:
            log.debug("HTTP requests to %s go direct", key)

    def request(self, method: str | bytes, url: str | bytes, *args: Any,
                **kwargs: Any) -> requests.Response:
        """Pin the host on first use, then send as ``requests`` does."""
        self.pin(url.decode() if isinstance(url, bytes) else url)
        return super().request(method, url, *args, **kwargs)
