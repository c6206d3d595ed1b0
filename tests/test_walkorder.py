"""walk_key sorts like the walker visits; FolderRecords answers a walk from a stream."""

from __future__ import annotations

import os
from pathlib import Path

from sidecar.state.walkorder import FolderRecords, subtree_range, walk_key
from sidecar.walker import walk

NAMES = ["A", "A B", "A-B", "A!", "A.b", "a", "Z", "\u00c4rger", "\u65e5\u672c", "0"]


def test_walk_key_matches_the_order_the_walker_visits(tmp_path: Path) -> None:
    for name in NAMES:
        for child in NAMES[:4]:
            (tmp_path / name / child).mkdir(parents=True)
    os.mkdir(os.fsencode(tmp_path) + b"/Caf\xe9")  # not UTF-8: sorted by its bytes too
    os.mkdir(os.fsencode(tmp_path) + b"/Caf\xe9/x")
    visited = [event.path for event in walk(tmp_path, mode="full")]
    assert len(visited) == 1 + len(NAMES) * 5 + 2
    assert visited == sorted(visited, key=walk_key)


def test_subtree_range_holds_the_folder_and_below_only() -> None:
    low, high = subtree_range("/lib/Show/")
    inside = ["/lib/Show", "/lib/Show/S1", "/lib/Show/S1/x"]
    outside = ["/lib/Show (2010)", "/lib/Shows", "/lib/Sho", "/lib"]
    assert all(low <= walk_key(p) < high for p in inside)
    assert not any(low <= walk_key(p) < high for p in outside)
    low, high = subtree_range("/")
    assert all(low <= walk_key(p) < high for p in ["/", *inside, *outside])


def rec(n: int) -> tuple[int, tuple[str, ...], str]:
    return n, (), ""


def test_records_skip_what_the_walk_passed_and_keep_what_it_has_not_reached() -> None:
    pages = [[("/l", rec(1)), ("/l/a", rec(2))], [("/l/gone", rec(3)), ("/l/z", rec(4))]]
    stream = FolderRecords(pages)
    assert stream.get("/l") == rec(1)
    assert stream.get("/l/a") == rec(2)
    assert stream.get("/l/b") is None  # new folder: "/l/gone" is after it, kept
    assert stream.get("/l/y") is None  # "/l/gone" passed without being asked: dropped
    assert stream.get("/l/z") == rec(4)
    assert stream.get("/m") is None and stream.get("/n") is None  # exhausted


def test_asking_out_of_order_loses_records_but_never_returns_a_wrong_one() -> None:
    stream = FolderRecords([[("/l/a", rec(1)), ("/l/b", rec(2)), ("/l/c", rec(3))]])
    assert stream.get("/l/b") == rec(2)
    assert stream.get("/l/a") is None
    assert stream.get("/l/c") == rec(3)
