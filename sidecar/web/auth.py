"""Who may use the pages: the admin password, the session, CSRF tokens, login throttling.

* The password is set on the first visit (``/setup``) or pinned by
  ``SCANARR_ADMIN_PASSWORD``.  What the database stores is a werkzeug hash (scrypt), never
  the password.  The environment may hold either the password or such a hash.
* The session is Flask's signed cookie (HttpOnly, SameSite=Lax).  It carries a
  fingerprint of the stored hash, so changing the password logs every session out.
* CSRF: a random token per session, sent back in a hidden form field or (JSON API) in
  the ``X-CSRF-Token`` header, compared with ``hmac.compare_digest``.  Thirty lines of our
  own instead of Flask-WTF: no extra dependency, and the JSON API needs the header check
  anyway.  Webhooks are not in these blueprints: they carry the webhook secret instead.
* Wrong passwords: at most :data:`MAX_FAILURES` per client address per
  :data:`FAILURE_WINDOW_S`, then 429 until the oldest failure ages out.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask import Response as FlaskResponse
from werkzeug.security import check_password_hash, generate_password_hash
from werkzeug.wrappers import Response

from sidecar.errors import ConfigError
from sidecar.web.common import MIN_PASSWORD_LENGTH, safe_next, service

bp = Blueprint("auth", __name__)

MAX_FAILURES = 5
FAILURE_WINDOW_S = 300.0
HASH_PREFIXES = ("scrypt:", "pbkdf2:")
LIMITER = "scanarr.login_limiter"
CSRF_FIELD, CSRF_HEADER = "csrf_token", "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class LoginLimiter:
    """Failed logins per client address in a sliding window (memory only, clock injected)."""

    def __init__(self, max_failures: int = MAX_FAILURES, window: float = FAILURE_WINDOW_S, *,
                 clock: Callable[[], float] = time.monotonic, max_clients: int = 10_000) -> None:
        self.max_failures, self.window, self.clock = max_failures, window, clock
        self.max_clients = max_clients
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, client: str) -> int:
        """Seconds until ``client`` may try again; 0 when it may try now."""
        with self._lock:
            failures = self._recent(client)
            if len(failures) < self.max_failures:
                return 0
            return max(1, int(failures[0] + self.window - self.clock()) + 1)

    def failed(self, client: str) -> None:
        with self._lock:
            if len(self._failures) >= self.max_clients and client not in self._failures:
                self._failures.pop(next(iter(self._failures)))  # forget the oldest client
            self._recent(client).append(self.clock())

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._failures.pop(client, None)

    def _recent(self, client: str) -> deque[float]:
        failures = self._failures.setdefault(client, deque())
        while failures and failures[0] <= self.clock() - self.window:
            failures.popleft()
        return failures


# -- password -------------------------------------------------------------------------------


def stored_password() -> str:
    """The admin password setting as configured: a hash, or (environment only) plain text."""
    return service().settings.admin_password


def password_configured() -> bool:
    return bool(stored_password())


def is_hash(value: str) -> bool:
    return value.startswith(HASH_PREFIXES)


def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


def check_password(candidate: str) -> bool:
    """Constant-time check of ``candidate`` against the configured password."""
    stored = stored_password()
    if not stored or not candidate:
        return False
    if is_hash(stored):
        return check_password_hash(stored, candidate)
    return hmac.compare_digest(stored.encode(), candidate.encode())


def validate_new_password(password: str, confirm: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ConfigError("admin_password", f"must be at least {MIN_PASSWORD_LENGTH} characters")
    if password != confirm:
        raise ConfigError("admin_password", "the two entries differ")


def password_fingerprint() -> str:
    """Binds a session to the current password: a new password invalidates old sessions."""
    key = str(current_app.secret_key).encode()
    return hmac.new(key, stored_password().encode(), hashlib.sha256).hexdigest()[:32]


def logged_in() -> bool:
    mark = session.get("auth")
    return isinstance(mark, str) and hmac.compare_digest(mark, password_fingerprint())


def start_session() -> None:
    session.clear()
    session.permanent = True
    session["auth"] = password_fingerprint()
    session[CSRF_FIELD] = secrets.token_urlsafe(32)


# -- CSRF -----------------------------------------------------------------------------------


def csrf_token() -> str:
    """The session's token (created on first use); templates call it for every form."""
    token = session.get(CSRF_FIELD)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session[CSRF_FIELD] = token
    return token


def csrf_ok(*, header_only: bool = False) -> bool:
    expected = session.get(CSRF_FIELD)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and not header_only:
        sent = request.form.get(CSRF_FIELD)
    return isinstance(expected, str) and bool(sent) and hmac.compare_digest(
        expected.encode(), str(sent).encode())


def protect_form() -> None:
    """before_request for page blueprints: unsafe methods need the form (or header) token."""
    if request.method in UNSAFE_METHODS and not csrf_ok():
        abort(400, description="The form expired or did not come from this page "
                               "(missing or wrong CSRF token). Reload the page and try again.")


def require_page_login() -> Response | None:
    """before_request for pages: first-run setup, then login, then CSRF."""
    if not password_configured():
        return redirect(url_for("auth.setup"))
    if not logged_in():
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    protect_form()
    return None


def require_api_login() -> tuple[FlaskResponse, int] | None:
    """before_request for the JSON API: 401 without a session, 403 without the CSRF header."""
    if not password_configured() or not logged_in():
        return jsonify(error="not logged in"), 401
    if request.method in UNSAFE_METHODS and not csrf_ok(header_only=True):
        return jsonify(error=f"missing or wrong {CSRF_HEADER} header"), 403
    return None


# -- routes ---------------------------------------------------------------------------------


def limiter() -> LoginLimiter:
    found: LoginLimiter = current_app.extensions[LIMITER]
    return found


@bp.before_request
def _csrf() -> None:
    protect_form()


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | str | tuple[str, int]:
    if not password_configured():
        return redirect(url_for("auth.setup"))
    target = safe_next(request.values.get("next"))
    if request.method == "GET":
        return render_template("login.html", next=target)
    client = request.remote_addr or "unknown"
    wait = limiter().retry_after(client)
    if wait:
        return _too_many(wait, target)
    if not check_password(request.form.get("password", "")):
        limiter().failed(client)
        current_app.logger.warning("failed admin login from %s", client)
        return render_template("login.html", next=target, error="Wrong password."), 401
    limiter().succeeded(client)
    start_session()
    return redirect(target)


def _too_many(wait: int, target: str) -> Response:
    page = render_template("login.html", next=target,
                           error=f"Too many wrong passwords. Try again in {wait} seconds.")
    response = current_app.make_response((page, 429))
    response.headers["Retry-After"] = str(wait)
    return response


@bp.post("/logout")
def logout() -> Response:
    session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/setup", methods=["GET", "POST"])
def setup() -> Response | str | tuple[str, int]:
    """First run: choose the admin password (only while none is configured)."""
    if password_configured():
        return redirect(url_for("pages.status"))
    if request.method == "GET":
        return render_template("setup.html")
    password = request.form.get("password", "")
    try:
        validate_new_password(password, request.form.get("confirm", ""))
        service().save_settings({"admin_password": hash_password(password)})
    except ConfigError as exc:
        return render_template("setup.html", error=exc.problem), 400
    start_session()
    flash("Admin password saved. Next: set your TMDB key and library folders.", "ok")
    return redirect(url_for("pages.settings"))
