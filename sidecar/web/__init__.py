"""The web app: settings page, status page, JSON API, metrics, webhooks, health.

``create_app(service)`` is the factory (Flask tutorial style): the running service is
kept in ``app.extensions["scanarr"]`` and every blueprint reaches it through
:func:`sidecar.web.common.service`.

Safety that applies to every response lives here: a session key that is random per
installation and kept in the database (never a constant in the code), cookie flags,
a body size limit, and security headers (a strict CSP: no inline script or style, so
an injected ``<script>`` could not run even if escaping ever failed).
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from pathlib import Path

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from sidecar import __version__
from sidecar.host import MAX_WEBHOOK_BYTES
from sidecar.web import api, auth, health, metrics, pages, webhooks
from sidecar.web.auth import LIMITER, LoginLimiter, csrf_token, logged_in
from sidecar.web.common import EXTENSION, SECRET_KEY_SETTING, Service, redact

log = logging.getLogger(__name__)

BLUEPRINTS = (health.bp, webhooks.bp, auth.bp, pages.bp, api.bp, metrics.bp)
OWN = frozenset({"auth", "pages", "api", "metrics"})
FORM_BODY_BYTES = 256 * 1024  # a settings form is a few KB; nothing of ours takes more
HERE = Path(__file__).resolve().parent
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # webhook URLs carry ?token=: never leak a Referer
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def create_app(service: Service, *, testing: bool = False) -> Flask:
    """The Flask app for ``service``; ``testing`` only sets Flask's TESTING flag."""
    app = Flask(__name__, template_folder=str(HERE / "templates"),
                static_folder=str(HERE / "static"))
    app.config.update(
        TESTING=testing,
        SECRET_KEY=_secret_key(service),
        SESSION_COOKIE_NAME="scanarr_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=dt.timedelta(days=30),
        MAX_CONTENT_LENGTH=MAX_WEBHOOK_BYTES,  # the largest body any route takes
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]  # keep lifecycle/priority order
    app.extensions[EXTENSION] = service
    app.extensions[LIMITER] = LoginLimiter()
    app.jinja_env.globals.update(csrf_token=csrf_token, logged_in=logged_in,
                                 version=__version__)
    app.before_request(_limit_body)
    app.after_request(_security_headers)
    app.register_error_handler(HTTPException, _http_error)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    return app


def _secret_key(service: Service) -> str:
    """The installation's session key: made once with ``secrets``, kept in the database."""
    key = service.store.stored_settings().get(SECRET_KEY_SETTING)
    if not key:
        key = secrets.token_hex(32)
        service.store.save_settings({SECRET_KEY_SETTING: key})
    return key


def _limit_body() -> None:
    """Our forms and JSON are small; only the webhook routes may take more (their own limit)."""
    if request.blueprint in OWN:
        request.max_content_length = FORM_BODY_BYTES


def _security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if not request.path.startswith("/static/"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def _http_error(exc: HTTPException) -> Response | tuple[Response | str, int]:
    """Errors as JSON for API clients, as a small page for people; text is scrubbed."""
    code = exc.code or 500
    message = str(redact(exc.description or exc.name))
    if request.path.startswith(("/api/", "/webhooks/")) or request.accept_mimetypes.best == (
            "application/json"):
        return jsonify(error=message), code
    return render_template("error.html", code=code, title=exc.name, message=message), code
