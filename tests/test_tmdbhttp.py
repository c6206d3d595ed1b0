"""The pure pieces of the TMDB HTTP policy: key handling, Retry-After, stats."""

from __future__ import annotations

import email.utils
import logging
import threading

import pytest

from sidecar.errors import NoApiKey
from sidecar.tmdbhttp import ClientStats, Credentials, content_hash, parse_retry_after

V3_KEY = "0123456789abcdef0123456789abcdef"
V4_TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJhdWQiOiIwMTIzIn0.c2lnbmF0dXJlLWJ5dGVz"


@pytest.mark.parametrize(("key", "kind"), [
    (V3_KEY, "v3"), (V3_KEY.upper(), "v3"), (f"  {V3_KEY}\n", "v3"), (V4_TOKEN, "v4"),
    ("eyJnot-a-jwt", "v3"), (None, None), ("", None),
])
def test_key_kind_is_told_by_its_form(key: str | None, kind: str | None) -> None:
    assert Credentials(key).kind == kind


def test_applying_credentials() -> None:
    params: dict[str, object] = {}
    headers: dict[str, str] = {}
    Credentials(V3_KEY).apply(params, headers)
    assert params == {"api_key": V3_KEY} and headers == {}
    params, headers = {}, {}
    Credentials(V4_TOKEN).apply(params, headers)
    assert params == {} and headers == {"Authorization": f"Bearer {V4_TOKEN}"}
    with pytest.raises(NoApiKey):
        Credentials(None).apply({}, {})


def test_odd_keys_warn_without_showing_the_key(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    creds = Credentials("test-key-for-a-fake-server")
    assert creds.kind == "v3"
    assert "neither" in caplog.text and "test-key-for-a-fake-server" not in caplog.text
    assert "test-key" not in repr(creds)


def test_mask_hides_the_key_and_any_query_key() -> None:
    creds = Credentials(V3_KEY)
    assert creds.mask(f"url?api_key={V3_KEY}&x=1 and {V3_KEY}") == "url?api_key=***&x=1 and ***"
    assert Credentials(None).mask("a?api_key=other") == "a?api_key=***"


def test_retry_after_forms() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after("5", now) == 5.0
    assert parse_retry_after(" 2.5 ", now) == 2.5
    assert parse_retry_after("-3", now) == 0.0
    assert parse_retry_after(email.utils.formatdate(now + 30, usegmt=True), now) == 30.0
    assert parse_retry_after(email.utils.formatdate(now - 30, usegmt=True), now) == 0.0
    for junk in (None, "", "soon", "Wed, 99 Foo 2024"):
        assert parse_retry_after(junk, now) is None


def test_content_hash_ignores_key_order_only() -> None:
    assert content_hash({"a": 1, "b": [1, 2]}) == content_hash({"b": [1, 2], "a": 1})
    assert content_hash({"a": 1, "b": [1, 2]}) != content_hash({"a": 1, "b": [2, 1]})
    assert content_hash({"t": "Amélie"}) == content_hash({"t": "Am\u00e9lie"})


def test_stats_are_thread_safe() -> None:
    stats = ClientStats()

    def bump() -> None:
        for _ in range(1000):
            stats.bump("requests")
            stats.error("unavailable")

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert stats.as_dict() == {"requests": 4000, "rate_limited": 0, "retries": 0,
                               "not_modified": 0, "image_requests": 0,
                               "errors": {"unavailable": 4000}}
