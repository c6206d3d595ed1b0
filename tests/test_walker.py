"""Walker: what is yielded, what is ignored, what survives, and what fast mode skips.

Every test builds a tiny tree in tmp_path; sizes come from sparse truncation (no disk).
The walker's clock is pinned far in the future so no folder counts as "racy" unless a test
says so, and folder mtimes are set explicitly when a test depends on them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sidecar import walker
from sidecar.walker import (
    RACY_WINDOW_NS,
    DirListed,
    DirRecord,
    DirUnchanged,
    DirUnreadable,
    MediaFile,
    WalkEvent,
    iter_media,
    walk,
)
from sidecar.walkrules import EXTRAS_DIRS, JUNK_DIRS, PARTIAL_SUFFIXES, SAMPLE_MAX_BYTES
from tests.corekit import make_file

LATER = 1 << 62  # "now" for the walker: every folder is old enough to trust
T0 = 1_600_000_000 * 10**9  # a fixed folder mtime
SMALL, BIG = 10, 5000  # sizes around the sample limit used below
LIMIT = 1000


def media(root: Path, **options: Any) -> list[str]:
    options.setdefault("sample_max_bytes", LIMIT)
    options.setdefault("clock", lambda: LATER)
    found = []
    for event in walk(root, mode="full", **options):
        if isinstance(event, DirListed):
            found += [os.path.relpath(f.path, root) for f in event.files]
    return sorted(found)


def events(root: Path, **options: Any) -> list[WalkEvent]:
    options.setdefault("clock", lambda: LATER)
    return list(walk(root, **options))


def freeze_dirs(root: Path, mtime_ns: int = T0) -> None:
    """Give every folder the same old mtime so fast-mode tests do not depend on timing."""
    for dirpath, _dirs, _files in os.walk(root):
        os.utime(dirpath, ns=(mtime_ns, mtime_ns))


def known_from(evts: list[WalkEvent]) -> dict[str, DirRecord]:
    return {e.path: e.record() for e in evts if isinstance(e, DirListed)}


class Errors(list[tuple[str, str]]):
    def __call__(self, path: str, reason: str) -> None:
        self.append((path, reason))

    def reasons(self) -> list[str]:
        return [reason for _path, reason in self]


# --- ignore rules: one row per rule ---------------------------------------------------------

KEEP = "Movie (2010)/Movie (2010).mkv"

IGNORE_CASES = [
    # (files to create as (path, size), paths expected to be yielded)
    pytest.param([(KEEP, BIG)], [KEEP], id="baseline"),
    pytest.param([("M/Movie.MKV", BIG), ("M/b.M2TS", BIG)], ["M/Movie.MKV", "M/b.M2TS"],
                 id="ext-case"),
    pytest.param([("M/readme.txt", BIG), ("M/Thumbs.db", 0), ("M/desktop.ini", 0)], [],
                 id="non-video"),
    pytest.param([("M/.DS_Store", 0), ("M/._Movie.mkv", BIG), ("M/.Movie.mkv", BIG)], [],
                 id="dotfiles"),
    pytest.param([("M/Movie.mkv", BIG), ("M/Movie.mkv.aria2", 0)], [], id="aria2-in-progress"),
    pytest.param([("M/Movie.mkv", 0), ("M/Movie.mkv.part", BIG)], [], id="part-in-progress"),
    pytest.param([("Other/Foo (1999)/Foo (1999).mkv", BIG)], ["Other/Foo (1999)/Foo (1999).mkv"],
                 id="extras-name-outside-media-folder"),
    pytest.param([("Show/Season 01/Show - S01E01.mkv", BIG), ("Show/Extras/Making of.mkv", BIG)],
                 ["Show/Season 01/Show - S01E01.mkv"], id="extras-in-show-folder"),
    pytest.param([("Show/Season 01/Show - S02E03 - Trailer.mkv", BIG)],
                 ["Show/Season 01/Show - S02E03 - Trailer.mkv"], id="episode-titled-trailer"),
    pytest.param([("M/Movie - Other.mkv", BIG)], ["M/Movie - Other.mkv"],
                 id="dash-space-not-extra"),
    pytest.param([("M/Movie-sample.mkv", SMALL), ("M/sample.mkv", SMALL),
                  ("M/Movie.sample.mkv", SMALL), ("M/sample-grp-movie.mkv", SMALL),
                  ("M/Sample/grp-movie.mkv", SMALL)], [], id="small-samples"),
    pytest.param([("M/Movie-sample.mkv", BIG), ("M/Sample/grp-movie.mkv", BIG)],
                 ["M/Movie-sample.mkv", "M/Sample/grp-movie.mkv"], id="big-sample-kept"),
    pytest.param([("Shomin Sample/Season 01/Shomin Sample - 01.mkv", SMALL)],
                 ["Shomin Sample/Season 01/Shomin Sample - 01.mkv"], id="shomin-sample"),
    pytest.param([("Ign/.ignore", 0), ("Ign/a.mkv", BIG), ("Ign/Sub/b.mkv", BIG)], [],
                 id="ignore-empty"),
    pytest.param([("Ign/.nomedia", 0), ("Ign/a.mkv", BIG)], [], id="nomedia"),
    pytest.param([("Ign/.plexignore", 1), ("Ign/a.mkv", BIG)], [], id="plexignore-star"),
    pytest.param([("Ign/.plexignore", 0), ("Ign/a.mkv", BIG)], ["Ign/a.mkv"],
                 id="plexignore-empty"),
]  # fmt: skip


@pytest.mark.parametrize(("files", "expected"), IGNORE_CASES)
def test_ignore_rules(tmp_path: Path, files: list[tuple[str, int]], expected: list[str]) -> None:
    for rel, size in files:
        path = make_file(tmp_path, rel, size)
        if path.name == ".plexignore" and size:
            path.write_text("# everything\n*\n")
    assert media(tmp_path) == sorted(expected)


@pytest.mark.parametrize("suffix", sorted(PARTIAL_SUFFIXES))
def test_partial_downloads_are_not_media(tmp_path: Path, suffix: str) -> None:
    make_file(tmp_path, f"M/Movie (2010).mkv{suffix}", BIG)
    make_file(tmp_path, f"M/Movie (2010).MKV{suffix.upper()}", BIG)
    assert media(tmp_path) == []


@pytest.mark.parametrize("name", sorted(JUNK_DIRS | {".@__thumb", ".actors", ".grab", ".Trash-0"}))
def test_junk_folders_are_never_entered(tmp_path: Path, name: str) -> None:
    make_file(tmp_path, f"Movie (2010)/{name.upper()}/x.mkv", BIG)
    make_file(tmp_path, f"{name}/Movie (2010).mkv", BIG)
    assert media(tmp_path) == []


@pytest.mark.parametrize("name", sorted(EXTRAS_DIRS))
def test_extras_folders_inside_a_movie_folder(tmp_path: Path, name: str) -> None:
    make_file(tmp_path, KEEP, BIG)
    make_file(tmp_path, f"Movie (2010)/{name.title()}/Movie (2010).mkv", BIG)
    assert media(tmp_path) == [KEEP]


@pytest.mark.parametrize(
    "suffix",
    ["-trailer", ".trailer", "_trailer", " trailer", "-Trailer2", "-behindthescenes", "-deleted",
     "-deletedscene", "-deleted1", "-featurette", "-interview", "-scene", "-short", "-other",
     "-clip", "-extra"],
)  # fmt: skip
def test_inline_extras_suffixes(tmp_path: Path, suffix: str) -> None:
    make_file(tmp_path, KEEP, BIG)
    make_file(tmp_path, f"Movie (2010)/Movie (2010){suffix}.mkv", BIG)
    make_file(tmp_path, "Movie (2010)/trailer.mp4", BIG)
    assert media(tmp_path) == [KEEP]


def test_sample_limit_defaults_to_300_mib(tmp_path: Path) -> None:
    make_file(tmp_path, "A/movie-sample.mkv", SAMPLE_MAX_BYTES - 1)
    make_file(tmp_path, "B/movie-sample.mkv", SAMPLE_MAX_BYTES)
    found = [f.path for f in iter_media(tmp_path)]
    assert found == [str(tmp_path / "B/movie-sample.mkv")]


def test_ignore_with_unsupported_patterns_keeps_the_folder(tmp_path: Path) -> None:
    make_file(tmp_path, "L/.ignore").write_text("Extras/*\n")
    make_file(tmp_path, "L/a.mkv", BIG)
    assert media(tmp_path) == ["L/a.mkv"]


# --- sidecars --------------------------------------------------------------------------------


def test_sidecars_are_attached_not_yielded(tmp_path: Path) -> None:
    for name in ["Movie (2010).mkv", "Movie (2010).en.srt", "Movie (2010).en.forced.ass",
                 "Movie (2010).nfo", "movie.nfo", "Movie (2010).idx", "Movie (2010).sub",
                 "poster.jpg", "Other.srt"]:  # fmt: skip
        make_file(tmp_path, f"M/{name}", BIG if name.endswith(".mkv") else 1)
    (file,) = iter_media(tmp_path, sample_max_bytes=LIMIT)
    assert file.path == str(tmp_path / "M/Movie (2010).mkv")
    assert file.size == BIG
    assert file.sidecars == (
        "Movie (2010).en.forced.ass", "Movie (2010).en.srt", "Movie (2010).idx",
        "Movie (2010).nfo", "Movie (2010).sub", "movie.nfo",
    )  # fmt: skip


def test_movie_nfo_only_attached_when_alone(tmp_path: Path) -> None:
    for name in ["A.mkv", "B.mkv", "movie.nfo", "B.nfo"]:
        make_file(tmp_path, f"M/{name}", BIG)
    files = {os.path.basename(f.path): f.sidecars for f in iter_media(tmp_path)}
    assert files == {"A.mkv": (), "B.mkv": ("B.nfo",)}


# --- surviving a hostile filesystem ---------------------------------------------------------


def test_permission_denied_folder_is_reported_and_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_file(tmp_path, KEEP, BIG)
    locked = make_file(tmp_path, "Locked/x.mkv", BIG).parent
    locked.chmod(0)
    try:
        os.listdir(locked)  # root (and CAP_DAC_OVERRIDE) ignores the mode: simulate instead
    except PermissionError:
        pass
    else:
        real = os.scandir

        def deny(path: Any) -> Any:
            if os.fspath(path) == str(locked):
                raise PermissionError(13, "Permission denied", os.fspath(path))
            return real(path)

        monkeypatch.setattr(os, "scandir", deny)
    errors = Errors()
    try:
        evts = events(tmp_path, mode="full", on_error=errors, sample_max_bytes=LIMIT)
    finally:
        locked.chmod(0o755)
    assert DirUnreadable(str(locked), "permission_denied") in evts
    assert errors == [(str(locked), "permission_denied")]
    assert [f.path for e in evts if isinstance(e, DirListed) for f in e.files] == [
        str(tmp_path / KEEP)
    ]


def test_unreadable_root_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        list(walk(tmp_path / "not-mounted"))
    with pytest.raises(NotADirectoryError):
        list(walk(make_file(tmp_path, "file.mkv")))
    with pytest.raises(ValueError, match="mode"):
        walk(tmp_path, mode="quick")  # type: ignore[arg-type]


def test_symlink_loops_terminate(tmp_path: Path) -> None:
    make_file(tmp_path, "Show/Season 01/Show - S01E01.mkv", BIG)
    os.symlink("..", tmp_path / "Show/Season 01/up")
    os.symlink("self.mkv", tmp_path / "Show/self.mkv")
    errors = Errors()
    assert media(tmp_path, on_error=errors) == ["Show/Season 01/Show - S01E01.mkv"]
    assert sorted(errors.reasons()) == ["already_visited", "symlink_loop"]


def test_symlinked_folder_is_followed_once(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    make_file(outside, "Film (2001)/Film (2001).mkv", BIG)
    root = tmp_path / "lib"
    root.mkdir()
    os.symlink(outside / "Film (2001)", root / "Film (2001)")
    os.symlink(outside / "Film (2001)", root / "Zlink")
    errors = Errors()
    assert media(root, on_error=errors) == ["Film (2001)/Film (2001).mkv"]
    assert errors == [(str(root / "Zlink"), "already_visited")]


def test_broken_symlink_is_reported(tmp_path: Path) -> None:
    make_file(tmp_path, KEEP, BIG)
    os.symlink(tmp_path / "gone.mkv", tmp_path / "Movie (2010)/dangling.mkv")
    errors = Errors()
    assert media(tmp_path, on_error=errors) == [KEEP]
    assert errors == [(str(tmp_path / "Movie (2010)/dangling.mkv"), "broken_symlink")]


class _Listing:
    """A finished scandir listing, like os.scandir's context manager."""

    def __init__(self, entries: list[os.DirEntry[str]]) -> None:
        self.entries = entries

    def __enter__(self) -> _Listing:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def __iter__(self) -> Iterator[os.DirEntry[str]]:
        return iter(self.entries)


def test_file_vanishing_between_listing_and_stat(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_file(tmp_path, "M/a.mkv", BIG)
    victim = make_file(tmp_path, "M/b.mkv", BIG)
    real = os.scandir

    def listing_then_delete(path: Any) -> _Listing:
        with real(path) as iterator:
            entries = list(iterator)
        if os.fspath(path) == str(victim.parent):
            victim.unlink()
        return _Listing(entries)

    monkeypatch.setattr(os, "scandir", listing_then_delete)
    errors = Errors()
    assert media(tmp_path, on_error=errors) == ["M/a.mkv"]
    assert errors == [(str(victim), "vanished")]


def test_folder_vanishing_mid_walk(tmp_path: Path) -> None:
    make_file(tmp_path, "A/a.mkv", BIG)
    make_file(tmp_path, "B/b.mkv", BIG)
    errors = Errors()
    iterator = walk(tmp_path, mode="full", on_error=errors, clock=lambda: LATER)
    first = next(iterator)
    assert isinstance(first, DirListed) and first.subdirs == ("A", "B")
    (tmp_path / "B/b.mkv").unlink()
    (tmp_path / "B").rmdir()
    assert [e.path for e in iterator] == [str(tmp_path / "A")]
    assert errors == []


def test_non_utf8_names_are_yielded_and_reported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    raw_dir = os.fsencode(tmp_path) + b"/D\xe9j\xe0 vu (1997)"
    os.mkdir(raw_dir)
    with open(raw_dir + b"/D\xe9j\xe0 vu (1997).mkv", "wb") as handle:
        handle.truncate(BIG)
    errors = Errors()
    with caplog.at_level(logging.WARNING, logger="sidecar.walker"):
        (file,) = iter_media(tmp_path, on_error=errors)
    assert os.fsencode(file.path) == raw_dir + b"/D\xe9j\xe0 vu (1997).mkv"
    assert errors.reasons() == ["undecodable_name", "undecodable_name"]
    assert "undecodable_name" in caplog.text


# --- events, fast mode, signatures ------------------------------------------------------------


def library(root: Path) -> None:
    make_file(root, "Movies/A (2001)/A (2001).mkv", BIG)
    make_file(root, "Movies/B (2002)/B (2002).mkv", BIG)
    make_file(root, "TV/S (2003)/Season 01/S - S01E01.mkv", BIG)
    make_file(root, "TV/S (2003)/Season 02/S - S02E01.mkv", BIG)
    (root / "Empty").mkdir()
    freeze_dirs(root)


def test_full_walk_yields_every_folder_in_preorder(tmp_path: Path) -> None:
    library(tmp_path)
    evts = events(tmp_path, mode="full")
    rel = [os.path.relpath(e.path, tmp_path) for e in evts]
    assert rel == [".", "Empty", "Movies", "Movies/A (2001)", "Movies/B (2002)", "TV",
                   "TV/S (2003)", "TV/S (2003)/Season 01", "TV/S (2003)/Season 02"]  # fmt: skip
    assert all(isinstance(e, DirListed) and e.mtime_ns == T0 for e in evts)
    assert evts[0].subdirs == ("Empty", "Movies", "TV")  # type: ignore[union-attr]


def counting_scandir(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    listed: list[str] = []
    real = os.scandir

    def scandir(path: Any) -> Any:
        listed.append(os.fspath(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    return listed


def test_fast_mode_skips_unchanged_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    library(tmp_path)
    known = known_from(events(tmp_path, mode="full"))
    listed = counting_scandir(monkeypatch)
    evts = events(tmp_path, known=known)
    assert listed == []
    assert all(isinstance(e, DirUnchanged) for e in evts)
    assert len(evts) == len(known)


def test_fast_mode_lists_only_changed_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    library(tmp_path)
    known = known_from(events(tmp_path, mode="full"))
    season = tmp_path / "TV/S (2003)/Season 01"
    make_file(season, "S - S01E02.mkv", BIG)
    make_file(tmp_path, "Movies/C (2004)/C (2004).mkv", BIG)
    freeze_dirs(tmp_path)
    for changed in (season, tmp_path / "Movies"):
        os.utime(changed, ns=(T0 + 1, T0 + 1))
    listed = counting_scandir(monkeypatch)
    evts = {os.path.relpath(e.path, tmp_path): e for e in events(tmp_path, known=known)}
    assert sorted(os.path.relpath(p, tmp_path) for p in listed) == [
        "Movies", "Movies/C (2004)", "TV/S (2003)/Season 01"]  # fmt: skip
    assert evts["Movies"].subdirs == ("A (2001)", "B (2002)", "C (2004)")  # type: ignore[union-attr]
    assert isinstance(evts["Movies/A (2001)"], DirUnchanged)
    new_season = evts["TV/S (2003)/Season 01"]
    assert isinstance(new_season, DirListed) and not new_season.unchanged
    assert [os.path.basename(f.path) for f in new_season.files] == [
        "S - S01E01.mkv", "S - S01E02.mkv"]  # fmt: skip


def test_fast_mode_does_not_visit_vanished_known_folders(tmp_path: Path) -> None:
    library(tmp_path)
    known = known_from(events(tmp_path, mode="full"))
    (tmp_path / "TV/S (2003)/Season 02/S - S02E01.mkv").unlink()
    (tmp_path / "TV/S (2003)/Season 02").rmdir()
    make_file(tmp_path, "TV/S (2003)/Season 02", 0)  # a file where the folder was
    os.utime(tmp_path / "TV/S (2003)", ns=(T0, T0))  # pretend the show folder looks unchanged
    errors = Errors()
    paths = {
        os.path.relpath(e.path, tmp_path) for e in events(tmp_path, known=known, on_error=errors)
    }
    assert "TV/S (2003)/Season 02" not in paths and "TV/S (2003)/Season 01" in paths
    assert errors == []


def test_full_mode_catches_in_place_rewrite(tmp_path: Path) -> None:
    library(tmp_path)
    known = known_from(events(tmp_path, mode="full"))
    rewritten = tmp_path / "Movies/A (2001)/A (2001).mkv"
    os.truncate(rewritten, BIG + 1)
    freeze_dirs(tmp_path)  # an in-place write does not touch the folder's mtime
    assert all(isinstance(e, DirUnchanged) for e in events(tmp_path, known=known))
    full = events(tmp_path, known=known, mode="full")
    changed = [os.path.relpath(e.path, tmp_path) for e in full if not e.unchanged]  # type: ignore[union-attr]
    assert changed == ["Movies/A (2001)"]


def test_racy_folder_mtime_is_not_trusted(tmp_path: Path) -> None:
    library(tmp_path)
    just_listed = events(tmp_path, mode="full", clock=lambda: T0 + RACY_WINDOW_NS - 1)
    assert {e.mtime_ns for e in just_listed} == {0}  # type: ignore[union-attr]
    again = events(tmp_path, known=known_from(just_listed))
    assert all(isinstance(e, DirListed) and e.unchanged for e in again)


def test_zero_mtime_is_never_trusted(tmp_path: Path) -> None:
    library(tmp_path)
    freeze_dirs(tmp_path, 0)  # some FUSE mounts report no mtimes at all
    known = known_from(events(tmp_path, mode="full"))
    assert all(isinstance(e, DirListed) for e in events(tmp_path, known=known))


def test_marker_folder_is_recorded_empty(tmp_path: Path) -> None:
    make_file(tmp_path, "Ign/.nomedia")
    make_file(tmp_path, "Ign/Deep/a.mkv", BIG)
    freeze_dirs(tmp_path)
    evts = events(tmp_path, mode="full")
    ignored = evts[-1]
    assert isinstance(ignored, DirListed) and ignored.path == str(tmp_path / "Ign")
    assert ignored.files == () and ignored.subdirs == ()
    assert all(isinstance(e, DirUnchanged) for e in events(tmp_path, known=known_from(evts)))


def test_module_exports_contract_names() -> None:
    assert ".mkv" in walker.VIDEO_EXTENSIONS and ".srt" in walker.SUBTITLE_EXTENSIONS
    assert MediaFile("/p", 1, 2).sidecars == ()
