"""The worker against a real fake TMDB on 127.0.0.1: files per the contract, requests per
item, every failure mapped to its state, and no rewrite when nothing changed.

Jobs are planned from the state table and processed synchronously here (the pool and the
queue have their own tests in ``test_engine.py``); retries never sleep.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from sidecar.errors import WriteError
from sidecar.lifecycle import Lifecycle
from sidecar.metadata import movie_document, validate_document
from sidecar.planner import plan
from sidecar.state import Item, StateStore
from sidecar.workqueue import Job
from tests.corekit import OLD, Rig, listing, make_files, make_rig, parse_iso
from tests.fakes.fake_tmdb import FakeTmdb
from tests.fakes.tmdb_catalog import AMBIGUOUS_CATALOG

L = Lifecycle


pytestmark = pytest.mark.usefixtures("no_fsync")


@pytest.fixture
def movies(tmp_path: Path) -> Path:
    return tmp_path / "Movies"


@pytest.fixture
def tv(tmp_path: Path) -> Path:
    return tmp_path / "TV"


def rig_for(fake: FakeTmdb, tmp_path: Path, **kw: Any) -> Rig:
    return make_rig(tmp_path, [tmp_path / "Movies", tmp_path / "TV"], url=fake.url,
                    api_key=fake.api_key, **kw)


def process(rig: Rig, *, force: bool = False) -> None:
    """Scan, plan the work into jobs as the engine does, and run each job once."""
    rig.scan("quick")
    items: list[Item]
    if force:
        items = [i for i in rig.store.iter_items() if i.state not in (L.MISSING, L.PROCESSING)]
    else:
        items = rig.store.work(settle_before_ns=time.time_ns())
    for planned in plan(items):
        rig.worker.process(Job(planned.key, planned.kind, frozenset(planned.paths),
                               planned.priority, force))


def item(store: StateStore, path: str) -> Item:
    found = store.get(path)
    assert found is not None, path
    return found


def api_requests(fake: FakeTmdb, kind: str | None = None) -> list[dict[str, Any]]:
    return [r for r in fake.requests() if r["kind"] != "image" and kind in (None, r["kind"])]


def valid_json(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    validate_document(doc)
    return doc


def fingerprint(root: Path) -> dict[str, tuple[int, int]]:
    """(inode, mtime) of every file: an atomic rewrite changes the inode."""
    return {rel: (os.stat(root / rel).st_ino, os.stat(root / rel).st_mtime_ns)
            for rel in listing(root)}


# --- movies --------------------------------------------------------------------------------------


def test_movies_end_indexed_with_files_per_contract(fake: FakeTmdb, tmp_path: Path,
                                                    movies: Path) -> None:
    heat, inception, alpha, beta, loose = make_files(movies, [
        "Heat (1995) {tmdb-949}/Heat (1995) {tmdb-949}.mkv",
        "Inception (2010)/Inception (2010).mkv",
        "Shared/Alpha (2000).mkv", "Shared/Beta (2002).mkv",
        "Loose Film (2001).mkv"])
    rig = rig_for(fake, tmp_path)
    process(rig)

    assert {item(rig.store, p).state for p in (heat, inception, alpha, beta, loose)} == {L.INDEXED}
    files = listing(movies)
    for folder in ("Heat (1995) {tmdb-949}", "Inception (2010)"):  # alone in the folder
        assert {f"{folder}/metadata.json", f"{folder}/poster.jpg", f"{folder}/fanart.jpg"} <= files
    for stem in ("Shared/Alpha (2000)", "Shared/Beta (2002)", "Loose Film (2001)"):  # shared
        assert {f"{stem}.metadata.json", f"{stem}-poster.jpg", f"{stem}-fanart.jpg"} <= files
    assert "Shared/metadata.json" not in files
    assert "metadata.json" not in files and "poster.jpg" not in files  # never in a root
    assert not any(name.endswith(".tmp") for name in files)

    doc = valid_json(movies / "Heat (1995) {tmdb-949}" / "metadata.json")
    assert (doc["type"], doc["tmdb_id"]) == ("movie", 949)
    row = item(rig.store, heat)
    assert (row.tmdb_id, row.tmdb_type, row.id_source) == (949, "movie", "id_tag")
    assert row.etag and row.response_hash and row.metadata_updated_at
    assert item(rig.store, inception).id_source == "search"
    for name in ("Inception (2010)/metadata.json", "Shared/Alpha (2000).metadata.json"):
        valid_json(movies / name)

    # Requests: the tagged movie costs one, the others a search and their details.
    assert [r["path"] for r in api_requests(fake, "movie")].count("/3/movie/949") == 1
    assert not any("Heat" in r["query"].get("query", "") for r in api_requests(fake))
    stats = fake.stats()
    assert stats["by_kind"] == {"movie": 5, "search_movie": 4, "configuration": 1}
    assert stats["rate_limited"] == 0


def test_a_multi_part_movie_is_one_fetch(fake: FakeTmdb, tmp_path: Path, movies: Path) -> None:
    parts = make_files(movies, ["Kill Bill (2003)/Kill Bill (2003) - cd1.avi",
                                "Kill Bill (2003)/Kill Bill (2003) - cd2.avi"])
    rig = rig_for(fake, tmp_path)
    process(rig)
    assert {item(rig.store, p).state for p in parts} == {L.INDEXED}
    assert len({item(rig.store, p).tmdb_id for p in parts}) == 1
    assert fake.stats()["by_kind"] == {"search_movie": 1, "movie": 1, "configuration": 1}
    assert {"Kill Bill (2003)/metadata.json", "Kill Bill (2003)/poster.jpg"} <= listing(movies)


# --- shows ---------------------------------------------------------------------------------------


def show_tree(tv: Path, show: str, seasons: range, episodes: range) -> list[str]:
    return make_files(tv, [f"{show}/Season {s:02d}/{show} - S{s:02d}E{e:02d}.mkv"
                           for s in seasons for e in episodes])


def test_a_show_with_three_seasons_is_one_request(fake: FakeTmdb, tmp_path: Path,
                                                   tv: Path) -> None:
    paths = show_tree(tv, "Some Show (2010)", range(1, 4), range(1, 3))
    rig = rig_for(fake, tmp_path)
    process(rig)
    assert {item(rig.store, p).state for p in paths} == {L.INDEXED}
    assert fake.stats()["by_kind"] == {"search_tv": 1, "tv": 1, "configuration": 1}
    appended = api_requests(fake, "tv")[0]["query"]["append_to_response"].split(",")
    assert {"season/1", "season/2", "season/3"} <= set(appended)

    files = listing(tv)
    show = "Some Show (2010)"
    assert {f"{show}/metadata.json", f"{show}/poster.jpg", f"{show}/fanart.jpg",
            f"{show}/season01-poster.jpg", f"{show}/season02-poster.jpg",
            f"{show}/season03-poster.jpg"} <= files
    episode = f"{show}/Season 02/{show} - S02E01"
    assert {f"{episode}.metadata.json", f"{episode}-thumb.jpg"} <= files
    show_doc = valid_json(tv / show / "metadata.json")
    episode_doc = valid_json(tv / f"{episode}.metadata.json")
    assert (show_doc["type"], episode_doc["type"]) == ("show", "episode")
    assert (episode_doc["season"], episode_doc["episode"]) == (2, 1)
    show_id = item(rig.store, paths[0]).tmdb_id
    assert episode_doc["show"]["tmdb_id"] == show_doc["tmdb_id"] == show_id


def test_a_tagged_show_costs_no_search(fake: FakeTmdb, tmp_path: Path, tv: Path) -> None:
    paths = show_tree(tv, "Tagged (2010) {tmdb-1396}", range(1, 3), range(1, 3))
    rig = rig_for(fake, tmp_path)
    process(rig)
    assert {item(rig.store, p).tmdb_id for p in paths} == {1396}
    assert fake.stats()["by_kind"] == {"tv": 1, "configuration": 1}


def test_two_hundred_episodes_are_one_show_fetch(fake: FakeTmdb, tmp_path: Path,
                                                 tv: Path) -> None:
    paths = show_tree(tv, "Long Show (2001)", range(1, 11), range(1, 21))
    rig = rig_for(fake, tmp_path)
    process(rig)
    assert len(paths) == 200
    assert rig.store.counts()["INDEXED"] == 200
    assert fake.stats()["by_kind"] == {"search_tv": 1, "tv": 1, "configuration": 1}


def test_an_episode_tmdb_does_not_have(fake: FakeTmdb, tmp_path: Path, tv: Path) -> None:
    good, bad = show_tree(tv, "Short (2010)", range(1, 2), range(1, 2)) + show_tree(
        tv, "Short (2010)", range(1, 2), range(99, 100))
    rig = rig_for(fake, tmp_path)
    process(rig)
    assert item(rig.store, good).state is L.INDEXED
    missing = item(rig.store, bad)
    assert (missing.state, missing.error_reason) == (L.ERROR, "not_found")


# --- failures ------------------------------------------------------------------------------------


def test_unknown_id_is_not_found(fake: FakeTmdb, tmp_path: Path, movies: Path) -> None:
    path = make_files(movies, ["Bogus (2000) {tmdb-99999999}/Bogus (2000) {tmdb-99999999}.mkv"])[0]
    rig = rig_for(fake, tmp_path)
    process(rig)
    row = item(rig.store, path)
    assert (row.state, row.error_reason, row.next_retry_after) == (L.ERROR, "not_found", None)
    assert "404" in (row.last_error or "")
    assert not listing(movies) - {os.path.relpath(path, movies)}  # nothing written


def test_ambiguous_and_not_found_keep_candidates(tmp_path: Path, movies: Path) -> None:
    twin, nothing = make_files(movies, ["Twin Title (2010)/Twin Title (2010).mkv",
                                        "Nothing Here (1990)/Nothing Here (1990).mkv"])
    with FakeTmdb(catalog=AMBIGUOUS_CATALOG, auto=False) as fake:
        rig = rig_for(fake, tmp_path)
        process(rig)
    row = item(rig.store, twin)
    assert (row.state, row.error_reason, row.next_retry_after) == (L.ERROR, "ambiguous", None)
    assert sorted(c["tmdb_id"] for c in row.candidates) == [9000002, 9000003]
    assert "close candidates" in (row.last_error or "")
    row = item(rig.store, nothing)
    assert (row.state, row.error_reason, row.candidates) == (L.ERROR, "not_found", [])
    assert rig.store.work(settle_before_ns=time.time_ns()) == []  # a retry would not help


def test_revoked_key_releases_items_and_stops(fake: FakeTmdb, tmp_path: Path,
                                              movies: Path) -> None:
    paths = make_files(movies, [f"Film {n} (2000)/Film {n} (2000).mkv" for n in range(3)])
    fake.revoke_key()
    rig = rig_for(fake, tmp_path)
    process(rig)
    assert {item(rig.store, p).state for p in paths} == {L.NEW}  # released, not ERROR
    assert rig.worker.auth_error is not None and "401" in rig.worker.auth_error
    assert rig.client.auth_failed
    assert len(api_requests(fake)) == 1  # one 401, then no call at all
    assert rig.worker.items_done == 3


def test_no_key_releases_items(fake: FakeTmdb, tmp_path: Path, movies: Path) -> None:
    path = make_files(movies, ["Heat (1995)/Heat (1995).mkv"])[0]
    rig = make_rig(tmp_path, [movies], url=fake.url, api_key=None)
    process(rig)
    assert item(rig.store, path).state is L.NEW
    assert "no TMDB API key" in (rig.worker.auth_error or "")
    assert fake.requests() == []


def test_tmdb_down_is_unavailable_with_a_retry_time(fake: FakeTmdb, tmp_path: Path,
                                                    movies: Path) -> None:
    path = make_files(movies, ["Heat (1995) {tmdb-949}/Heat (1995) {tmdb-949}.mkv"])[0]
    fake.configure(error_rate=1.0)
    rig = rig_for(fake, tmp_path, max_retries=2)
    before = time.time()
    process(rig)
    row = item(rig.store, path)
    assert (row.state, row.error_reason, row.error_count) == (L.ERROR, "unavailable", 1)
    assert row.next_retry_after is not None
    due = parse_iso(row.next_retry_after)
    assert before + 55 <= due <= time.time() + 65  # the first cooldown: one minute
    assert len(api_requests(fake, "movie")) == 3  # tried, retried twice, gave up
    assert "gave up" in (row.last_error or "")
    assert not (movies / "Heat (1995) {tmdb-949}" / "metadata.json").exists()


def test_garbage_from_tmdb_is_a_bad_response(fake: FakeTmdb, tmp_path: Path,
                                             movies: Path) -> None:
    path = make_files(movies, ["Heat (1995) {tmdb-949}/Heat (1995) {tmdb-949}.mkv"])[0]
    fake.configure(garbage_rate=1.0, garbage_kinds=["html"])
    rig = rig_for(fake, tmp_path)
    process(rig)
    row = item(rig.store, path)
    assert (row.state, row.error_reason) == (L.ERROR, "bad_response")
    assert row.next_retry_after is not None


def test_write_failure_is_write_failed(fake: FakeTmdb, tmp_path: Path, movies: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    path = make_files(movies, ["Heat (1995)/Heat (1995).mkv"])[0]
    rig = rig_for(fake, tmp_path)

    def read_only(video_path: str, doc: Any, **kw: Any) -> list[str]:
        raise WriteError(os.path.join(os.path.dirname(video_path), "metadata.json"),
                         "Read-only file system")

    monkeypatch.setattr(rig.writer, "write_movie", read_only)
    process(rig)
    row = item(rig.store, path)
    assert (row.state, row.error_reason) == (L.ERROR, "write_failed")
    assert "Read-only file system" in (row.last_error or "")
    assert "metadata.json" in (row.last_error or "")
    assert row.next_retry_after is not None  # a folder made writable again is retried


def test_an_unexpected_exception_is_an_internal_error(fake: FakeTmdb, tmp_path: Path,
                                                      movies: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    path = make_files(movies, ["Heat (1995)/Heat (1995).mkv"])[0]
    rig = rig_for(fake, tmp_path)
    monkeypatch.setattr(rig.writer, "write_movie", lambda *a, **k: 1 / 0)
    process(rig)  # never raises
    row = item(rig.store, path)
    assert (row.state, row.error_reason) == (L.ERROR, "internal")
    assert row.next_retry_after is not None


# --- refreshes: nothing rewritten unless something changed ---------------------------------------


def make_stale(store: StateStore, paths: list[str]) -> None:
    for path in paths:
        store.transition(path, L.STALE)


@pytest.mark.parametrize("etag", [True, False], ids=["etag-304", "content-hash"])
def test_a_refresh_with_unchanged_content_rewrites_nothing(tmp_path: Path, movies: Path,
                                                           tv: Path, etag: bool) -> None:
    paths = make_files(movies, ["Heat (1995)/Heat (1995).mkv", "Shared/A (2000).mkv"])
    paths += show_tree(tv, "Show (2010)", range(1, 2), range(1, 3))
    with FakeTmdb(etag=etag) as fake:
        rig = rig_for(fake, tmp_path)
        process(rig)
        before = {**fingerprint(movies), **fingerprint(tv)}
        seen = len(fake.requests())
        make_stale(rig.store, paths)
        process(rig)
        after = {**fingerprint(movies), **fingerprint(tv)}
        refetched = fake.requests(seen)
    assert {item(rig.store, p).state for p in paths} == {L.INDEXED}
    assert after == before  # not one file rewritten
    movie_calls = [r for r in refetched if r["kind"] == "movie"]
    assert len(movie_calls) == 2 and all(r["kind"] != "search_movie" for r in refetched)
    statuses = {r["status"] for r in movie_calls}
    assert statuses == ({304} if etag else {200})
    assert not any(r["kind"] == "image" for r in refetched)


def test_a_full_scan_forces_a_rewrite(fake: FakeTmdb, tmp_path: Path, movies: Path) -> None:
    path = make_files(movies, ["Heat (1995)/Heat (1995).mkv"])[0]
    rig = rig_for(fake, tmp_path)
    process(rig)
    folder = movies / "Heat (1995)"
    good_doc = valid_json(folder / "metadata.json")
    good_poster = (folder / "poster.jpg").read_bytes()
    (folder / "poster.jpg").write_bytes(b"not a poster")
    (folder / "metadata.json").write_text(json.dumps({**good_doc, "title": "Hand edited"}))

    process(rig)  # a quick scan: the item is INDEXED, nothing to do
    assert (folder / "poster.jpg").read_bytes() == b"not a poster"
    seen = len(fake.requests())

    process(rig, force=True)
    assert item(rig.store, path).state is L.INDEXED
    assert (folder / "poster.jpg").read_bytes() == good_poster
    assert valid_json(folder / "metadata.json")["title"] == good_doc["title"]
    forced = [r for r in fake.requests(seen) if r["kind"] == "movie"]
    assert len(forced) == 1 and "if-none-match" not in forced[0]["headers"]


def test_a_changed_file_is_refetched_despite_its_etag(fake: FakeTmdb, tmp_path: Path,
                                                      movies: Path) -> None:
    """Regression: a replaced file (CHANGED) sent its old ETag, got a 304 and ended in
    ERROR "internal" (an assert on the missing body)."""
    path = make_files(movies, ["Heat (1995)/Heat (1995).mkv"])[0]
    rig = rig_for(fake, tmp_path)
    process(rig)
    assert item(rig.store, path).etag
    make_files(movies, ["Heat (1995)/Heat (1995).mkv"], size=5000, mtime=OLD + 10)
    rig.scan("full")
    assert item(rig.store, path).state is L.CHANGED
    process(rig)
    row = item(rig.store, path)
    assert (row.state, row.error_reason) == (L.INDEXED, None)


def test_deleted_files_are_written_again_on_refresh(fake: FakeTmdb, tmp_path: Path,
                                                    movies: Path) -> None:
    """Regression: a 304 for an item whose metadata.json was deleted crashed the same way."""
    path = make_files(movies, ["Heat (1995)/Heat (1995).mkv"])[0]
    rig = rig_for(fake, tmp_path)
    process(rig)
    (movies / "Heat (1995)" / "metadata.json").unlink()
    make_stale(rig.store, [path])
    process(rig)
    assert item(rig.store, path).state is L.INDEXED
    valid_json(movies / "Heat (1995)" / "metadata.json")


def test_indexed_items_get_a_stale_after(fake: FakeTmdb, tmp_path: Path, movies: Path) -> None:
    path = make_files(movies, ["Heat (1995) {tmdb-949}/Heat (1995) {tmdb-949}.mkv"])[0]
    rig = rig_for(fake, tmp_path)
    process(rig)
    stale_after = rig.store.db.execute(
        "SELECT stale_after FROM media_scan_state WHERE media_path = ?", [path]).fetchone()[0]
    assert stale_after and stale_after > rig.store.now_iso()
    with rig.store.db.conn:
        rig.store.db.execute("UPDATE media_scan_state SET stale_after = ?", ["2000-01-01"])
    assert rig.store.mark_stale() == 1


def test_notify_gets_the_folders_written(fake: FakeTmdb, tmp_path: Path, movies: Path) -> None:
    make_files(movies, ["Heat (1995)/Heat (1995).mkv"])
    rig = rig_for(fake, tmp_path)
    told: list[list[str]] = []
    rig.worker.notify = told.append
    process(rig)
    assert told == [[str(movies / "Heat (1995)")]]
    make_stale(rig.store, [str(movies / "Heat (1995)" / "Heat (1995).mkv")])
    process(rig)
    assert len(told) == 1  # nothing written, nobody bothered


def test_a_job_whose_items_are_gone_does_nothing(fake: FakeTmdb, tmp_path: Path) -> None:
    rig = rig_for(fake, tmp_path)
    rig.worker.process(Job(("movie", "x"), "movie", frozenset({"/nowhere.mkv"}), 1))
    assert rig.worker.items_done == 0 and fake.requests() == []


def test_an_adopted_library_costs_no_request(fake: FakeTmdb, tmp_path: Path,
                                             movies: Path) -> None:
    """Valid metadata beside a file (from an earlier Scanarr, or a restored backup): the
    scan adopts it as INDEXED and the workers have nothing to fetch or write."""
    path = make_files(movies, ["Heat (1995)/Heat (1995).mkv"])[0]
    doc = movie_document({"id": 949, "title": "Heat", "release_date": "1995-12-15"})
    (movies / "Heat (1995)" / "metadata.json").write_text(json.dumps(doc), encoding="utf-8")
    rig = rig_for(fake, tmp_path)
    before = fingerprint(movies)
    process(rig)
    row = item(rig.store, path)
    assert (row.state, row.tmdb_id, row.id_source) == (L.INDEXED, 949, "adopted")
    assert fake.requests() == []
    assert fingerprint(movies) == before
