"""FolderDiff: one listed folder against its rows, without touching the disk itself."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from sidecar.folderdiff import FolderDiff, printable, same_record, storable
from sidecar.lifecycle import Lifecycle as L
from sidecar.listing import DirListed, MediaFile, signature
from sidecar.state import DirRow, StateStore
from tests.corekit import new_store

ROOT = "/lib/Movies"
FOLDER = f"{ROOT}/Film (2001)"
T = 1_600_000_000_000_000_000


@pytest.fixture
def store(tmp_path: Path) -> StateStore:
    return new_store(tmp_path / "state.db")


@pytest.fixture
def diff(store: StateStore) -> FolderDiff:
    return FolderDiff(store, [ROOT], Counter(), [])


def listing(*files: MediaFile, subdirs: tuple[str, ...] = (),
            before: DirRow | None = None, path: str = FOLDER) -> DirListed:
    known = None if before is None else (before.mtime_ns, before.subdirs, before.signature)
    return DirListed(path, T, subdirs, signature(files), files, known)


def media(name: str, size: int = 1000, mtime_ns: int = T) -> MediaFile:
    return MediaFile(f"{FOLDER}/{name}", size, mtime_ns)


def state(store: StateStore, path: str) -> L | None:
    item = store.get(path)
    return None if item is None else item.state


def test_new_files_become_rows_and_the_folder_a_record(store: StateStore,
                                                       diff: FolderDiff) -> None:
    first = listing(media("Film (2001).mkv"), subdirs=("Subs",))
    record = diff.apply(ROOT, first)
    assert record == DirRow(FOLDER, T, ("Subs",), first.signature)
    assert state(store, f"{FOLDER}/Film (2001).mkv") == L.NEW
    assert diff.counts["new"] == diff.counts["files"] == 1


def test_an_unchanged_folder_reads_no_rows_and_writes_no_record(
        store: StateStore, diff: FolderDiff, monkeypatch: pytest.MonkeyPatch) -> None:
    files = (media("Film (2001).mkv"),)
    record = diff.apply(ROOT, listing(*files))
    assert record is not None
    monkeypatch.setattr(store, "file_stats_in_dir", lambda parent: pytest.fail("read rows"))
    assert diff.apply(ROOT, listing(*files, before=record)) is None


def test_size_or_mtime_changes_by_state(store: StateStore, diff: FolderDiff) -> None:
    diff.apply(ROOT, listing(media("A (2001).mkv"), media("B (2002).mkv"), media("C (2003).mkv")))
    for name, target in (("A (2001).mkv", L.INDEXED), ("B (2002).mkv", L.MISSING)):
        store.claim(f"{FOLDER}/{name}")
        store.mark_indexed(f"{FOLDER}/{name}")
        if target == L.MISSING:
            store.transition(f"{FOLDER}/{name}", L.MISSING)
    diff.apply(ROOT, listing(media("A (2001).mkv", 2000), media("B (2002).mkv"),
                             media("C (2003).mkv", mtime_ns=T + 1)))
    assert state(store, f"{FOLDER}/A (2001).mkv") == L.CHANGED  # indexed, then rewritten
    assert state(store, f"{FOLDER}/B (2002).mkv") == L.NEW  # back after being missing
    assert state(store, f"{FOLDER}/C (2003).mkv") == L.NEW  # still copying: stays NEW
    assert store.file_stats_in_dir(FOLDER)[f"{FOLDER}/C (2003).mkv"][1] == T + 1
    assert (diff.counts["changed"], diff.counts["new"]) == (1, 4)


def test_files_and_subfolders_gone_are_missing(store: StateStore, diff: FolderDiff) -> None:
    season = f"{FOLDER}/Season 01"
    below = FolderDiff(store, [ROOT], Counter(), [])
    below.apply(ROOT, listing(MediaFile(f"{season}/x.mkv", 1000, T), path=season))
    store.save_dirs(ROOT, [DirRow(season, T, (), "")])
    record = diff.apply(ROOT, listing(media("Film (2001).mkv"), subdirs=("Season 01",)))
    assert record is not None
    diff.apply(ROOT, listing(before=record))
    assert state(store, f"{FOLDER}/Film (2001).mkv") == L.MISSING
    assert state(store, f"{season}/x.mkv") == L.MISSING  # in the vanished season folder
    assert store.folder_record(season) is None
    assert diff.counts["missing"] == 2


def test_undecodable_names_get_an_error_row_once_and_never_go_missing(
        store: StateStore, diff: FolderDiff) -> None:
    odd = media("Bad\udcff (1990).mkv")
    diff.apply(ROOT, listing(odd))
    (item,) = store.items(L.ERROR)
    assert item.path == f"{FOLDER}/Bad\\xff (1990).mkv"
    assert diff.errors == [f"{item.path}: the file name is not valid UTF-8; rename the file"]
    diff.apply(ROOT, listing(odd, media("Other (2000).mkv")))
    assert diff.counts["unidentified"] == 1 and diff.counts["missing"] == 0
    assert diff.apply(ROOT, listing(path=f"{ROOT}/Caf\udce9")) is None  # folder: not a row


def test_helpers() -> None:
    assert printable("a\udcffb") == "a\\xffb"
    assert storable("Caf\u00e9") and not storable("Caf\udce9")
    files = (media("A.mkv"),)
    now = listing(*files)
    assert same_record((T, (), now.signature), now)
    assert not same_record(None, now) and not same_record((T, ("x",), now.signature), now)
