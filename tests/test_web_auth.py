"""Login, first-run setup, sessions, CSRF and login throttling (sidecar/web/auth.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from sidecar.web.auth import LIMITER, LoginLimiter, check_password, is_hash
from tests.web_support import PASSWORD, api_post, csrf_of, login, make_app, post


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    return make_app(tmp_path)[0]


def test_pages_redirect_to_login_and_api_answers_401(app: Flask) -> None:
    client = app.test_client()
    for url in ("/", "/settings"):
        answer = client.get(url)
        assert answer.status_code == 302
        assert "/login?next=" in answer.headers["Location"]
    for url in ("/api/status", "/api/items"):
        assert client.get(url).get_json() == {"error": "not logged in"}
    for url in ("/api/scan", "/api/items/retry", "/api/items/match"):
        assert client.post(url, json={}).status_code == 401
    for url in ("/scan", "/items/retry", "/items/match", "/settings", "/settings/test/tmdb"):
        assert client.post(url, data={}).status_code == 302  # to the login page


def test_login_then_pages_open_and_next_is_followed(app: Flask) -> None:
    client = app.test_client()
    answer = client.post("/login", data={"password": PASSWORD, "next": "/settings",
                                         "csrf_token": csrf_of(client)})
    assert answer.status_code == 302 and answer.headers["Location"] == "/settings"
    assert client.get("/").status_code == 200
    assert client.get("/api/status").status_code == 200


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil"])
def test_login_never_redirects_off_site(app: Flask, target: str) -> None:
    client = app.test_client()
    answer = client.post("/login", data={"password": PASSWORD, "next": target,
                                         "csrf_token": csrf_of(client)})
    assert answer.headers["Location"] == "/"


def test_wrong_password_is_401_with_message(app: Flask) -> None:
    client = app.test_client()
    answer = login(client, "nope")
    assert answer.status_code == 401
    assert "Wrong password." in answer.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_five_wrong_passwords_then_429_even_for_the_right_one(app: Flask) -> None:
    now = [1000.0]
    app.extensions[LIMITER] = LoginLimiter(clock=lambda: now[0])
    client = app.test_client()
    for _ in range(5):
        assert login(client, "wrong").status_code == 401
    blocked = login(client)
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0
    assert "Too many wrong passwords" in blocked.get_data(as_text=True)
    now[0] += 301  # the window passes
    assert login(client).status_code == 302


def test_throttling_is_per_client_address(app: Flask) -> None:
    client = app.test_client()
    for _ in range(5):
        client.post("/login", data={"password": "x", "csrf_token": csrf_of(client)},
                    environ_base={"REMOTE_ADDR": "10.0.0.9"})
    other = client.post("/login", data={"password": PASSWORD, "csrf_token": csrf_of(client)},
                        environ_base={"REMOTE_ADDR": "10.0.0.10"})
    assert other.status_code == 302


def test_limiter_forgets_oldest_client_when_full() -> None:
    limiter = LoginLimiter(max_failures=1, clock=lambda: 0.0, max_clients=2)
    for client in ("a", "b", "c"):
        limiter.failed(client)
    assert limiter.retry_after("a") == 0
    assert limiter.retry_after("c") > 0


def test_login_without_csrf_is_rejected(app: Flask) -> None:
    client = app.test_client()
    answer = client.post("/login", data={"password": PASSWORD})
    assert answer.status_code == 400
    assert "CSRF" in answer.get_data(as_text=True)
    assert client.post("/login", data={"password": PASSWORD, "csrf_token": "forged"}
                       ).status_code == 400


def test_logout_needs_csrf_and_ends_the_session(app: Flask) -> None:
    client = app.test_client()
    login(client)
    assert client.post("/logout").status_code == 400
    assert post(client, "/logout").status_code == 302
    assert client.get("/").status_code == 302


def test_first_run_setup_stores_a_hash(tmp_path: Path) -> None:
    app, service = make_app(tmp_path, password=None)
    client = app.test_client()
    assert client.get("/").headers["Location"].endswith("/setup")
    assert client.get("/login").headers["Location"].endswith("/setup")
    assert client.get("/api/status").status_code == 401
    short = post(client, "/setup", {"password": "short", "confirm": "short"})
    assert short.status_code == 400 and "at least 8" in short.get_data(as_text=True)
    differ = post(client, "/setup", {"password": "long enough", "confirm": "long enougH"})
    assert differ.status_code == 400 and "differ" in differ.get_data(as_text=True)
    done = post(client, "/setup", {"password": "long enough", "confirm": "long enough"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/settings")
    stored = service.store.stored_settings()["admin_password"]
    assert is_hash(stored) and "long enough" not in stored
    assert client.get("/settings").status_code == 200  # logged in by the setup
    assert client.get("/setup").status_code == 302  # setup is over


def test_password_from_environment(tmp_path: Path) -> None:
    app, _ = make_app(tmp_path, {"SCANARR_ADMIN_PASSWORD": "from the env"})
    client = app.test_client()
    assert login(client, PASSWORD).status_code == 401
    assert login(client, "from the env").status_code == 302


def test_environment_may_hold_a_hash(tmp_path: Path) -> None:
    from sidecar.web.auth import hash_password

    app, _ = make_app(tmp_path, {"SCANARR_ADMIN_PASSWORD": hash_password("hashed pw")})
    client = app.test_client()
    assert login(client, "hashed pw").status_code == 302


def test_changing_the_password_ends_other_sessions(tmp_path: Path) -> None:
    app, service = make_app(tmp_path)
    first, second = app.test_client(), app.test_client()
    login(first)
    login(second)
    assert post(first, "/settings", {"admin_password": "a brand new one"}).status_code == 302
    assert second.get("/").status_code == 302  # the old password's session is gone
    assert first.get("/").status_code == 200  # the one that changed it carries on
    with app.app_context():
        assert check_password("a brand new one")
    assert is_hash(service.store.stored_settings()["admin_password"])


def test_session_cookie_flags(app: Flask) -> None:
    client = app.test_client()
    answer = login(client)
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert cookie.startswith("scanarr_session=")


def test_api_post_needs_the_csrf_header_not_just_the_cookie(app: Flask) -> None:
    client = app.test_client()
    login(client)
    bare = client.post("/api/scan", json={"mode": "quick"})
    assert bare.status_code == 403
    in_form = client.post("/api/scan", data={"mode": "quick", "csrf_token": csrf_of(client)})
    assert in_form.status_code == 403  # a form field is not enough for the API
    assert api_post(client, "/api/scan", {"mode": "quick"}).status_code == 202
