"""Helpers shared by the web tests (``tests/test_web_*.py``): an app over a fake service,
and a logged-in client that knows its CSRF token."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash

from sidecar.web import create_app
from tests.fakes.fake_service import FakeService

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_app(tmp_path: Path, env: Mapping[str, str] | None = None, *,
             password: str | None = PASSWORD) -> tuple[Flask, FakeService]:
    service = FakeService(tmp_path / "data", env)
    if password is not None and "SCANARR_ADMIN_PASSWORD" not in service.env:
        # A cheap hash keeps the tests fast; the app itself stores scrypt (test_web_auth).
        fast = generate_password_hash(password, method="pbkdf2:sha256:1000")
        service.store.save_settings({"admin_password": fast})
    return create_app(service, testing=True), service


def logged_in(tmp_path: Path, env: Mapping[str, str] | None = None
              ) -> tuple[Flask, FakeService, FlaskClient]:
    """``make_app`` plus a client already past the login page: what most page tests start from."""
    app, service = make_app(tmp_path, env)
    client = app.test_client()
    login(client)
    return app, service, client


def csrf_of(client: FlaskClient) -> str:
    """The session's CSRF token (creating the session with a GET if needed)."""
    with client.session_transaction() as session:
        token = session.get("csrf_token")
    if token is None:
        page = client.get("/login", follow_redirects=True).get_data(as_text=True)
        match = CSRF.search(page)
        assert match, "no CSRF token on the login page"
        token = match.group(1)
    return str(token)


def login(client: FlaskClient, password: str = PASSWORD) -> Any:
    return client.post("/login", data={"password": password, "csrf_token": csrf_of(client)})


def post(client: FlaskClient, url: str, data: Mapping[str, Any] | None = None,
         **kw: Any) -> Any:
    """A form POST with the session's CSRF token."""
    return client.post(url, data={"csrf_token": csrf_of(client), **(data or {})}, **kw)


def api_post(client: FlaskClient, url: str, payload: Mapping[str, Any]) -> Any:
    return client.post(url, json=dict(payload), headers={"X-CSRF-Token": csrf_of(client)})
