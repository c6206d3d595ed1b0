"""The JSON API (sidecar/web/api.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient

from sidecar.workqueue import Priority
from tests.fakes.fake_service import FakeService
from tests.web_support import api_post, logged_in

MOVIE = "/lib/Movies/Heat (1995)/Heat (1995).mkv"


@pytest.fixture
def setup(tmp_path: Path) -> tuple[FakeService, FlaskClient]:
    _, service, client = logged_in(tmp_path)
    return service, client


def test_status_is_the_page_s_view(setup: tuple) -> None:
    service, client = setup
    service.progress_report.update(running=True, mode="quick", phase="fetching", done=1,
                                   total=4, eta_seconds=3)
    data = client.get("/api/status").get_json()
    assert data["progress"]["percent"] == 25
    assert data["progress_text"] == "Quick scan: fetching 1 / 4."
    assert data["eta_text"] == "0:03"
    assert set(data["counts"]) == {"NEW", "PROCESSING", "INDEXED", "STALE", "CHANGED",
                                   "MISSING", "ERROR"}
    assert data["queue_by_priority"]["LOW"] == 4


def test_scan_starts_then_conflicts(setup: tuple) -> None:
    service, client = setup
    first = api_post(client, "/api/scan", {"mode": "full", "paths": ["/lib/Movies"]})
    assert first.status_code == 202 and first.get_json() == {"started": True, "mode": "full"}
    assert service.calls[-1] == ("start_scan", "full", Priority.CRITICAL, ("/lib/Movies",),
                                 "api")
    again = api_post(client, "/api/scan", {"mode": "quick"})
    assert again.status_code == 409 and again.get_json()["started"] is False


@pytest.mark.parametrize("body", [{"mode": "turbo"}, {"mode": "quick", "paths": "/x"},
                                  {"mode": "quick", "paths": [1]}])
def test_scan_rejects_bad_input(setup: tuple, body: dict) -> None:
    _, client = setup
    answer = api_post(client, "/api/scan", body)
    assert answer.status_code == 400 and "error" in answer.get_json()


def test_items_by_state_with_paging(setup: tuple) -> None:
    service, client = setup
    service.add_error(MOVIE, candidates=[{"tmdb_id": 949, "title": "Heat", "year": 1995,
                                          "score": 0.8, "poster_path": "/p.jpg"}])
    service.add_error("/lib/b.mkv")
    errors = client.get("/api/items?state=error&limit=1").get_json()
    assert errors["limit"] == 1 and len(errors["items"]) == 1
    item = client.get("/api/items?state=ERROR&offset=0").get_json()["items"][0]
    assert item["path"] == MOVIE and item["state"] == "ERROR"
    assert item["error_reason"] == "ambiguous"
    assert item["candidates"] == [{"tmdb_id": 949, "tmdb_type": None, "title": "Heat",
                                   "year": 1995, "score": 0.8}]
    assert len(client.get("/api/items").get_json()["items"]) == 2
    assert client.get("/api/items?state=INDEXED").get_json()["items"] == []


@pytest.mark.parametrize("query", ["state=BROKEN", "limit=x", "offset=y"])
def test_items_rejects_bad_queries(setup: tuple, query: str) -> None:
    _, client = setup
    assert client.get(f"/api/items?{query}").status_code == 400


def test_retry_and_match(setup: tuple) -> None:
    service, client = setup
    service.add_error(MOVIE)
    assert api_post(client, "/api/items/retry", {"path": MOVIE}).get_json() == {
        "ok": True, "path": MOVIE, "retrying": True}
    answer = api_post(client, "/api/items/match", {"path": MOVIE, "tmdb_id": "949"})
    assert answer.status_code == 200 and answer.get_json()["tmdb_id"] == 949
    assert service.calls[-1] == ("fix_match", MOVIE, 949)


def test_retry_and_match_errors(setup: tuple) -> None:
    _service, client = setup
    assert api_post(client, "/api/items/retry", {"path": "/nope.mkv"}).status_code == 404
    assert api_post(client, "/api/items/retry", {}).status_code == 400
    for bad in (0, -1, "x", True, 1.5, None):
        answer = api_post(client, "/api/items/match", {"path": MOVIE, "tmdb_id": bad})
        assert answer.status_code == 400, bad


def test_service_bad_request_keeps_its_status(setup: tuple, monkeypatch: pytest.MonkeyPatch
                                              ) -> None:
    from sidecar.errors import BadRequest

    service, client = setup

    def busy(path: str) -> None:
        raise BadRequest(f"{path} is INDEXED, not in ERROR", status=409)

    monkeypatch.setattr(service, "retry", busy)
    answer = api_post(client, "/api/items/retry", {"path": MOVIE})
    assert answer.status_code == 409 and "not in ERROR" in answer.get_json()["error"]


def test_unknown_api_route_is_json(setup: tuple) -> None:
    _, client = setup
    answer = client.get("/api/nothing")
    assert answer.status_code == 404 and "error" in answer.get_json()
    assert client.put("/api/scan", headers={"X-CSRF-Token": "x"}).status_code in (403, 405)
