"""End to end, as a user runs it: `scanarr scan` as a real process against a real fake TMDB.

The fake enforces a rolling-window limit with 429 + Retry-After and records every request,
so these tests prove the budget from the server's side, not the client's.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from sidecar.metadata import validate_document
from tests.e2e_kit import run_scanarr, scan_env, status
from tests.fakes.fake_tmdb import FakeTmdb, running_fake_tmdb

OLD = 1_600_000_000  # well before any settle window

MOVIES = [
    "Inception (2010)/Inception (2010).mkv",
    "Heat (1995) {tmdb-949}/Heat (1995) {tmdb-949}.mkv",
    "Alien (1979) [imdbid-tt0078748]/Alien (1979) [imdbid-tt0078748].mkv",
    "Kill Bill (2003)/Kill Bill (2003) - cd1.avi",
    "Kill Bill (2003)/Kill Bill (2003) - cd2.avi",
    "The.Matrix.1999.1080p.BluRay.x264-GROUP.mkv",
    "Blade Runner 2049 (2017)/Blade Runner 2049 (2017).mkv",
] + [f"Film Number {n} ({1990 + n})/Film Number {n} ({1990 + n}).mkv" for n in range(1, 13)]
EPISODES = [
    f"Long Show (2005)/Season {s:02d}/Long Show - S{s:02d}E{e:02d}.mkv"
    for s in range(1, 4)
    for e in range(1, 6)
] + [
    "Long Show (2005)/Specials/Long Show - S00E01.mkv",
    "Tagged Show (2011) {tmdb-4242}/Season 01/Tagged Show - S01E01E02.mkv",
]


def make_library(root: Path) -> tuple[Path, Path]:
    movies, tv = root / "Movies", root / "TV"
    for base, names in ((movies, MOVIES), (tv, EPISODES)):
        for name in names:
            path = base / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"\0" * 1024)
            os.utime(path, (OLD, OLD))
    return movies, tv


@pytest.fixture
def fake() -> Iterator[FakeTmdb]:
    # A scaled-down TMDB limit (12 per rolling 1 s) so sustained pressure takes seconds.
    with running_fake_tmdb(rate_limit=12, rate_window=1.0) as server:
        yield server


def env_for(
    tmp_path: Path, fake: FakeTmdb, roots: tuple[Path, Path], **extra: str
) -> dict[str, str]:
    """A ``scanarr`` child's environment: budget 10 per 1 s against the fake's 12, 4 workers."""
    return scan_env(tmp_path / "data", fake.url, fake.api_key, roots, **extra)


def metadata_files(root: Path) -> list[Path]:
    return sorted(root.rglob("*metadata.json"))


def test_full_library_ends_indexed_under_budget_with_zero_429(
    tmp_path: Path, fake: FakeTmdb
) -> None:
    roots = make_library(tmp_path / "lib")
    env = env_for(tmp_path, fake, roots)
    result = run_scanarr(env, "scan")
    assert result.returncode == 0, result.stderr
    assert "quick scan:" in result.stderr.splitlines()[-1]
    counts = status(env)["counts"]
    assert counts["INDEXED"] == len(MOVIES) + len(EPISODES)
    assert counts["ERROR"] == counts["PROCESSING"] == counts["NEW"] == 0
    stats = fake.stats()
    assert stats["rate_limited"] == 0
    assert stats["max_in_window"] <= 10
    for path in metadata_files(tmp_path / "lib"):
        validate_document(json.loads(path.read_text(encoding="utf-8")))
    assert (roots[1] / "Long Show (2005)" / "season-specials-poster.jpg").exists()
    assert (roots[0] / "The.Matrix.1999.1080p.BluRay.x264-GROUP.metadata.json").exists()
    assert not (roots[0] / "metadata.json").exists(), "never a metadata.json in a library root"


def test_request_counts_per_item(tmp_path: Path, fake: FakeTmdb) -> None:
    roots = make_library(tmp_path / "lib")
    run_scanarr(env_for(tmp_path, fake, roots), "scan")
    kinds = fake.stats()["by_kind"]
    untagged_movies = 16  # titles without an id tag (Kill Bill's two parts are one movie)
    assert kinds["movie"] == untagged_movies + 2  # + the tmdb-tagged one + the imdb-tagged one
    assert kinds["search_movie"] == untagged_movies
    assert kinds["find"] == 1
    assert kinds["tv"] == 2, "one request per show: its details plus every season on disk"
    assert kinds["search_tv"] == 1
    assert kinds.get("season", 0) == 0


def test_second_scan_fetches_nothing_and_writes_nothing(tmp_path: Path, fake: FakeTmdb) -> None:
    roots = make_library(tmp_path / "lib")
    env = env_for(tmp_path, fake, roots)
    run_scanarr(env, "scan")
    before = fake.stats()["api_requests"]
    mtimes = {p: p.stat().st_mtime_ns for p in metadata_files(tmp_path / "lib")}
    result = run_scanarr(env, "scan")
    assert result.returncode == 0
    assert fake.stats()["api_requests"] == before
    assert {p: p.stat().st_mtime_ns for p in metadata_files(tmp_path / "lib")} == mtimes


def test_refresh_with_unchanged_content_costs_no_writes(tmp_path: Path, fake: FakeTmdb) -> None:
    roots = make_library(tmp_path / "lib")
    env = env_for(tmp_path, fake, roots)
    run_scanarr(env, "scan")
    db = tmp_path / "data" / "scanarr.db"
    import sqlite3

    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE media_scan_state SET stale_after = '2000-01-01T00:00:00.000000Z'")
    mtimes = {p: p.stat().st_mtime_ns for p in metadata_files(tmp_path / "lib")}
    result = run_scanarr(env, "scan", "--mode", "refresh")
    assert result.returncode == 0, result.stderr
    assert status(env)["counts"]["INDEXED"] == len(MOVIES) + len(EPISODES)
    assert {p: p.stat().st_mtime_ns for p in metadata_files(tmp_path / "lib")} == mtimes


def test_bad_answers_end_in_error_with_reason_and_scan_goes_on(
    tmp_path: Path, fake: FakeTmdb
) -> None:
    roots = make_library(tmp_path / "lib")
    fake.configure(garbage_rate=1.0, garbage_kinds=("html",))
    env = env_for(tmp_path, fake, roots)
    result = run_scanarr(env, "scan")
    assert result.returncode == 0, result.stderr
    report = status(env)
    assert report["counts"]["INDEXED"] == 0
    assert report["counts"]["PROCESSING"] == 0
    assert set(report["errors_by_reason"]) <= {"bad_response"}
    assert all(e["next_retry_after"] for e in report["recent_errors"])
    fake.configure(garbage_rate=0.0)
    db = tmp_path / "data" / "scanarr.db"
    import sqlite3

    with sqlite3.connect(db) as conn:  # make the retries due now
        conn.execute("UPDATE media_scan_state SET next_retry_after = '2000-01-01T00:00:00.000000Z'")
    assert run_scanarr(env, "scan").returncode == 0
    assert status(env)["counts"]["INDEXED"] == len(MOVIES) + len(EPISODES)


def test_revoked_key_stops_everything_with_a_clear_status(tmp_path: Path, fake: FakeTmdb) -> None:
    roots = make_library(tmp_path / "lib")
    fake.revoke_key()
    env = env_for(tmp_path, fake, roots)
    result = run_scanarr(env, "scan")
    assert result.returncode == 0
    assert "TMDB rejected the key" in result.stderr
    report = status(env)
    assert report["tmdb"]["auth_error"]
    assert report["counts"]["ERROR"] == 0, "an auth failure is not an item failure"
    assert report["counts"]["PROCESSING"] == 0
    assert fake.stats()["statuses"].get("401", 0) <= 4, "not retried per item"
