"""The web layer over the real ``sidecar.service.Service`` (in-process, fake TMDB on loopback).

The other web tests use a scripted fake; these make sure the pages and the API fit the
real service's answers: its status report, its errors, its metrics and its live settings.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from sidecar.service import Service
from sidecar.web import create_app
from tests.fakes.fake_tmdb import FakeTmdb, running_fake_tmdb
from tests.fakes.tmdb_catalog import AMBIGUOUS_CATALOG
from tests.test_web_metrics import SAMPLE
from tests.web_support import api_post, login, post

PASSWORD = "service test password"
ROBOCOP = "Movies/RoboCop/RoboCop.mkv"
HEAT = "Movies/Heat (1995)/Heat (1995).mkv"


@pytest.fixture
def tmdb() -> Iterator[FakeTmdb]:
    with running_fake_tmdb(catalog=AMBIGUOUS_CATALOG, auto=False, rate_limit=0) as fake:
        fake.catalog.load({"movies": [{"id": 949, "title": "Heat", "year": 1995}]})
        yield fake


@pytest.fixture
def served(tmp_path: Path, tmdb: FakeTmdb) -> Iterator[tuple[Service, FlaskClient, Path]]:
    library = tmp_path / "library"
    for relative in (ROBOCOP, HEAT):
        path = library / relative
        path.parent.mkdir(parents=True)
        path.write_bytes(b"\0" * 100)
        os.utime(path, (1_600_000_000, 1_600_000_000))
    service = Service({"SCANARR_DATA_DIR": str(tmp_path / "data"),
                       "SCANARR_ADMIN_PASSWORD": PASSWORD,
                       "SCANARR_LIBRARIES": str(library)})
    service.start()
    client = create_app(service).test_client()
    login(client, PASSWORD)
    try:
        yield service, client, library
    finally:
        service.stop()


def wait_idle(client: FlaskClient, timeout: float = 20.0, settled: int = 0) -> dict:
    """The status view once no scan runs and ``settled`` items are INDEXED or in ERROR
    (saving a new key already queues waiting items, so work may end before any scan)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        view = client.get("/api/status").get_json()
        counts = view["counts"]
        if not view["progress"]["running"] and counts["INDEXED"] + counts["ERROR"] >= settled:
            return dict(view)
        time.sleep(0.1)
    raise AssertionError("the work did not finish")


def test_settings_apply_live_and_a_scan_runs_from_the_page(served: tuple, tmdb: FakeTmdb
                                                           ) -> None:
    service, client, library = served
    wait_idle(client)  # the start-up scan (no key yet: it only walks)
    saved = post(client, "/settings", {"tmdb_api_url": tmdb.url, "tmdb_api_key": tmdb.api_key,
                                       "scan_interval": "45"})
    assert saved.status_code == 302
    assert service.settings.has_tmdb_key and service.scheduler.interval_minutes == 45
    html = client.get("/settings").get_data(as_text=True)
    assert "Read-only: set by SCANARR_LIBRARIES in the environment." in html
    assert tmdb.api_key not in html
    assert post(client, "/scan", {"mode": "quick"}).status_code == 302
    view = wait_idle(client, settled=2)
    assert view["counts"]["INDEXED"] == 1 and view["counts"]["ERROR"] == 1
    assert view["progress"]["percent"] == 100
    error = view["recent_errors"][0]
    assert error["path"] == str(library / ROBOCOP) and error["reason"] == "ambiguous"
    assert {c["tmdb_id"] for c in error["candidates"]} >= {5548, 97020}
    page = client.get("/").get_data(as_text=True)
    assert "several close candidates" in page and 'value="5548"' in page


def test_fix_match_retry_and_the_service_s_refusals(served: tuple, tmdb: FakeTmdb) -> None:
    service, client, library = served
    wait_idle(client)
    service.save_settings({"tmdb_api_url": tmdb.url, "tmdb_api_key": tmdb.api_key})
    service.start_scan("quick")
    wait_idle(client, settled=2)
    robocop = str(library / ROBOCOP)
    not_error = api_post(client, "/api/items/retry", {"path": str(library / HEAT)})
    assert not_error.status_code == 409 and "not in ERROR" in not_error.get_json()["error"]
    unknown = api_post(client, "/api/items/match", {"path": "/nope.mkv", "tmdb_id": 1})
    assert unknown.status_code == 404
    picked = post(client, "/items/match", {"path": robocop, "tmdb_id": "5548"},
                  follow_redirects=True)
    assert "matched to TMDB id 5548" in picked.get_data(as_text=True)
    deadline = time.monotonic() + 20
    while service.store.get(robocop).state != "INDEXED":  # type: ignore[union-attr]
        assert time.monotonic() < deadline, "the fixed match was not fetched"
        time.sleep(0.1)
    assert service.store.get(robocop).tmdb_id == 5548  # type: ignore[union-attr]


def test_test_buttons_with_the_real_service(served: tuple, tmdb: FakeTmdb) -> None:
    service, client, library = served
    no_key = post(client, "/settings/test/tmdb", follow_redirects=True).get_data(as_text=True)
    assert "Test tmdb failed: no TMDB API key is configured" in no_key
    service.save_settings({"tmdb_api_url": tmdb.url, "tmdb_api_key": tmdb.api_key})
    ok = post(client, "/settings/test/tmdb", follow_redirects=True).get_data(as_text=True)
    assert "accepted the key" in ok
    host = post(client, "/settings/test/host", follow_redirects=True).get_data(as_text=True)
    assert "Test host failed" in host
    folder = post(client, "/settings/test/library", {"path": str(library)},
                  follow_redirects=True).get_data(as_text=True)
    assert "is readable and writable" in folder
    outside = post(client, "/settings/test/library", {"path": "/etc"},
                   follow_redirects=True).get_data(as_text=True)
    assert "Test library failed" in outside


def test_metrics_of_the_real_service_are_valid(served: tuple) -> None:
    _, client, _ = served
    wait_idle(client)
    text = client.get("/metrics").get_data(as_text=True)
    for line in text.splitlines():
        assert line.startswith("#") or SAMPLE.match(line), line
    for name in ("scanarr_items{state=", "scanarr_tmdb_requests_total",
                 "scanarr_tmdb_rate_limited_total", "scanarr_tmdb_retries_total",
                 "scanarr_queue_depth{priority=", "scanarr_scan_duration_seconds{mode=",
                 "scanarr_webhook_latency_seconds_count"):
        assert name in text, name
