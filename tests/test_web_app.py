"""The app factory: blueprints, session key, headers, limits, errors (sidecar/web/__init__.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from sidecar.config import manifest
from sidecar.web import FORM_BODY_BYTES, SECURITY_HEADERS, create_app
from sidecar.web.common import EXTENSION, SECRET_KEY_SETTING, safe_next
from tests.fakes.fake_service import FakeService
from tests.web_support import login, make_app, post


def test_service_is_kept_in_extensions(tmp_path: Path) -> None:
    app, service = make_app(tmp_path)
    assert app.extensions[EXTENSION] is service
    assert app.testing


def test_session_key_is_random_persisted_and_reused(tmp_path: Path) -> None:
    first, service = make_app(tmp_path)
    key = service.store.stored_settings()[SECRET_KEY_SETTING]
    assert first.secret_key == key and len(key) == 64
    again = create_app(service)
    assert again.secret_key == key  # sessions survive a restart
    other, _ = make_app(tmp_path / "other")
    assert other.secret_key != key  # never a constant


def test_security_headers_on_pages_api_and_errors(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path)
    client = app.test_client()
    login(client)
    for url in ("/", "/settings", "/login", "/api/status", "/manifest.json", "/nope"):
        answer = client.get(url)
        for name, value in SECURITY_HEADERS.items():
            assert answer.headers[name] == value, (url, name)
        assert answer.headers["Cache-Control"] == "no-store"
    csp = SECURITY_HEADERS["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    static = client.get("/static/style.css")
    assert static.status_code == 200 and "no-store" not in static.headers.get(
        "Cache-Control", "")


def test_pages_have_no_inline_script_or_style(tmp_path: Path) -> None:
    app, service = make_app(tmp_path)
    client = app.test_client()
    login(client)
    service.add_error("/lib/x.mkv", candidates=[{"tmdb_id": 1, "title": "X"}])
    for url in ("/", "/settings"):
        html = client.get(url).get_data(as_text=True)
        assert "<script>" not in html and "style=" not in html and "<style" not in html
        assert not re.search(r"\son[a-z]+=", html)  # no inline event handlers


def test_body_limit_for_pages_and_app(tmp_path: Path) -> None:
    from sidecar.host import MAX_WEBHOOK_BYTES

    app, _ = make_app(tmp_path)
    assert app.config["MAX_CONTENT_LENGTH"] == MAX_WEBHOOK_BYTES
    client = app.test_client()
    login(client)
    huge = post(client, "/settings", {"language": "x" * (FORM_BODY_BYTES + 10)})
    assert huge.status_code == 413
    fine = post(client, "/settings", {"language": "x" * (FORM_BODY_BYTES // 2)})
    assert fine.status_code == 400  # read, then refused as a bad language


def test_manifest_is_public_and_holds_no_secrets(tmp_path: Path) -> None:
    app, _service = make_app(tmp_path, {"SCANARR_TMDB_API_KEY": "k" * 32})
    answer = app.test_client().get("/manifest.json")
    assert answer.status_code == 200
    assert answer.get_json() == manifest()
    assert "k" * 32 not in answer.get_data(as_text=True)
    assert "Set-Cookie" not in answer.headers


def test_error_pages_html_for_people_json_for_clients(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path)
    client = app.test_client()
    page = client.get("/missing")
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert "404 Not Found" in page.get_data(as_text=True)
    api = client.get("/missing", headers={"Accept": "application/json"})
    assert api.mimetype == "application/json" and "error" in json.loads(api.data)
    assert client.get("/webhooks/nothing").mimetype == "application/json"


def test_every_blueprint_is_served(tmp_path: Path) -> None:
    rules = {rule.rule for rule in create_app(FakeService(tmp_path / "data")).url_map.iter_rules()}
    for route in ("/settings", "/metrics", "/manifest.json", "/healthz",
                  "/webhooks/<any(plex, jellyfin):host>", "/api/status", "/login"):
        assert route in rules


@pytest.mark.parametrize(("target", "expected"), [
    ("/settings", "/settings"), ("/?x=1", "/?x=1"), (None, "/"), ("", "/"),
    ("//evil.com", "/"), ("http://evil.com", "/"), ("/\\evil.com", "/"), ("evil", "/")])
def test_safe_next(target: str | None, expected: str) -> None:
    assert safe_next(target) == expected
