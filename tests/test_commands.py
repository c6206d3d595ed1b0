"""The command functions in-process against the fake TMDB: scan modes and their summaries,
status (dict and text), the stop-everything auth error, and fixing a match by hand."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from sidecar import commands
from sidecar.app import open_store
from sidecar.lifecycle import Lifecycle
from sidecar.state import StateStore
from tests.corekit import make_files
from tests.fakes.fake_tmdb import FakeTmdb
from tests.fakes.tmdb_catalog import AMBIGUOUS_CATALOG

L = Lifecycle


pytestmark = pytest.mark.usefixtures("no_fsync")


@pytest.fixture
def movies(tmp_path: Path) -> Path:
    root = tmp_path / "Movies"
    root.mkdir()
    return root


def configure(monkeypatch: pytest.MonkeyPatch, fake: FakeTmdb | None, *roots: Path) -> None:
    monkeypatch.setenv("SCANARR_LIBRARIES", os.pathsep.join(str(r) for r in roots))
    monkeypatch.setenv("SCANARR_RATE_LIMIT", "1000")
    monkeypatch.setenv("SCANARR_RATE_WINDOW", "1")
    if fake is not None:
        monkeypatch.setenv("SCANARR_TMDB_API_URL", fake.url)
        monkeypatch.setenv("SCANARR_TMDB_API_KEY", fake.api_key)


def summary(capsys: pytest.CaptureFixture[str]) -> str:
    return capsys.readouterr().err.strip().splitlines()[-1]


def state(path: str) -> Any:
    store, _ = open_store()
    item = store.get(path)
    assert item is not None
    return item


def test_quick_then_again_then_full(data_dir: Path, movies: Path, fake: FakeTmdb,
                                    monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    configure(monkeypatch, fake, movies)
    make_files(movies, ["Heat (1995)/Heat (1995).mkv", "Inception (2010)/Inception (2010).mkv"])
    assert commands.scan("quick", []) == 0
    assert summary(capsys).endswith("fetched: 2 indexed, 0 in error")
    movie_calls = fake.stats()["by_kind"]["movie"]

    assert commands.scan("quick", []) == 0
    line = summary(capsys)
    assert "0 new" in line and "fetched: 0 indexed, 0 in error" in line
    assert fake.stats()["by_kind"]["movie"] == movie_calls  # nothing fetched again

    assert commands.scan("full", []) == 0
    assert summary(capsys).startswith("full scan: 2 files")
    assert fake.stats()["by_kind"]["movie"] == movie_calls + 2  # forced refetch
    runs = commands.status()["runs"]
    assert [r["mode"] for r in runs] == ["full", "quick", "quick"]
    assert runs[0]["counts"]["files"] == 2 and runs[0]["duration_ms"] is not None


def test_refresh_fetches_stale_items(data_dir: Path, movies: Path, fake: FakeTmdb,
                                     monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    configure(monkeypatch, fake, movies)
    path = make_files(movies, ["Heat (1995)/Heat (1995).mkv"])[0]
    commands.scan("quick", [])
    store, _ = open_store()
    with store.db.conn:
        store.db.execute("UPDATE media_scan_state SET stale_after = '2000-01-01'")
    seen = len(fake.requests())
    assert commands.scan("refresh", []) == 0
    assert "fetched: 1 indexed" in summary(capsys)
    assert state(path).state is L.INDEXED
    assert [r["kind"] for r in fake.requests(seen)] == ["movie"]


def test_scan_of_one_path(data_dir: Path, movies: Path, fake: FakeTmdb,
                          monkeypatch: pytest.MonkeyPatch,
                          capsys: pytest.CaptureFixture[str]) -> None:
    configure(monkeypatch, fake, movies)
    heat, other = make_files(movies, ["Heat (1995)/Heat (1995).mkv",
                                      "Other (2001)/Other (2001).mkv"])
    assert commands.scan("quick", [os.path.dirname(heat)]) == 0
    assert summary(capsys).startswith("quick scan: 1 files, 1 new")
    store, _ = open_store()
    assert store.get(other) is None
    assert state(heat).state is L.INDEXED


def test_revoked_key(data_dir: Path, movies: Path, fake: FakeTmdb,
                     monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    configure(monkeypatch, fake, movies)
    path = make_files(movies, ["Heat (1995)/Heat (1995).mkv"])[0]
    fake.revoke_key()
    assert commands.scan("quick", []) == 0
    assert "TMDB rejected the key, fetching stopped" in summary(capsys)
    assert state(path).state is L.NEW
    report = commands.status()
    assert "401" in report["tmdb"]["auth_error"]
    assert report["queue"] == 1
    assert "key rejected, fetching stopped" in commands.format_status(report)


def test_status_without_a_key(data_dir: Path, movies: Path, monkeypatch: pytest.MonkeyPatch,
                              capsys: pytest.CaptureFixture[str]) -> None:
    configure(monkeypatch, None, movies)
    make_files(movies, ["1080p.mkv", "Heat (1995)/Heat (1995).mkv"])
    assert commands.scan("quick", []) == 0
    assert "no TMDB key: 1 item(s) wait" in summary(capsys)
    report = commands.status()
    assert report["counts"]["NEW"] == 1 and report["counts"]["ERROR"] == 1
    assert report["recent_errors"][0]["reason"] == "unidentified"
    text = commands.format_status(report)
    assert "TMDB: no API key" in text
    assert "errors: unidentified 1" in text
    assert "run 1: quick done" in text
    assert "unidentified: " in text and "1080p.mkv" in text


def test_match_fixes_an_ambiguous_item(data_dir: Path, movies: Path,
                                       monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    path = make_files(movies, ["Twin Title (2010)/Twin Title (2010).mkv"])[0]
    with FakeTmdb(catalog=AMBIGUOUS_CATALOG, auto=False) as fake:
        configure(monkeypatch, fake, movies)
        commands.scan("quick", [])
        item = state(path)
        assert (item.state, item.error_reason) == (L.ERROR, "ambiguous")
        assert commands.match(path, 9000003) == 0
        assert "will be fetched on the next scan" in capsys.readouterr().out
        item = state(path)
        assert (item.state, item.tmdb_id, item.id_source) == (L.NEW, 9000003, "manual")
        commands.scan("quick", [])
    item = state(path)
    assert (item.state, item.tmdb_id) == (L.INDEXED, 9000003)


@pytest.mark.parametrize("start", [L.INDEXED, L.STALE])
def test_match_refetches_an_indexed_or_stale_item(start: Lifecycle, data_dir: Path,
                                                  movies: Path, fake: FakeTmdb,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Regression (STALE): the manual id was stored but the item stayed STALE, so the next
    quick scan -- which the command promises -- did not fetch it."""
    configure(monkeypatch, fake, movies)
    path = make_files(movies, ["Heat (1995)/Heat (1995).mkv"])[0]
    commands.scan("quick", [])
    if start is L.STALE:
        store, _ = open_store()
        store.transition(path, L.STALE)
    assert commands.match(path, 949) == 0
    assert state(path).state is L.CHANGED
    commands.scan("quick", [])
    item = state(path)
    assert (item.state, item.tmdb_id) == (L.INDEXED, 949)


def test_match_of_an_unknown_file(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert commands.match("/nowhere/x.mkv", 1) == 1
    assert "is not in the library" in capsys.readouterr().err


def test_match_of_an_episode_overrides_the_remembered_show(
        data_dir: Path, tmp_path: Path, fake: FakeTmdb, monkeypatch: pytest.MonkeyPatch) -> None:
    """A show matched to the wrong series is fixed through any of its episodes: the manual
    id wins over the id remembered for the show folder."""
    tv = tmp_path / "TV"
    first, _ = make_files(tv, ["Show (2010)/Season 01/Show - S01E01.mkv",
                                    "Show (2010)/Season 01/Show - S01E02.mkv"])
    configure(monkeypatch, fake, tv)
    commands.scan("quick", [])
    wrong = state(first).tmdb_id
    assert commands.match(first, 1396) == 0
    commands.scan("quick", [])
    item = state(first)
    assert (item.state, item.tmdb_id) == (L.INDEXED, 1396)
    assert wrong != 1396
    store, _ = open_store()
    assert (store.show(str(tv / "Show (2010)")) or {})["tmdb_id"] == 1396


def test_interrupted_full_scans_are_resumed_from_the_first(data_dir: Path) -> None:
    store, _ = open_store()
    assert commands.interrupted_full_scan(store) is None
    done = store.start_run("full")
    store.finish_run(done, {})
    first = store.start_run("full")
    store.close_dangling_runs()  # a crash, seen at the next start
    second = store.start_run("full")
    store.close_dangling_runs()  # and another one
    started = {r["id"]: r["started_at"] for r in store.runs()}
    assert commands.interrupted_full_scan(store) == started[first] <= started[second]
    store.finish_run(store.start_run("quick"), {})
    assert commands.interrupted_full_scan(store) is None, "a later run ends the streak"


class _OutageEngine:
    """Stands in for the engine: each round 'fetches' the due items successfully."""

    def __init__(self, store: StateStore) -> None:
        self.store, self.rounds = store, 0

    def enqueue_pending(self, *, states: object = None) -> int:
        self.rounds += 1
        return 1

    def wait_idle(self) -> bool:
        for item in self.store.items(L.ERROR):
            self.store.transition(item.path, L.PROCESSING)
            self.store.mark_indexed(item.path)
        return True


def test_a_one_shot_scan_waits_out_a_tmdb_outage(tmp_path: Path) -> None:
    now = [1_000_000.0]
    store = StateStore(tmp_path / "db.sqlite", clock=lambda: now[0])
    store.add_new([{"media_path": "/lib/a.mkv", "media_type": "movie"}])
    store.transition("/lib/a.mkv", L.PROCESSING)
    store.mark_error("/lib/a.mkv", "unavailable", "TMDB down", retryable=True)
    engine = _OutageEngine(store)
    app = SimpleNamespace(store=store, engine=engine, worker=SimpleNamespace(auth_error=None))
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    waited = commands.wait_out_outage(app, 600, sleep=sleep,  # type: ignore[arg-type]
                                      clock=lambda: now[0])
    assert waited == 1
    assert slept == [pytest.approx(60.0, abs=0.01)]  # the first retry is due after a minute
    assert store.get("/lib/a.mkv").state == L.INDEXED  # type: ignore[union-attr]


def test_an_outage_longer_than_the_wait_budget_is_left_to_the_next_scan(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "db.sqlite", clock=lambda: 1_000_000.0)
    store.add_new([{"media_path": "/lib/a.mkv", "media_type": "movie"}])
    store.transition("/lib/a.mkv", L.PROCESSING)
    store.mark_error("/lib/a.mkv", "unavailable", "TMDB down", retryable=True)
    app = SimpleNamespace(store=store, engine=_OutageEngine(store),
                          worker=SimpleNamespace(auth_error=None))
    waited = commands.wait_out_outage(app, 30, sleep=lambda s: None,  # type: ignore[arg-type]
                                      clock=lambda: 1_000_000.0)
    assert waited == 0
    assert store.get("/lib/a.mkv").state == L.ERROR  # type: ignore[union-attr]
