"""POST /webhooks/plex and /webhooks/jellyfin: authenticate, bound, hand to the service.

The media server only needs to hear "got it": the service stores the event and answers
202 within milliseconds; resolving the item and fetching metadata happen later, on the
intake thread.  This blueprint does the HTTP part only:

* the shared secret, from the ``X-Scanarr-Token`` header or the ``?token=`` query (Plex
  and the Jellyfin plugin can only be given a URL), compared in constant time;
* a 1 MB body limit for these routes (a real payload is a few KB; Plex's ``thumb`` JPEG
  part is small), answered 413 with a reason rather than parsed;
* the body as the host sent it: Plex posts ``multipart/form-data`` with the JSON in the
  ``payload`` field, the Jellyfin plugin posts JSON as ``text/plain`` by default.

Every answer is JSON with a reason; nothing a client sends can make it a 500.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

log = logging.getLogger(__name__)

bp = Blueprint("webhooks", __name__)
MAX_BODY_BYTES = 1024 * 1024
TOKEN_HEADER = "X-Scanarr-Token"
TOKEN_QUERY = "token"
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


def _service() -> Any:
    return current_app.extensions["scanarr"]


@bp.before_request
def _limit_body() -> None:
    """Tighter than the app-wide limit: reading more than this raises 413."""
    request.max_content_length = MAX_BODY_BYTES


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> tuple[Response, int]:
    code = exc.code or 400
    if isinstance(exc, RequestEntityTooLarge):
        message = f"webhook body is larger than {MAX_BODY_BYTES} bytes"
    else:
        message = exc.description or exc.name
    return jsonify(error=message), code


def authorized(secret: str) -> bool:
    """The request carries the webhook secret (header or query), compared in constant time."""
    given = request.headers.get(TOKEN_HEADER) or request.args.get(TOKEN_QUERY) or ""
    if not secret or not given:
        return False
    return hmac.compare_digest(given.encode("utf-8"), secret.encode("utf-8"))


def _read() -> tuple[bytes, dict[str, str]]:
    """(raw body, form fields): form bodies are parsed by werkzeug, everything else raw."""
    mime = (request.mimetype or "").lower()
    if mime in FORM_TYPES:
        return b"", {k: v for k, v in request.form.items()}
    return request.get_data(cache=False), {}


@bp.post("/webhooks/<any(plex, jellyfin):host>")
def receive(host: str) -> tuple[Response, int]:
    service = _service()
    if not authorized(service.settings.webhook_secret):
        return jsonify(error=f"missing or wrong webhook secret ({TOKEN_HEADER} header "
                             f"or ?{TOKEN_QUERY}=)"), 401
    body, form = _read()
    status, message = service.handle_webhook(host, body, request.content_type or "", form)
    if status >= 400:
        return jsonify(error=message), status
    outcome = "ignored" if message.startswith("ignored") else "accepted"
    return jsonify(status=outcome, message=message), status
