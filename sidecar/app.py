"""Composition root: builds every collaborator from Settings, in one readable place.

Nothing else constructs clients, stores or workers; tests build their own pieces with
fakes injected, and ``scanarr`` commands build an ``App``.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from typing import IO, Any

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

from sidecar import demo
from sidecar.config import Settings, load_settings
from sidecar.engine import Engine
from sidecar.ratelimit import RateLimiter, TokenBucket
from sidecar.scanner import Scanner
from sidecar.state import StateStore
from sidecar.tmdb import TmdbClient
from sidecar.worker import Options, Worker
from sidecar.workqueue import WorkQueue
from sidecar.writer import Writer

log = logging.getLogger(__name__)
AUTH_ERROR_KEY = "_tmdb_auth_error"


def open_store(env: dict[str, str] | None = None) -> tuple[StateStore, Settings]:
    """The database first (it holds saved settings), then the merged settings."""
    base = load_settings({}, env)
    store = StateStore(os.path.join(base.data_dir, "scanarr.db"))
    return store, load_settings(store.stored_settings(), env)


def library_roots(settings: Settings) -> tuple[str, ...]:
    """The configured roots, or the built-in demo library when none is configured."""
    if settings.libraries:
        return settings.libraries
    return demo.ensure_demo_library(os.path.join(settings.data_dir, "demo-library"))


def make_limiter(settings: Settings) -> RateLimiter:
    """In-process bucket by default; a shared backend when ``rate_limit_url`` names one."""
    if settings.rate_limit_url:
        from sidecar.sharedlimit import shared_limiter

        return shared_limiter(settings.rate_limit_url, settings.rate_limit, settings.rate_window)
    return TokenBucket(settings.rate_limit, settings.rate_window)


@dataclass
class App:
    settings: Settings
    store: StateStore
    roots: tuple[str, ...]
    limiter: RateLimiter
    client: TmdbClient
    scanner: Scanner
    engine: Engine
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def worker(self) -> Worker:
        return self.engine.worker

    def record_auth_error(self) -> None:
        """Keep the stop-everything auth error where ``scanarr status`` can see it."""
        self.store.save_settings({AUTH_ERROR_KEY: self.worker.auth_error})


def build_app(settings: Settings, store: StateStore, *, notify: Any = None) -> App:
    roots = library_roots(settings)
    store.forget_other_roots(roots)
    limiter = make_limiter(settings)
    # Images are not rate limited, only connection capped (20 per IP at TMDB's CDN): one
    # connection per worker, 4 to 8, keeps artwork from becoming the bottleneck.
    client = TmdbClient(settings.tmdb_api_key or None, base_url=settings.tmdb_api_url,
                        language=settings.language, limiter=limiter,
                        timeout=(5, settings.http_timeout),
                        image_connections=min(8, max(4, settings.workers)))

    def image_url(path: str, kind: str) -> str:
        url = client.image_url(path, kind)
        if url is None:
            raise ValueError("no image path")
        return url

    writer = Writer(roots, client.download_image, nfo=settings.nfo, image_url=image_url)
    options = Options(language=settings.language,
                      certification_country=settings.certification_country, roots=roots)
    worker = Worker(store, client, writer, options, notify=notify)
    scanner = Scanner(store, roots, settle_seconds=settings.settle_seconds,
                      full_stat_hours=settings.full_stat_hours,
                      trust_folder_mtimes=settings.trust_folder_mtimes)
    engine = Engine(store, worker, WorkQueue(), size=settings.workers,
                    settle_before_ns=scanner.settle_before_ns)
    return App(settings, store, roots, limiter, client, scanner, engine)


_HELD: dict[str, IO[str]] = {}  # data folder -> this process's lock on it, held until exit


def startup_recovery(store: StateStore) -> bool:
    """A previous run may have died mid-scan: nothing stays PROCESSING or 'running'.

    Every Scanarr process holds a shared lock on its data folder for its lifetime.  The
    rows are recovered only when this process gets the lock exclusively, i.e. no other
    process is running: a ``scanarr scan`` next to ``serve`` must not take the service's
    in-flight items.  Returns whether recovery ran."""
    alone = _lock_data_dir(os.path.dirname(os.path.abspath(store.path)))
    if alone:
        store.recover_processing()
        store.close_dangling_runs()
    return alone


def _lock_data_dir(data_dir: str) -> bool:
    """Take (or re-check) the shared lifetime lock; True when no other process holds one."""
    if fcntl is None:  # no flock (Windows): one process per data folder is assumed
        return True
    handle = _HELD.get(data_dir)
    if handle is None:
        handle = _HELD[data_dir] = open(os.path.join(data_dir, "scanarr.lock"), "a+")  # noqa: SIM115
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)  # converts our own lock, if held
        alone = True
    except BlockingIOError:
        alone = False
    fcntl.flock(handle, fcntl.LOCK_SH)
    return alone


def elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
