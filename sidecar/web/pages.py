"""The two pages a person uses: status (``/``) and settings (``/settings``), plus their forms.

Server-rendered Jinja (autoescaped) with one small script for the live progress bar; every
form posts here with a CSRF token and is answered with a redirect (post/redirect/get), so a
reload never repeats an action.  ``/manifest.json`` is the one public route of this
blueprint: it holds no secrets, only identity, routes and the settings schema.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from sidecar.config import SOURCE_ENV, manifest
from sidecar.errors import ConfigError, ScanarrError
from sidecar.web import forms, statusview
from sidecar.web.auth import hash_password, require_page_login, start_session
from sidecar.web.common import redact, service
from sidecar.workqueue import Priority

bp = Blueprint("pages", __name__)
PUBLIC = frozenset({"pages.manifest_json"})
SCAN_MODES = ("quick", "refresh", "full")
TESTS = ("tmdb", "host", "library")
WEBHOOK_KEY = "webhook_secret"


@bp.before_request
def _login() -> Response | None:
    if request.endpoint in PUBLIC:
        return None
    return require_page_login()


@bp.get("/manifest.json")
def manifest_json() -> Response:
    return jsonify(manifest())


# -- status -------------------------------------------------------------------------------


@bp.get("/")
def status() -> str:
    view = statusview.build(redact(service().status()))
    return render_template("status.html", view=view, modes=SCAN_MODES)


@bp.post("/scan")
def scan() -> Response:
    mode = request.form.get("mode", "quick")
    if mode not in SCAN_MODES:
        flash(f"Unknown scan mode {mode!r}.", "error")
        return redirect(url_for("pages.status"))
    priority = Priority.CRITICAL if mode == "full" else None
    if service().start_scan(mode, priority=priority, trigger="web"):
        flash(f"{mode.capitalize()} scan started.", "ok")
    else:
        flash("A scan is already running; wait for it to finish.", "error")
    return redirect(url_for("pages.status"))


@bp.post("/items/retry")
def retry() -> Response:
    path = request.form.get("path", "")
    _act(lambda: service().retry(path), f"{path} will be tried again now.")
    return redirect(url_for("pages.status") + "#errors")


@bp.post("/items/match")
def fix_match() -> Response:
    path = request.form.get("path", "")
    text = request.form.get("tmdb_id", "").strip()
    if not text.isdigit() or int(text) <= 0:
        flash(f"A TMDB id is a positive whole number, got {text!r}.", "error")
    else:
        tmdb_id = int(text)
        _act(lambda: service().fix_match(path, tmdb_id),
             f"{path}: matched to TMDB id {tmdb_id}; fetching it now.")
    return redirect(url_for("pages.status") + "#errors")


def _act(action: Callable[[], None], done: str) -> None:
    """Run a service action; its ScanarrError (or unknown path) becomes a message."""
    try:
        action()
    except (ScanarrError, LookupError, ValueError) as exc:
        flash(redact(_message(exc)), "error")
    else:
        flash(done, "ok")


def _message(exc: Exception) -> str:
    if isinstance(exc, KeyError) and exc.args:
        return f"Not in the library: {exc.args[0]}"
    return str(exc) or exc.__class__.__name__


# -- settings -----------------------------------------------------------------------------


@bp.get("/settings")
def settings() -> str:
    return _settings_page()


@bp.post("/settings")
def save_settings() -> Response | tuple[str, int]:
    current = service().settings
    changed, errors, submitted = forms.read_form(request.form, current,
                                                 request.form.getlist(forms.SHOWN))
    if not errors and changed:
        if changed.get(forms.HASHED):
            changed[forms.HASHED] = hash_password(changed[forms.HASHED])
        try:
            service().save_settings(changed)
        except ConfigError as exc:
            errors[exc.setting] = redact(exc.problem)
    if errors:
        flash(f"Not saved: {len(errors)} setting(s) need fixing.", "error")
        return _settings_page(submitted, errors), 400
    if forms.HASHED in changed:
        start_session()  # other sessions end with the old password; this one carries on
    flash(f"Saved {len(changed)} setting(s); they apply now." if changed else
          "Nothing changed.", "ok")
    return redirect(url_for("pages.settings"))


@bp.post("/settings/webhook-secret")
def rotate_webhook_secret() -> Response | str:
    """A new secret; this answer shows it in the webhook URLs (the old URLs stop working)."""
    if service().settings.source(WEBHOOK_KEY) == SOURCE_ENV:
        flash("The webhook secret is set by SCANARR_WEBHOOK_SECRET in the environment.",
              "error")
        return redirect(url_for("pages.settings"))
    secret = secrets.token_urlsafe(32)
    service().save_settings({WEBHOOK_KEY: secret})
    flash("New webhook secret: copy the URLs below into your media server now. "
          "The old URLs stop working.", "ok")
    return _settings_page(reveal=secret)


@bp.post("/settings/webhook-urls")
def reveal_webhook_urls() -> Response | str:
    """The current secret in the webhook URLs, on explicit request only (POST, no-store)."""
    secret = service().settings.webhook_secret
    if not secret:
        flash("There is no webhook secret yet: generate one first.", "error")
        return redirect(url_for("pages.settings"))
    return _settings_page(reveal=secret)


@bp.post("/settings/test/<kind>")
def run_test(kind: str) -> Response:
    if kind not in TESTS:
        flash(f"Unknown test {kind!r}.", "error")
        return redirect(url_for("pages.settings"))
    svc = service()
    path = request.form.get("path", "")
    calls = {"tmdb": svc.test_tmdb, "host": svc.test_host,
             "library": lambda: svc.test_library(path)}
    try:
        flash(f"Test {kind}: {redact(calls[kind]())}", "ok")
    except (ScanarrError, OSError, ValueError) as exc:
        flash(f"Test {kind} failed: {redact(_message(exc))}", "error")
    return redirect(url_for("pages.settings") + f"#test-{kind}")


def _settings_page(submitted: Mapping[str, str] | None = None,
                   errors: Mapping[str, str] | None = None, reveal: str | None = None) -> str:
    current = service().settings
    groups = forms.groups(forms.fields(current, submitted, errors))
    return render_template("settings.html", groups=groups, webhooks=_webhook_urls(reveal),
                           revealed=reveal is not None, roots=current.libraries,
                           webhook_locked=current.source(WEBHOOK_KEY) == SOURCE_ENV,
                           webhook_set=bool(current.webhook_secret))


def _webhook_urls(reveal: str | None) -> list[dict[str, str]]:
    """Each host's webhook URL as this browser reaches Scanarr (token hidden unless new)."""
    base = request.host_url.rstrip("/")
    token = reveal if reveal is not None else "WEBHOOK_SECRET"
    return [{"host": name, "url": f"{base}{spec['webhook']}?token={token}"}
            for name, spec in manifest()["hosts"].items()]
