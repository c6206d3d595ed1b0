"""Hostile input and secret hygiene across every page and API answer."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from sidecar.web.common import SECRET_KEY_SETTING
from tests.fakes.fake_service import FakeService
from tests.web_support import PASSWORD, api_post, login, make_app, post

TMDB_KEY = "feedfacefeedfacefeedfacefeedface"
HOST_TOKEN = "plex-token-Zq8s7d6f5g4h"
WEBHOOK = "webhook-secret-Xy7Wv6Ut5Sr4Qp3"
EVIL_PATH = "/lib/Movies/<script>alert(1)</script>.mkv"
EVIL_TITLE = '<img src=x onerror="alert(2)">'
RAW_MARKUP = ("<script>alert(1)</script>", "<img src=x", 'onerror="alert')


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Flask, FakeService, FlaskClient]:
    app, service = make_app(tmp_path)
    service.store.save_settings({"tmdb_api_key": TMDB_KEY, "host_token": HOST_TOKEN,
                                 "webhook_secret": WEBHOOK, "host": "plex",
                                 "host_url": "http://plex:32400"})
    service.add_error(EVIL_PATH, message=f"TMDB said {EVIL_TITLE}",
                      candidates=[{"tmdb_id": 7, "title": EVIL_TITLE, "year": 2001}])
    client = app.test_client()
    login(client)
    return app, service, client


def secrets_of(app: Flask, service: FakeService) -> list[str]:
    stored = service.store.stored_settings()
    return [TMDB_KEY, HOST_TOKEN, WEBHOOK, PASSWORD, stored["admin_password"],
            stored[SECRET_KEY_SETTING]]


def get_urls(app: Flask) -> list[str]:
    """Every GET route without parameters, plus the query forms the pages use."""
    urls = [rule.rule for rule in app.url_map.iter_rules()
            if "GET" in (rule.methods or ()) and not rule.arguments]
    return [*urls, "/api/items?state=ERROR", "/static/scanarr.js", "/no-such-page"]


def answers(app: Flask, client: FlaskClient) -> list[tuple[str, str, str]]:
    """(what, mimetype, full text incl. headers) for every GET route and page action."""
    seen = []
    for url in get_urls(app):
        answer = client.get(url)
        seen.append((url, answer.mimetype, str(answer.headers) + answer.get_data(as_text=True)))
    actions = [("/settings", {"language": "xx-invalid-"}), ("/settings/test/tmdb", {}),
               ("/settings/test/host", {}), ("/settings/test/library", {"path": "/none"}),
               ("/items/retry", {"path": EVIL_PATH}),
               ("/items/match", {"path": EVIL_PATH, "tmdb_id": "7"}),
               ("/scan", {"mode": "quick"})]
    for url, data in actions:
        answer = post(client, url, data, follow_redirects=True)
        seen.append((f"POST {url}", answer.mimetype,
                     str(answer.headers) + answer.get_data(as_text=True)))
    for url, payload in (("/api/scan", {"mode": "quick"}), ("/api/items/retry", {"path": "x"})):
        answer = api_post(client, url, payload)
        seen.append((f"POST {url}", answer.mimetype,
                     str(answer.headers) + answer.get_data(as_text=True)))
    return seen


def test_no_secret_in_any_page_api_answer_or_header(setup: tuple) -> None:
    app, service, client = setup
    service.tmdb_ok = False  # its error message quotes the key: it must be scrubbed
    hidden = secrets_of(app, service)
    checked = answers(app, client)
    assert len(checked) > 15
    for what, _, text in checked:
        for secret in hidden:
            assert secret not in text, f"a secret leaked in {what}"


def test_no_secret_in_the_log(setup: tuple, caplog: pytest.LogCaptureFixture) -> None:
    app, service, client = setup
    caplog.set_level(logging.DEBUG)
    service.tmdb_ok = False
    login(app.test_client(), "wrong password")
    answers(app, client)
    for secret in secrets_of(app, service):
        assert secret not in caplog.text


def test_webhook_secret_only_in_the_answers_that_show_it_on_request(setup: tuple) -> None:
    _app, service, client = setup
    shown = post(client, "/settings/webhook-urls").get_data(as_text=True)
    assert f"/webhooks/plex?token={WEBHOOK}" in shown
    for secret in (TMDB_KEY, HOST_TOKEN, service.store.stored_settings()["admin_password"]):
        assert secret not in shown
    rotated = post(client, "/settings/webhook-secret").get_data(as_text=True)
    assert WEBHOOK not in rotated and service.settings.webhook_secret in rotated


def test_markup_in_file_names_and_titles_is_escaped_on_every_page(setup: tuple) -> None:
    app, _, client = setup
    pages = [(what, text) for what, mimetype, text in answers(app, client)
             if mimetype == "text/html"]
    assert len(pages) >= 10
    for what, text in pages:  # JSON carries the raw text as data, served as JSON + nosniff
        for markup in RAW_MARKUP:
            assert markup not in text, f"unescaped markup in {what}"
    html = client.get("/").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;.mkv" in html
    assert "&lt;img src=x onerror=&#34;alert(2)&#34;&gt;" in html


def test_json_answers_are_json_not_html(setup: tuple) -> None:
    _, _, client = setup
    for url in ("/api/status", "/api/items?state=ERROR"):
        answer = client.get(url)
        assert answer.mimetype == "application/json"
        assert answer.headers["X-Content-Type-Options"] == "nosniff"


def test_cross_site_posts_are_rejected(setup: tuple) -> None:
    """A page elsewhere can make the browser send the cookie, never the session's token."""
    _, service, client = setup
    before = list(service.calls)
    forged = {"csrf_token": "guessed"}
    for url in ("/scan", "/settings", "/items/retry", "/settings/webhook-secret"):
        assert client.post(url, data={**forged, "mode": "full"}).status_code == 400
    for url in ("/api/scan", "/api/items/match"):
        assert client.post(url, json={"mode": "full"},
                           headers={"X-CSRF-Token": "guessed"}).status_code == 403
    assert service.calls == before
