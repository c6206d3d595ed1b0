"""The built-in demo library: created once, old enough to be settled, and every media file in
it identified by a scan while its junk is ignored -- what a new user sees first."""

from __future__ import annotations

import os
from pathlib import Path

from sidecar import demo
from sidecar.app import library_roots
from sidecar.config import load_settings
from sidecar.lifecycle import Lifecycle
from sidecar.scanner import Scanner
from sidecar.state import StateStore

VIDEO = (".mkv", ".mp4", ".avi")
IGNORED = {"Movies/Inception (2010)/Extras/Making of.mkv", "Movies/@eaDir/Inception (2010).mkv",
           "Movies/Heat (1995)/Heat (1995).mkv.part", "TV/.DS_Store",
           "Movies/Inception (2010)/Inception (2010).en.srt"}


def test_creates_two_roots_once(tmp_path: Path) -> None:
    roots = demo.ensure_demo_library(str(tmp_path / "demo"))
    assert roots == (str(tmp_path / "demo" / "Movies"), str(tmp_path / "demo" / "TV"))
    for relative in demo.DEMO_FILES:
        path = tmp_path / "demo" / relative
        assert path.is_file(), relative
        assert path.stat().st_mtime == demo.DEMO_MTIME  # settled: fetched on the first scan
    marker = tmp_path / "demo" / demo.DEMO_FILES[0]
    marker.write_bytes(b"user data")
    assert demo.ensure_demo_library(str(tmp_path / "demo")) == roots
    assert marker.read_bytes() == b"user data"  # idempotent: nothing recreated


def test_it_is_what_scanarr_walks_without_libraries(tmp_path: Path) -> None:
    settings = load_settings({}, {"SCANARR_DATA_DIR": str(tmp_path)})
    roots = library_roots(settings)
    assert roots == (str(tmp_path / "demo-library" / "Movies"),
                     str(tmp_path / "demo-library" / "TV"))
    configured = load_settings({}, {"SCANARR_DATA_DIR": str(tmp_path),
                                    "SCANARR_LIBRARIES": str(tmp_path / "mine")})
    assert library_roots(configured) == (str(tmp_path / "mine"),)


def test_a_scan_identifies_every_demo_video(tmp_path: Path) -> None:
    base = tmp_path / "demo"
    roots = demo.ensure_demo_library(str(base))
    store = StateStore(tmp_path / "state.db")
    summary = Scanner(store, roots).scan("quick")
    media = {r for r in demo.DEMO_FILES if r.endswith(VIDEO)} - IGNORED
    assert summary.counts["new"] == len(media) == 15
    assert summary.counts["unidentified"] == summary.counts["walk_errors"] == 0
    assert summary.counts["settling"] == 0
    items = {os.path.relpath(i.path, base).replace(os.sep, "/"): i for i in store.iter_items()}
    assert set(items) == media
    assert {i.state for i in items.values()} == {Lifecycle.NEW}

    def item(name: str) -> tuple[object, ...]:
        found = next(i for rel, i in items.items() if name in rel)
        return (found.media_type, found.title, found.year, found.season, found.episodes)

    assert item("Blade Runner") == ("movie", "Blade Runner 2049", 2017, None, ())
    assert items["Movies/Blade Runner 2049 (2017) {tmdb-335984}/"
                 "Blade Runner 2049 (2017) {tmdb-335984}.mkv"].tmdb_id == 335984
    assert item("1917 (2019) - 2160p") == ("movie", "1917", 2019, None, ())
    assert item("The.Matrix") == ("movie", "The Matrix", 1999, None, ())
    assert item("cd2") == ("movie", "Kill Bill", 2003, None, ())
    assert item("S00E01") == ("episode", "Breaking Bad", 2008, 0, (1,))
    assert item("9-1-1") == ("episode", "9-1-1", 2018, 2, (1, 2))
    daily = next(i for rel, i in items.items() if "Daily Show" in rel)
    assert (daily.media_type, daily.air_date) == ("episode", "2024-03-05")
    amelie = next(i for rel, i in items.items() if "Amélie" in rel)
    assert amelie.imdb_id == "tt0211915"
    inception = next(i for rel, i in items.items() if "Inception" in rel)
    assert inception.size == 0  # empty files: nothing to download
