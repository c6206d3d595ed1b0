"""Folder records: stored in walk order, read back as a stream a page at a time."""

from __future__ import annotations

from pathlib import Path

import pytest

from sidecar.state import DirRow, StateStore
from sidecar.state import folders as folders_module
from sidecar.state.walkorder import walk_key
from tests.corekit import new_store

# Saved in no particular order; the walk visits them in walk_key order.
PATHS = ["/lib/Show (2010)", "/lib/Show/Season 1", "/lib", "/lib/Caf\u00e9", "/lib/Show",
         "/lib/Show/Season 1/x", "/lib/A-B", "/lib/A B"]
WALK = sorted(PATHS, key=walk_key)


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> StateStore:
    monkeypatch.setattr(folders_module, "PAGE", 2)  # many pages from a few rows
    store = new_store(tmp_path / "state.db")
    store.save_dirs("/lib", [DirRow(p, *record(p)) for p in PATHS])
    store.save_dirs("/other", [DirRow("/other/c", 1, (), "")])
    return store


def record(path: str, signature: bool = True) -> tuple[int, tuple[str, ...], str]:
    n = PATHS.index(path)
    return n + 1, (f"sub{n}",), f"sig{n}" if signature else ""


def test_walk_order_is_by_path_components() -> None:
    assert WALK == ["/lib", "/lib/A B", "/lib/A-B", "/lib/Caf\u00e9", "/lib/Show",
                    "/lib/Show/Season 1", "/lib/Show/Season 1/x", "/lib/Show (2010)"]


def test_records_stream_in_walk_order(store: StateStore) -> None:
    stream = store.folder_records("/lib")
    assert [stream.get(p) for p in WALK] == [record(p) for p in WALK]
    assert stream.get("/lib/\u00fcber") is None  # past the end


def test_a_subtree_streams_only_itself(store: StateStore) -> None:
    stream = store.folder_records("/lib", "/lib/Show")
    assert stream.get("/lib/Show") == record("/lib/Show")
    assert stream.get("/lib/Show/Season 1/x") == record("/lib/Show/Season 1/x")
    assert stream.get("/lib/Show (2010)") is None


def test_snapshot_pages_serve_fast_scans_and_any_change_drops_them(store: StateStore) -> None:
    assert not store.has_snapshot("/lib")
    store.snapshot_dirs("/lib")
    assert store.has_snapshot("/lib") and not store.has_snapshot("/other")
    fast = store.folder_records("/lib", signatures=False)
    assert [fast.get(p) for p in WALK] == [record(p, signature=False) for p in WALK]
    full = store.folder_records("/lib")  # signatures: always the rows
    assert full.get("/lib") == record("/lib")
    store.save_dirs("/lib", [DirRow("/lib/new", 1, (), "")])
    assert not store.has_snapshot("/lib")


def test_snapshot_dropped_while_read_goes_on_from_the_rows(store: StateStore) -> None:
    store.snapshot_dirs("/lib")
    stream = store.folder_records("/lib", signatures=False)
    assert stream.get(WALK[0]) == record(WALK[0], signature=False)
    assert stream.get(WALK[1]) == record(WALK[1], signature=False)  # page 0 done
    store.save_dirs("/other", [DirRow("/other/d", 1, (), "")])  # not this root: kept
    assert store.has_snapshot("/lib")
    store.save_dirs("/lib", [DirRow(WALK[2], 99, (), "new")])  # another scan saved folders
    assert stream.get(WALK[2]) == (99, (), "")
    assert [stream.get(p) for p in WALK[3:]] == [record(p, signature=False) for p in WALK[3:]]


def test_empty_root_has_a_snapshot_of_nothing(store: StateStore) -> None:
    store.snapshot_dirs("/empty")
    assert store.has_snapshot("/empty")
    assert store.folder_records("/empty", signatures=False).get("/empty") is None


def test_forget_drops_a_whole_subtree_and_nothing_beside_it(store: StateStore) -> None:
    store.snapshot_dirs("/lib")
    store.forget_dirs("/lib", ["/lib/Show"])
    assert not store.has_snapshot("/lib")
    assert store.folder_record("/lib/Show") is None
    assert store.folder_record("/lib/Show/Season 1/x") is None
    assert store.folder_record("/lib/Show (2010)") == record("/lib/Show (2010)")
    assert store.folder_record("/other/c") == (1, (), "")
