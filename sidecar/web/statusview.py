"""``service.status()`` in the one shape the status page and ``/api/status`` share.

The page renders this dict once; ``scanarr.js`` fetches the same dict from
``/api/status`` every second and updates the elements whose ``data-bind`` names a path in
it.  So the server decides every text (ETA, "fetching 3 / 10"), the script stays tiny,
and the page and the API cannot disagree.  Missing parts of a status report get
neutral defaults, so a partial report never breaks the page.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sidecar.lifecycle import Lifecycle
from sidecar.workqueue import Priority

IDLE = {"running": False, "mode": None, "phase": "idle", "done": 0, "total": 0,
        "eta_seconds": None, "started_at": None}
ERROR_FIELDS = ("path", "reason", "message", "next_retry_after")
CANDIDATE_FIELDS = ("tmdb_id", "tmdb_type", "title", "year", "score")


def build(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The normalised, JSON-ready view of one status report."""
    tmdb = raw.get("tmdb") or {}
    progress = progress_view(raw.get("progress") or {})
    return {
        "counts": {s.value: int((raw.get("counts") or {}).get(s.value, 0)) for s in Lifecycle},
        "errors_by_reason": dict(raw.get("errors_by_reason") or {}),
        "queue_by_priority": queue_view(raw.get("queue")),
        "rate": flat(raw.get("rate") or raw.get("rate_budget") or {}),
        "client": flat(raw.get("client") or tmdb.get("stats") or {}),
        "host": flat(raw.get("host") or {}),
        "webhooks": flat({k: v for k, v in (raw.get("webhooks") or {}).items()
                          if k != "intake"}),
        "schedule": flat(raw.get("schedule") or {}),
        "runs": [run_view(r) for r in raw.get("runs") or []],
        "recent_errors": [error_view(e) for e in raw.get("recent_errors") or []],
        "tmdb": {"key_configured": bool(tmdb.get("key_configured", True)),
                 "auth_error": tmdb.get("auth_error") or raw.get("tmdb_auth_error") or None},
        "progress": progress,
        "progress_text": progress_text(progress),
        "eta_text": eta_text(progress["eta_seconds"]),
    }


def progress_view(raw: Mapping[str, Any]) -> dict[str, Any]:
    view = {**IDLE, **{k: raw[k] for k in IDLE if k in raw}}
    done, total = int(view["done"] or 0), int(view["total"] or 0)
    view["done"], view["total"] = done, total
    finished = not view["running"] and view["started_at"] is not None
    if total:
        view["percent"] = min(100, done * 100 // total)
    else:  # nothing to fetch: a finished run is complete, a walk has no known end yet
        view["percent"] = 100 if finished else 0
    view["bar_max"] = total or 1
    view["bar_value"] = min(done, total) if total else (1 if finished else 0)
    return view


def progress_text(p: Mapping[str, Any]) -> str:
    if not p["running"]:
        return "No scan running."
    mode = p["mode"] or "scan"
    if p["phase"] == "walking":
        return f"{mode.capitalize()} scan: walking the library, {p['done']} files seen."
    return f"{mode.capitalize()} scan: {p['phase']} {p['done']} / {p['total']}."


def eta_text(seconds: Any) -> str:
    """``1:05`` / ``2:03:04``; a dash when unknown."""
    if seconds is None:
        return "—"
    minutes, secs = divmod(max(0, int(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def queue_view(raw: Any) -> dict[str, int]:
    """Queued jobs per priority level, every level present, most urgent first."""
    depth = raw.get("by_priority", raw) if isinstance(raw, Mapping) else {}
    return {p.name: int(depth.get(p.name, 0) or 0) for p in Priority}


def flat(raw: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested numbers as one level (``{"a": {"b": 1}}`` -> ``{"a_b": 1}``), for tables."""
    result: dict[str, Any] = {}
    for key, value in raw.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            result.update(flat(value, f"{name}_"))
        elif isinstance(value, int | float | str | bool) or value is None:
            result[name] = round(value, 3) if isinstance(value, float) else value
    return result


def run_view(run: Mapping[str, Any]) -> dict[str, Any]:
    counts = run.get("counts") or {}
    took = run.get("duration_ms")
    return {
        "id": run.get("id"), "mode": run.get("mode"), "trigger": run.get("trigger"),
        "status": run.get("status"), "started_at": run.get("started_at"),
        "took": "—" if took is None else f"{took / 1000:.1f} s",
        "counts_text": ", ".join(f"{k} {v}" for k, v in counts.items() if v),
    }


def error_view(error: Mapping[str, Any]) -> dict[str, Any]:
    view = {k: error.get(k) for k in ERROR_FIELDS}
    view["message"] = error.get("message") or error.get("error") or ""
    view["candidates"] = [{k: c.get(k) for k in CANDIDATE_FIELDS}
                          for c in error.get("candidates") or [] if c.get("tmdb_id")]
    return view
