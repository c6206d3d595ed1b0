"""GET /healthz: a cheap liveness answer for Docker, compose and uptime checks.

200 with a small JSON body while the service runs, 503 once it is shutting down.  It
reads only in-memory state (no database query), so a busy or locked database cannot
make the container look dead and get it restarted in the middle of a write.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify

from sidecar import __version__

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    service: Any = current_app.extensions["scanarr"]
    stopping = bool(getattr(service, "stopping", False))
    body: dict[str, Any] = {"status": "stopping" if stopping else "ok", "version": __version__}
    started = getattr(service, "started_at", None)
    clock = getattr(service, "clock", None)
    if started is not None and callable(clock):
        body["uptime_seconds"] = round(clock() - started, 1)
    return jsonify(body), 503 if stopping else 200
