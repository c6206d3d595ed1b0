"""What the service reports: the status page, /metrics counters, and the Test buttons.

Kept apart from ``service.py`` so the running machinery and the read-only reporting on
it can each be read in one screen.  Everything here is cheap enough to call on every
page load (a few COUNT queries and in-memory snapshots).  The Test buttons raise a
:class:`~sidecar.errors.ScanarrError` with a message a user can act on.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from sidecar import __version__
from sidecar.config import Settings
from sidecar.errors import ConfigError, NoApiKey, OutsideRoots
from sidecar.pathmap import PathMapper
from sidecar.ratelimit import RateLimiter
from sidecar.tmdb import TmdbClient

if TYPE_CHECKING:
    from sidecar.service import Service


def status(svc: Service) -> dict[str, Any]:
    """Counts, queue, rate budget, client stats, runs, recent errors, host, progress."""
    app, store = svc.app, svc.store
    errors = store.recent_errors(20)
    return {
        "version": __version__,
        "counts": store.counts(),
        "errors_by_reason": store.error_counts(),
        "queue": app.engine.queue.depth_by_priority(),
        "queue_detail": app.engine.queue.snapshot(),
        "rate": app.limiter.snapshot(),
        "tmdb": {"key_configured": svc.settings.has_tmdb_key,
                 "auth_error": app.worker.auth_error or app.client.auth_error,
                 "stats": app.client.stats.as_dict()},
        "runs": store.runs(10),
        "recent_errors": [{"path": e.path, "reason": e.error_reason, "message": e.last_error,
                           "next_retry_after": e.next_retry_after, "candidates": e.candidates}
                          for e in errors],
        "host": {"name": svc.settings.host, "connected": svc.host is not None,
                 "error": svc.host_error, "refresh": svc.hostsync.snapshot()},
        "webhooks": _webhooks(svc),
        "schedule": svc.scheduler.snapshot(),
        "progress": svc.progress(),
        "uptime_seconds": _uptime(svc),
    }


def metrics(svc: Service) -> dict[str, Any]:
    """Counters for /metrics: items by state, TMDB traffic, queue, scans, webhooks."""
    app = svc.app
    stats = app.client.stats.as_dict()
    return {
        "items_by_state": svc.store.counts(),
        "tmdb_requests": stats["requests"],
        "tmdb_rate_limited": stats["rate_limited"],
        "tmdb_retries": stats["retries"],
        "tmdb_not_modified": stats["not_modified"],
        "tmdb_image_requests": stats["image_requests"],
        "tmdb_errors": stats["errors"],
        "queue_depth": app.engine.queue.depth_by_priority(),
        "queue_in_flight": app.engine.queue.in_flight(),
        "items_processed": app.worker.items_done,
        "scan_durations_seconds": {m: [round(s, 3) for s in v]
                                   for m, v in svc.runner.durations.items()},
        "webhooks": _webhooks(svc),
        "host_refresh": svc.hostsync.snapshot(),
        "uptime_seconds": _uptime(svc),
    }


def _webhooks(svc: Service) -> dict[str, Any]:
    counts = svc.webhook_answers()
    return {"received": sum(counts.values()), "by_host_and_status": counts,
            "answer_seconds": svc.webhook_latency.summary(),
            "intake": svc.intake.snapshot()}


def _uptime(svc: Service) -> float | None:
    return None if svc.started_at is None else round(svc.clock() - svc.started_at, 1)


def test_tmdb(settings: Settings, limiter: RateLimiter) -> str:
    """One real ``/configuration`` call with the saved key (no cache, one retry at most)."""
    if not settings.has_tmdb_key:
        raise NoApiKey("no TMDB API key is configured (tmdb_api_key)")
    client = TmdbClient(settings.tmdb_api_key, base_url=settings.tmdb_api_url,
                        language=settings.language, limiter=limiter, max_retries=1,
                        timeout=(5, 10))
    config = client.configuration()
    sizes = len((config.get("images") or {}).get("poster_sizes") or [])
    return f"TMDB at {settings.tmdb_api_url} accepted the key ({sizes} poster sizes offered)"


def test_library(path: str, mapper: PathMapper) -> str:
    """Is ``path`` (Scanarr's or the host's view) inside a root, present and writable?"""
    if not path.strip():
        raise ConfigError("libraries", "no path given")
    local = mapper.to_local(path)  # OutsideRoots (a ScanarrError) names the problem
    mapped = "" if os.path.normpath(path) == local else f"host path {path} is {local} here; "
    if not os.path.exists(local):
        raise OutsideRoots(local, f"{mapped}does not exist (not mounted? check path_map)")
    folder = local if os.path.isdir(local) else os.path.dirname(local)
    if not os.access(folder, os.R_OK | os.X_OK):
        raise ConfigError("libraries", f"{mapped}{folder} cannot be read by Scanarr")
    if not os.access(folder, os.W_OK):
        raise ConfigError("libraries", f"{mapped}{folder} is read-only: metadata cannot be "
                                       "written beside the media")
    entries = len(os.listdir(folder))
    return f"{mapped}{folder} is readable and writable ({entries} entries)"
