"""A stand-in for ``sidecar.service.Service`` for the web tests: real store, scripted rest.

Settings are the real thing (``load_settings`` over a real ``StateStore``), so the forms
are tested against the real parsers and the real database; scans, tests and metrics are
scripted and every call is recorded in ``calls``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sidecar.config import Settings, load_settings
from sidecar.errors import HostError, TmdbAuthError
from sidecar.state import StateStore
from sidecar.workqueue import Priority


class FakeService:
    def __init__(self, data_dir: Path, env: Mapping[str, str] | None = None) -> None:
        self.env = dict(env or {})
        self.env.setdefault("SCANARR_DATA_DIR", str(data_dir))
        self.store = StateStore(data_dir / "scanarr.db")
        self.calls: list[tuple[Any, ...]] = []
        self.running = False
        self.progress_report: dict[str, Any] = {
            "running": False, "mode": None, "phase": "idle", "done": 0, "total": 0,
            "eta_seconds": None, "started_at": None}
        self.extra_status: dict[str, Any] = {}
        self.tmdb_ok = True
        self.metrics_report: dict[str, Any] = {  # the shape of sidecar.diagnostics.metrics
            "items_by_state": {"NEW": 2, "INDEXED": 5}, "tmdb_requests": 12,
            "tmdb_rate_limited": 1, "tmdb_retries": 2, "tmdb_not_modified": 0,
            "tmdb_image_requests": 4, "tmdb_errors": {"unavailable": 1},
            "queue_depth": {"CRITICAL": 0, "HIGH": 3}, "queue_in_flight": 1,
            "items_processed": 7, "scan_durations_seconds": {"quick": [1.5, 2.0], "full": []},
            "webhooks": {"received": 3, "by_host_and_status": {"plex_202": 2, "jellyfin_401": 1},
                         "answer_seconds": {"count": 3, "p50": 0.002, "p95": 0.01, "max": 0.01},
                         "intake": {"pending": 0, "latency_seconds": {"count": 0, "p50": None}}},
            "host_refresh": {"pending_folders": 0, "refreshes": 2}, "uptime_seconds": None}

    @property
    def settings(self) -> Settings:
        return load_settings(self.store.stored_settings(), self.env)

    def save_settings(self, values: Mapping[str, str]) -> Settings:
        merged = load_settings({**self.store.stored_settings(), **values}, self.env)
        self.store.save_settings(dict(values))
        self.calls.append(("save_settings", dict(values)))
        return merged

    def start_scan(self, mode: str, *, priority: Priority | None = None,
                   paths: Sequence[str] = (), trigger: str = "web") -> bool:
        self.calls.append(("start_scan", mode, priority, tuple(paths), trigger))
        if self.running:
            return False
        self.running = True
        return True

    def progress(self) -> dict[str, Any]:
        return dict(self.progress_report)

    def status(self) -> dict[str, Any]:
        errors = self.store.recent_errors(20)
        return {
            "counts": self.store.counts(),
            "errors_by_reason": self.store.error_counts(),
            "queue": {"by_priority": {"CRITICAL": 1, "LOW": 4}, "queued": 5},
            "rate": {"limit": 35, "window": 10.0, "used": 3},
            "client": {"requests": 40, "throttled": 1},
            "runs": self.store.runs(5),
            "recent_errors": [{"path": e.path, "reason": e.error_reason, "message": e.last_error,
                               "next_retry_after": e.next_retry_after,
                               "candidates": e.candidates} for e in errors],
            "tmdb": {"key_configured": self.settings.has_tmdb_key, "auth_error": None},
            "progress": self.progress(),
            **self.extra_status,
        }

    def retry(self, path: str) -> None:
        self._known(path)
        self.calls.append(("retry", path))

    def fix_match(self, path: str, tmdb_id: int) -> None:
        self._known(path)
        self.calls.append(("fix_match", path, tmdb_id))

    def _known(self, path: str) -> None:
        if self.store.get(path) is None:
            raise KeyError(path)

    def test_tmdb(self) -> str:
        key = self.settings.tmdb_api_key
        if not self.tmdb_ok:
            raise TmdbAuthError(f"401 from {self.settings.tmdb_api_url}?api_key={key}")
        return f"TMDB answered; key ends in {key[-2:]}" if key else "no key set"

    def test_host(self) -> str:
        raise HostError(f"cannot reach {self.settings.host_url or 'the media server'}: "
                        f"token {self.settings.host_token}")

    def test_library(self, path: str) -> str:
        if not os.path.isdir(path):
            raise HostError(f"{path} is not a folder")
        return f"{path} is readable and writable"

    def metrics(self) -> dict[str, Any]:
        return dict(self.metrics_report)

    def add_error(self, path: str, reason: str = "ambiguous", message: str = "two matches",
                  candidates: Sequence[Mapping[str, Any]] = ()) -> None:
        """An item in ERROR, the way the worker leaves one."""
        self.store.add_new([{"media_path": path, "media_type": "movie",
                             "parent_path": os.path.dirname(path),
                             "media_name": os.path.basename(path)}])
        self.store.mark_error(path, reason, message, retryable=False, candidates=candidates)
