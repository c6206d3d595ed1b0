"""The JSON API behind the pages (and for scripts): status, scans, items, retry, fix match.

Same login as the pages (the session cookie); because a cookie is sent by the browser on
its own, every POST must also carry the session's CSRF token in ``X-CSRF-Token`` (the
pages put it in ``<meta name="csrf-token">``).  Answers never contain a secret: every
text that comes from the service goes through :func:`redact`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, jsonify, request

from sidecar.errors import BadRequest, ScanarrError
from sidecar.lifecycle import Lifecycle
from sidecar.state import Item
from sidecar.web import statusview
from sidecar.web.auth import require_api_login
from sidecar.web.common import redact, secret_values, service
from sidecar.workqueue import Priority

bp = Blueprint("api", __name__, url_prefix="/api")
SCAN_MODES = ("quick", "refresh", "full")
MAX_LIMIT = 500
Answer = tuple[Response, int]


@bp.before_request
def _login() -> Answer | None:
    return require_api_login()


@bp.get("/status")
def status() -> Response:
    return jsonify(statusview.build(redact(service().status())))


@bp.post("/scan")
def scan() -> Answer:
    body = _body()
    mode = str(body.get("mode", "quick"))
    if mode not in SCAN_MODES:
        return _error(f"mode must be one of {', '.join(SCAN_MODES)}", 400)
    paths = body.get("paths") or []
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        return _error("paths must be a list of strings", 400)
    priority = Priority.CRITICAL if mode == "full" else None
    if not service().start_scan(mode, priority=priority, paths=tuple(paths), trigger="api"):
        return jsonify(started=False, error="a scan is already running"), 409
    return jsonify(started=True, mode=mode), 202


@bp.get("/items")
def items() -> Answer:
    state_name = request.args.get("state", "").upper()
    state = None
    if state_name:
        if state_name not in Lifecycle.__members__:
            return _error(f"state must be one of {', '.join(Lifecycle.__members__)}", 400)
        state = Lifecycle(state_name)
    try:
        limit = min(int(request.args.get("limit", 100)), MAX_LIMIT)
        offset = max(int(request.args.get("offset", 0)), 0)
    except ValueError:
        return _error("limit and offset must be whole numbers", 400)
    found = service().store.items(state, limit=max(limit, 1), offset=offset)
    hidden = secret_values()
    return jsonify(items=[redact(item_json(i), hidden) for i in found], limit=limit,
                   offset=offset), 200


@bp.post("/items/retry")
def retry() -> Answer:
    path = _path()
    return _run(lambda: service().retry(path), {"path": path, "retrying": True})


@bp.post("/items/match")
def fix_match() -> Answer:
    path = _path()
    tmdb_id = _body().get("tmdb_id")
    if isinstance(tmdb_id, str) and tmdb_id.strip().isdigit():
        tmdb_id = int(tmdb_id)
    if not isinstance(tmdb_id, int) or isinstance(tmdb_id, bool) or tmdb_id <= 0:
        return _error("tmdb_id must be a positive whole number", 400)
    return _run(lambda: service().fix_match(path, tmdb_id), {"path": path, "tmdb_id": tmdb_id})


def item_json(item: Item) -> dict[str, Any]:
    """What a client needs of an item (no internal bookkeeping columns)."""
    return {
        "path": item.path, "media_type": item.media_type, "state": item.state.value,
        "title": item.title, "year": item.year, "tmdb_id": item.tmdb_id,
        "tmdb_type": item.tmdb_type, "imdb_id": item.imdb_id, "season": item.season,
        "episodes": list(item.episodes), "error_reason": item.error_reason,
        "error": item.last_error, "error_count": item.error_count,
        "next_retry_after": item.next_retry_after,
        "metadata_updated_at": item.metadata_updated_at,
        "candidates": statusview.error_view({"candidates": item.candidates})["candidates"],
    }


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if data is None and request.form:
        data = request.form.to_dict()
    return data if isinstance(data, dict) else {}


def _path() -> str:
    path = _body().get("path")
    return path if isinstance(path, str) else ""


def _run(action: Callable[[], None], answer: dict[str, Any]) -> Answer:
    if not answer["path"]:
        return _error("path is required", 400)
    try:
        action()
    except BadRequest as exc:
        return _error(str(exc), exc.status)
    except LookupError as exc:
        return _error(f"not in the library: {exc.args[0] if exc.args else answer['path']}", 404)
    except (ScanarrError, ValueError) as exc:
        return _error(str(exc), 400)
    return jsonify(ok=True, **answer), 200


def _error(message: str, status: int) -> Answer:
    return jsonify(error=redact(message)), status
