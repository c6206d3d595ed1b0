"""The status page and its actions: scans, retry, fix match (sidecar/web/pages.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from sidecar.web import statusview
from sidecar.workqueue import Priority
from tests.fakes.fake_service import FakeService
from tests.web_support import logged_in, post

MOVIE = "/lib/Movies/Robocop.mkv"
CANDIDATES = [{"tmdb_id": 5548, "tmdb_type": "movie", "title": "RoboCop", "year": 1987,
               "score": 0.9}, {"tmdb_id": 97020, "title": "RoboCop", "year": 2014, "score": 0.9}]


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Flask, FakeService, FlaskClient]:
    return logged_in(tmp_path)


def test_status_page_shows_counts_queue_budget_runs_and_errors(setup: tuple) -> None:
    _, service, client = setup
    service.add_error(MOVIE, candidates=CANDIDATES)
    run = service.store.start_run("quick", trigger="web")
    service.store.finish_run(run, {"files": 3}, duration_ms=1500)
    html = client.get("/").get_data(as_text=True)
    assert 'id="count-ERROR">1<' in html
    assert 'data-bind="queue_by_priority.LOW">4<' in html
    assert 'data-bind="rate.limit">35<' in html
    assert "<td>1.5 s</td>" in html and "files 3" in html
    assert MOVIE in html and "ambiguous" in html and "two matches" in html
    assert 'value="5548"' in html and "RoboCop (1987) · #5548 · 0.9" in html
    assert 'id="no-key"' in html  # no TMDB key yet: the page says what to do


def test_progress_is_rendered_and_refreshed_by_the_script(setup: tuple) -> None:
    _, service, client = setup
    service.progress_report.update(running=True, mode="full", phase="fetching", done=3,
                                   total=12, eta_seconds=65)
    html = client.get("/").get_data(as_text=True)
    assert '<progress id="scan-progress" value="3" max="12">25%</progress>' in html
    assert "Full scan: fetching 3 / 12." in html and ">1:05<" in html
    assert 'data-running="true"' in html
    assert '<script src="/static/scanarr.js" defer></script>' in html
    script = client.get("/static/scanarr.js").get_data(as_text=True)
    assert "/api/status" in script and "innerHTML" not in script


@pytest.mark.parametrize(("mode", "priority"), [("quick", None), ("refresh", None),
                                                 ("full", Priority.CRITICAL)])
def test_scan_buttons(setup: tuple, mode: str, priority: Priority | None) -> None:
    _, service, client = setup
    answer = post(client, "/scan", {"mode": mode}, follow_redirects=True)
    assert f"{mode.capitalize()} scan started." in answer.get_data(as_text=True)
    assert service.calls[-1] == ("start_scan", mode, priority, (), "web")


def test_second_scan_is_refused_politely_and_unknown_mode_rejected(setup: tuple) -> None:
    _, _service, client = setup
    post(client, "/scan", {"mode": "quick"})
    again = post(client, "/scan", {"mode": "quick"}, follow_redirects=True)
    assert "A scan is already running" in again.get_data(as_text=True)
    bad = post(client, "/scan", {"mode": "everything"}, follow_redirects=True)
    assert "Unknown scan mode" in bad.get_data(as_text=True)


def test_retry_and_fix_match(setup: tuple) -> None:
    _, service, client = setup
    service.add_error(MOVIE, candidates=CANDIDATES)
    retried = post(client, "/items/retry", {"path": MOVIE}, follow_redirects=True)
    assert "will be tried again now" in retried.get_data(as_text=True)
    assert ("retry", MOVIE) in service.calls
    picked = post(client, "/items/match", {"path": MOVIE, "tmdb_id": "97020"},
                  follow_redirects=True)
    assert "matched to TMDB id 97020" in picked.get_data(as_text=True)
    assert service.calls[-1] == ("fix_match", MOVIE, 97020)


@pytest.mark.parametrize("tmdb_id", ["", "abc", "-3", "0", "1.5"])
def test_fix_match_needs_a_positive_id(setup: tuple, tmdb_id: str) -> None:
    _, service, client = setup
    service.add_error(MOVIE)
    answer = post(client, "/items/match", {"path": MOVIE, "tmdb_id": tmdb_id},
                  follow_redirects=True)
    assert "A TMDB id is a positive whole number" in answer.get_data(as_text=True)
    assert not [c for c in service.calls if c[0] == "fix_match"]


def test_actions_on_unknown_paths_say_so(setup: tuple) -> None:
    _, _, client = setup
    answer = post(client, "/items/retry", {"path": "/nowhere.mkv"}, follow_redirects=True)
    assert "Not in the library: /nowhere.mkv" in answer.get_data(as_text=True)


def test_actions_without_csrf_change_nothing(setup: tuple) -> None:
    _, service, client = setup
    service.add_error(MOVIE)
    for url, data in (("/scan", {"mode": "full"}), ("/items/retry", {"path": MOVIE}),
                      ("/items/match", {"path": MOVIE, "tmdb_id": "5"}),
                      ("/settings", {"language": "de"}), ("/settings/webhook-secret", {}),
                      ("/settings/webhook-urls", {}), ("/settings/test/tmdb", {})):
        assert client.post(url, data=data).status_code == 400, url
    assert service.calls == []


def test_auth_error_banner(setup: tuple) -> None:
    _, service, client = setup
    service.extra_status["tmdb"] = {"key_configured": True, "auth_error": "Invalid API key"}
    html = client.get("/").get_data(as_text=True)
    assert 'id="auth-error"' in html and "Invalid API key" in html


def test_status_view_defaults_and_texts() -> None:
    view = statusview.build({})
    assert view["progress_text"] == "No scan running."
    assert view["eta_text"] == "—"
    assert list(view["queue_by_priority"]) == [p.name for p in Priority]
    assert view["counts"]["NEW"] == 0
    walking = statusview.build({"progress": {"running": True, "mode": "quick",
                                             "phase": "walking", "done": 40}})
    assert walking["progress_text"] == "Quick scan: walking the library, 40 files seen."
    assert statusview.eta_text(3723) == "1:02:03"
    assert statusview.progress_view({"done": 5, "total": 5})["percent"] == 100
    nothing_to_fetch = statusview.progress_view({"running": False, "started_at": "t"})
    assert (nothing_to_fetch["percent"], nothing_to_fetch["bar_value"]) == (100, 1)
    walking = statusview.progress_view({"running": True, "phase": "walking", "done": 9})
    assert (walking["percent"], walking["bar_value"], walking["bar_max"]) == (0, 0, 1)
    assert statusview.flat({"a": {"b": 1.23456, "c": [1]}, "d": None}) == {"a_b": 1.235,
                                                                            "d": None}
