"""Quick, refresh and full scans of real trees on disk: the states a generated library ends
in after files are added, changed, deleted and still being copied; the fast path and the
full-stat pass; adoption; bad input that is counted and logged but never stops a scan;
unmounted roots; PATH arguments."""

from __future__ import annotations

import logging
import os
import random
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from sidecar import scanner as scanner_module
from sidecar.lifecycle import Lifecycle
from sidecar.metadata import movie_document
from sidecar.scanner import Scanner, ScanSummary
from sidecar.state import StateStore, iso
from sidecar.state import folders as folders_module
from sidecar.state import items as items_module
from tests.corekit import OLD, Clock, age_dirs, make_files, new_store, set_mtime

L = Lifecycle
SEC = 1_000_000_000


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> StateStore:
    return new_store(tmp_path / "state.db", clock=clock)


@pytest.fixture
def lib(tmp_path: Path) -> Path:
    root = tmp_path / "lib"
    (root / "Movies").mkdir(parents=True)
    (root / "TV").mkdir()
    return root


@pytest.fixture(autouse=True)
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every scan here streams folder records and file rows over many pages."""
    monkeypatch.setattr(folders_module, "PAGE", 3)
    monkeypatch.setattr(items_module, "PAGE", 3)


def scanner(store: StateStore, lib: Path, clock: Clock, **kw: Any) -> Scanner:
    return Scanner(store, [str(lib / "Movies"), str(lib / "TV")], clock=clock, **kw)


def states(store: StateStore) -> dict[str, Lifecycle]:
    return {item.path: item.state for item in store.iter_items()}


def settled(store: StateStore, sc: Scanner) -> list[str]:
    return [item.path for item in store.work(settle_before_ns=sc.settle_before_ns())]


def generate(lib: Path, seed: int = 7) -> list[str]:
    """A small library in the shapes people keep: movie folders, a multi-part movie, a
    loose file in the root, shows with seasons and specials, plus junk to be ignored."""
    rng = random.Random(seed)
    rels = []
    for n in range(12):
        title = f"Film {chr(65 + n)}{rng.randint(1, 99)}"
        year = rng.randint(1950, 2023)
        rels.append(f"Movies/{title} ({year})/{title} ({year}).mkv")
    rels += ["Movies/Kill Bill (2003)/Kill Bill (2003) - cd1.avi",
             "Movies/Kill Bill (2003)/Kill Bill (2003) - cd2.avi",
             "Movies/Loose Film (2001).mkv"]
    for show in ("Alpha Show (2010)", "Beta Show (2015)"):
        for season in (1, 2, 3):
            for episode in range(1, rng.randint(3, 6)):
                rels.append(f"TV/{show}/Season {season:02d}/{show} - "
                            f"S{season:02d}E{episode:02d}.mkv")
        rels.append(f"TV/{show}/Specials/{show} - S00E01.mkv")
    paths = make_files(lib, rels)
    make_files(lib, ["Movies/@eaDir/x.mkv", "Movies/Kill Bill (2003)/Extras/Making Of.mkv",
                     "Movies/Partial (2020).mkv.part", "TV/.DS_Store"])
    return paths


# --- a generated tree, scanned again after it changed --------------------------------------------


def test_generated_tree_ends_in_the_right_states(store: StateStore, lib: Path,
                                                 clock: Clock) -> None:
    sc = scanner(store, lib, clock, settle_seconds=60)
    paths = generate(lib)
    first = sc.scan("quick")
    assert (first.counts["files"], first.counts["new"]) == (len(paths), len(paths))
    assert first.counts["unidentified"] == first.counts["walk_errors"] == 0
    assert set(states(store)) == set(paths)  # junk, extras, partials ignored
    assert set(states(store).values()) == {L.NEW}
    assert len(settled(store, sc)) == len(paths)
    for path in paths:  # as if fetched: INDEXED
        store.claim(path)
        store.mark_indexed(path)

    tv = lib / "TV"
    resized, retimed, deleted = paths[0], paths[1], paths[2]
    with open(resized, "ab") as handle:
        handle.write(b"more")
    set_mtime(resized, OLD)
    set_mtime(retimed, OLD + 5)
    os.remove(deleted)
    vanished_show = sorted(p for p in paths if "/Beta Show (2015)/" in p)
    for path in vanished_show:
        os.remove(path)
    for folder in sorted((tv / "Beta Show (2015)").glob("*"), reverse=True):
        folder.rmdir()
    (tv / "Beta Show (2015)").rmdir()
    added = make_files(lib, ["Movies/New Film (2024)/New Film (2024).mkv",
                             "TV/Alpha Show (2010)/Season 04/Alpha Show (2010) - S04E01.mkv"],
                       mtime=OLD + 100)
    copying = make_files(lib, ["Movies/Copying (2024)/Copying (2024).mkv"],
                         mtime=clock() - 10)[0]
    age_dirs(lib, OLD + 200)  # every folder changed since the first scan

    second = sc.scan("quick")
    got = states(store)
    assert got[resized] == got[retimed] == L.CHANGED
    assert got[deleted] == L.MISSING
    assert {got[p] for p in vanished_show} == {L.MISSING}
    assert got[added[0]] == got[added[1]] == got[copying] == L.NEW
    assert second.counts["changed"] == 2
    assert second.counts["missing"] == 1 + len(vanished_show)
    assert second.counts["new"] == 3
    assert second.counts["settling"] == 1
    untouched = set(paths) - {resized, retimed, deleted, *vanished_show}
    assert {got[p] for p in untouched} == {L.INDEXED}

    work = settled(store, sc)
    assert copying not in work  # still being copied: recorded, not fetched
    assert set(work) == {resized, retimed, *added}
    clock.advance(61)
    assert copying in settled(store, sc)
    assert sc.scan("quick").counts["settling"] == 0


def test_a_file_still_growing_stays_new_and_settling(store: StateStore, lib: Path,
                                                     clock: Clock) -> None:
    sc = scanner(store, lib, clock, settle_seconds=60)
    path = make_files(lib, ["Movies/Big (2024)/Big (2024).mkv"], mtime=clock() - 5)[0]
    assert sc.scan("full").counts["settling"] == 1
    with open(path, "ab") as handle:
        handle.write(b"x" * 100)
    set_mtime(path, clock() - 1)
    summary = sc.scan("full")
    item = store.get(path)
    assert item is not None
    assert (item.state, item.size) == (L.NEW, 1100)  # fields follow the copy, state stays
    assert summary.counts["settling"] == 1 and summary.counts["changed"] == 0
    assert settled(store, sc) == []
    clock.advance(60)
    assert settled(store, sc) == [path]


def test_a_changed_file_that_changes_again(store: StateStore, lib: Path, clock: Clock) -> None:
    """Regression: a CHANGED file rewritten again before it was fetched (no key yet, or
    still settling) crashed every later scan with CHANGED -> CHANGED."""
    sc = scanner(store, lib, clock)
    path = make_files(lib, ["Movies/Heat (1995)/Heat (1995).mkv"])[0]
    sc.scan("full")
    store.claim(path)
    store.mark_indexed(path)
    for size in (2000, 3000):
        make_files(lib, ["Movies/Heat (1995)/Heat (1995).mkv"], size=size)
        sc.scan("full")
        item = store.get(path)
        assert item is not None and (item.state, item.size) == (L.CHANGED, size)


def test_missing_file_coming_back_is_new_again(store: StateStore, lib: Path,
                                               clock: Clock) -> None:
    sc = scanner(store, lib, clock)
    path = make_files(lib, ["Movies/Heat (1995)/Heat (1995).mkv"])[0]
    sc.scan("quick")
    os.rename(path, path + ".bak")
    assert sc.scan("quick").counts["missing"] == 1
    assert sc.scan("quick").counts["missing"] == 0  # already MISSING: not counted again
    os.rename(path + ".bak", path)
    summary = sc.scan("quick")
    assert summary.counts["new"] == 1
    assert states(store)[path] == L.NEW


# --- fast path and full-stat pass ----------------------------------------------------------------


def test_fast_path_skips_unchanged_folders_and_full_stat_catches_rewrites(
        store: StateStore, lib: Path, clock: Clock) -> None:
    sc = scanner(store, lib, clock, full_stat_hours=24)
    paths = generate(lib)
    first = sc.scan("quick")  # the first scan is a full-stat pass (none recorded yet)
    dirs = first.counts["dirs"]
    for path in paths:
        store.claim(path)
        store.mark_indexed(path)

    second = sc.scan("quick")
    assert second.counts["files"] == second.counts["checked"] == 0  # not one folder listed
    assert second.counts["dirs_unchanged"] == second.counts["dirs"] == dirs
    assert f"({dirs} unchanged folders not listed)" in second.line()

    target = paths[3]
    folder = os.path.dirname(target)
    folder_mtime = os.stat(folder).st_mtime_ns
    with open(target, "r+b") as handle:  # rewritten in place: same names, same folder mtime
        handle.write(b"\1" * 2000)
    set_mtime(target, OLD + 50)
    os.utime(folder, ns=(folder_mtime, folder_mtime))

    assert sc.scan("quick").counts["changed"] == 0  # the fast path cannot see it...
    assert states(store)[target] == L.INDEXED
    clock.advance(24 * 3600)
    third = sc.scan("quick")  # ...the periodic stat pass does, from the rows
    assert third.counts["changed"] == 1 and third.counts["dirs_unchanged"] == dirs
    assert third.counts["checked"] == len(paths)  # every known file stat-ed once
    assert third.counts["files"] == len(os.listdir(folder))  # and only its folder listed
    assert third.line().startswith(f"quick scan: {len(paths)} files, 0 new, 1 changed")
    assert states(store)[target] == L.CHANGED
    fourth = sc.scan("quick")
    assert fourth.counts["dirs_unchanged"] == dirs and fourth.counts["checked"] == 0


def test_stat_pass_finds_a_file_gone_behind_an_unchanged_folder_mtime(
        store: StateStore, lib: Path, clock: Clock) -> None:
    sc = scanner(store, lib, clock, full_stat_hours=1)
    gone, kept = make_files(lib, ["Movies/Pair/A (2000).mkv", "Movies/Pair/B (2001).mkv"])
    age_dirs(lib)
    sc.scan("quick")
    folder = os.path.dirname(gone)
    folder_mtime = os.stat(folder).st_mtime_ns
    os.remove(gone)  # a mount that does not move the folder's mtime
    os.utime(folder, ns=(folder_mtime, folder_mtime))
    assert sc.scan("quick").counts["missing"] == 0  # the fast path trusts the folder
    clock.advance(3600)
    assert sc.scan("quick").counts["missing"] == 1
    assert states(store) == {gone: L.MISSING, kept: L.NEW}


def test_untrusted_folder_mtimes_list_every_folder_every_time(
        store: StateStore, lib: Path, clock: Clock) -> None:
    sc = scanner(store, lib, clock, trust_folder_mtimes=False)
    paths = generate(lib)
    sc.scan("quick")
    target = paths[0]
    folder = os.path.dirname(target)
    folder_mtime = os.stat(folder).st_mtime_ns
    make_files(lib, [os.path.relpath(os.path.join(folder, "Extra Movie (2003).mkv"), lib)])
    os.utime(folder, ns=(folder_mtime, folder_mtime))  # a mount that never moves it
    summary = sc.scan("quick")
    assert summary.counts["dirs_unchanged"] == 0
    assert summary.counts["new"] == 1


def test_full_mode_lists_everything(store: StateStore, lib: Path, clock: Clock) -> None:
    sc = scanner(store, lib, clock)
    paths = generate(lib)
    sc.scan("quick")
    summary = sc.scan("full")
    assert summary.counts["dirs_unchanged"] == 0
    assert summary.counts["files"] == len(paths)
    assert summary.counts["unchanged"] == 0  # signatures equal: rows not even compared
    assert summary.counts["new"] == summary.counts["changed"] == 0


def test_a_file_rewritten_in_a_listed_folder_is_compared(store: StateStore, lib: Path,
                                                         clock: Clock) -> None:
    sc = scanner(store, lib, clock)
    a, b = make_files(lib, ["Movies/Shared/A (2000).mkv", "Movies/Shared/B (2001).mkv"])
    sc.scan("quick")
    set_mtime(a, OLD + 1)
    summary = sc.scan("full")
    assert (summary.counts["unchanged"], summary.counts["new"]) == (1, 0)
    assert states(store) == {a: L.NEW, b: L.NEW}  # NEW stays NEW, its stats refreshed
    item = store.get(a)
    assert item is not None and item.mtime_ns == int((OLD + 1) * SEC)


# --- adoption ------------------------------------------------------------------------------------


def test_existing_metadata_is_adopted_without_a_fetch(store: StateStore, lib: Path,
                                                      clock: Clock) -> None:
    sc = scanner(store, lib, clock)
    heat, other = make_files(lib, ["Movies/Heat (1995)/Heat (1995).mkv",
                                   "Movies/Other (2001)/Other (2001).mkv"])
    doc = movie_document({"id": 949, "title": "Heat", "release_date": "1995-12-15"})
    (lib / "Movies" / "Heat (1995)" / "metadata.json").write_text(
        __import__("json").dumps(doc), encoding="utf-8")
    age_dirs(lib)
    summary = sc.scan("quick")
    assert (summary.counts["adopted"], summary.counts["new"]) == (1, 1)
    item = store.get(heat)
    assert item is not None
    assert (item.state, item.tmdb_id, item.id_source) == (L.INDEXED, 949, "adopted")
    assert settled(store, sc) == [other]  # nothing to fetch for the adopted one
    assert "1 adopted" in summary.line()


# --- bad input -----------------------------------------------------------------------------------


def test_unidentifiable_name_is_an_error_and_the_scan_goes_on(store: StateStore, lib: Path,
                                                              clock: Clock) -> None:
    sc = scanner(store, lib, clock)
    bad, good = make_files(lib, ["Movies/1080p.mkv", "Movies/Heat (1995)/Heat (1995).mkv"])
    summary = sc.scan("quick")
    assert summary.counts["unidentified"] == 1 and summary.counts["new"] == 1
    item = store.get(bad)
    assert item is not None
    assert (item.state, item.error_reason, item.next_retry_after) == (L.ERROR, "unidentified",
                                                                      None)
    assert "no title" in (item.last_error or "")
    assert any(bad in error for error in summary.errors)
    assert settled(store, sc) == [good]  # a retry cannot fix a name: not work
    assert "1 errors" in summary.line()


def test_unreadable_folder_is_counted_and_keeps_what_was_known(
        store: StateStore, lib: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    sc = scanner(store, lib, clock)
    locked, fine = make_files(lib, ["Movies/Locked (2000)/Locked (2000).mkv",
                                    "Movies/Fine (2001)/Fine (2001).mkv"])
    sc.scan("quick")
    folder = os.path.dirname(locked)
    real_scandir = os.scandir

    def scandir(path: Any = ".") -> Any:
        if os.fspath(path) == folder:
            raise PermissionError(13, "Permission denied", folder)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)  # the suite may run as root: chmod won't do
    age_dirs(lib, OLD + 1)
    caplog.set_level(logging.WARNING)
    summary = sc.scan("full")
    assert summary.counts["walk_errors"] == 1
    assert any(folder in e and "permission" in e for e in summary.errors)
    assert "permission_denied" in caplog.text
    assert states(store) == {locked: L.NEW, fine: L.NEW}  # not MISSING


def test_broken_symlink_and_undecodable_names(store: StateStore, lib: Path, clock: Clock,
                                              caplog: pytest.LogCaptureFixture) -> None:
    sc = scanner(store, lib, clock)
    good = make_files(lib, ["Movies/Good (2000)/Good (2000).mkv"])[0]
    os.symlink("/nonexistent/target.mkv", lib / "Movies" / "Good (2000)" / "Link (1999).mkv")
    movies = os.fsencode(lib / "Movies")
    os.makedirs(movies + b"/Caf\xe9 (2001)")
    for name in (b"/Caf\xe9 (2001)/Caf\xe9 (2001).mkv", b"/Good (2000)/Bad\xff (1990).mkv"):
        with open(movies + name, "wb") as handle:
            handle.write(b"\0" * 1000)
    caplog.set_level(logging.WARNING)
    summary = sc.scan("quick")
    reasons = Counter(e.rsplit(": ", 1)[1] for e in summary.errors)
    renamed = "the file name is not valid UTF-8; rename the file"
    assert reasons == {"broken_symlink": 1, "undecodable_name": 3, renamed: 1}
    assert summary.counts["walk_errors"] == 4
    assert "broken_symlink" in caplog.text and "undecodable_name" in caplog.text
    bad = str(lib / "Movies" / "Good (2000)" / "Bad\\xff (1990).mkv")
    assert states(store) == {good: L.NEW, bad: L.ERROR}  # the video in a readable folder
    assert getattr(store.get(bad), "error_reason", None) == "undecodable_name"
    again = sc.scan("full")  # and again: still not fatal, nothing new, nothing missing
    assert again.counts["walk_errors"] == 4 and again.counts["new"] == 0
    assert states(store) == {good: L.NEW, bad: L.ERROR}


def test_an_empty_root_with_known_items_is_skipped(store: StateStore, lib: Path,
                                                   clock: Clock) -> None:
    sc = scanner(store, lib, clock)
    paths = generate(lib)
    sc.scan("quick")
    tv = lib / "TV"
    for path in sorted(tv.rglob("*"), key=lambda p: -len(p.parts)):
        path.unlink() if path.is_file() else path.rmdir()
    summary = sc.scan("full")  # TV looks unmounted: an empty mount point
    assert summary.counts["missing"] == 0
    assert any("TV" in e and "not mounted" in e for e in summary.errors)
    assert set(states(store).values()) == {L.NEW}
    assert len(states(store)) == len(paths)
    assert summary.counts["files"] > 0  # Movies was still scanned


def test_an_unreadable_root_is_skipped(store: StateStore, lib: Path, clock: Clock) -> None:
    sc = Scanner(store, [str(lib / "Movies"), str(lib / "Nowhere")], clock=clock)
    make_files(lib, ["Movies/Heat (1995)/Heat (1995).mkv"])
    summary = sc.scan("quick")
    assert summary.counts["new"] == 1 and summary.counts["walk_errors"] == 1
    assert any("Nowhere" in e and "cannot be read" in e for e in summary.errors)


def test_a_new_empty_root_is_fine(store: StateStore, lib: Path, clock: Clock) -> None:
    summary = scanner(store, lib, clock).scan("quick")
    assert summary.counts["walk_errors"] == 0 and summary.errors == []


# --- PATH arguments ------------------------------------------------------------------------------


def test_paths_restrict_the_scan(store: StateStore, lib: Path, clock: Clock) -> None:
    sc = scanner(store, lib, clock)
    heat, inception, episode = make_files(lib, [
        "Movies/Heat (1995)/Heat (1995).mkv", "Movies/Inception (2010)/Inception (2010).mkv",
        "TV/Show/Season 01/Show - S01E01.mkv"])
    summary = sc.scan("quick", [str(lib / "Movies" / "Heat (1995)"), episode])
    assert set(states(store)) == {heat, episode}
    assert summary.counts["new"] == 2
    assert store.stored_settings().get(scanner_module.FULL_STAT_KEY) is None  # partial scan
    assert inception not in states(store)


def test_a_path_outside_the_roots_is_refused(store: StateStore, lib: Path, tmp_path: Path,
                                             clock: Clock) -> None:
    sc = scanner(store, lib, clock)
    outside = make_files(tmp_path / "elsewhere", ["Heat (1995).mkv"])[0]
    sneaky = str(lib / "Movies") + "-evil"  # shares a prefix with a root, is not inside it
    os.makedirs(sneaky)
    summary = sc.scan("quick", [outside, sneaky])
    assert summary.counts["walk_errors"] == 2
    assert all("not inside a library root" in e for e in summary.errors)
    assert states(store) == {}


def test_a_deleted_path_marks_its_items_missing(store: StateStore, lib: Path,
                                                clock: Clock) -> None:
    """Regression: a PATH that no longer exists (a webhook reporting a deletion) crashed
    the scan with FileNotFoundError instead of walking the folder above it."""
    sc = scanner(store, lib, clock)
    heat, other = make_files(lib, ["Movies/Heat (1995)/Heat (1995).mkv",
                                   "Movies/Other (2001)/Other (2001).mkv"])
    sc.scan("quick")
    os.remove(heat)
    os.rmdir(os.path.dirname(heat))
    summary = sc.scan("quick", [heat])
    assert summary.counts["missing"] == 1 and summary.counts["walk_errors"] == 0
    assert states(store) == {heat: L.MISSING, other: L.NEW}


# --- modes, summary, progress --------------------------------------------------------------------


def test_refresh_mode_marks_stale_items(store: StateStore, lib: Path, clock: Clock) -> None:
    sc = scanner(store, lib, clock)
    path = make_files(lib, ["Movies/Heat (1995)/Heat (1995).mkv"])[0]
    sc.scan("quick")
    store.claim(path)
    store.mark_indexed(path, stale_after=iso(clock() + 10))
    assert sc.scan("quick").counts["stale"] == 0  # quick scans never age anything
    clock.advance(11)
    assert sc.scan("quick").counts["stale"] == 0
    assert sc.scan("refresh").counts["stale"] == 1
    assert states(store)[path] == L.STALE


def test_unknown_mode() -> None:
    with pytest.raises(ValueError, match="unknown scan mode"):
        Scanner.scan(None, "sideways")  # type: ignore[arg-type]


def test_summary_line() -> None:
    summary = ScanSummary("quick", Counter(files=10, new=3, changed=2, missing=1, adopted=1,
                                           settling=1, unidentified=1, walk_errors=2),
                          seconds=1.25)
    assert summary.line() == ("quick scan: 10 files, 3 new, 2 changed, 1 missing, 1 adopted, "
                              "1 settling, 3 errors in 1.2s")


def test_progress_is_reported_on_long_walks(store: StateStore, lib: Path, clock: Clock) -> None:
    for n in range(520):
        (lib / "Movies" / f"Folder {n:03d}").mkdir()
    seen: list[int] = []
    scanner(store, lib, clock).scan("quick", progress=lambda c: seen.append(c["dirs"]))
    assert seen == [500]


def test_root_of(store: StateStore, lib: Path, clock: Clock) -> None:
    sc = scanner(store, lib, clock)
    assert sc.root_of(str(lib / "Movies")) == str(lib / "Movies")
    assert sc.root_of(str(lib / "Movies" / "x" / "y.mkv")) == str(lib / "Movies")
    assert sc.root_of(str(lib / "Movies2" / "y.mkv")) is None
