"""Listing one folder: the signature, racy mtimes, markers, and what goes to ``report``."""

from __future__ import annotations

import os
from pathlib import Path

from sidecar.listing import RACY_WINDOW_NS, Lister, MediaFile, signature
from tests.corekit import make_file

T0 = 1_600_000_000 * 10**9
LATER = T0 + 10 * RACY_WINDOW_NS


BIG = 5000  # above the sample limit


class Reports(list[tuple[str, str]]):
    def __call__(self, path: str, reason: str, detail: object) -> None:
        self.append((path, reason))


def lister(reports: Reports | None = None, now: int = LATER) -> Lister:
    return Lister(reports if reports is not None else Reports(), 1000, clock=lambda: now)


def test_signature_tracks_name_size_mtime_and_sidecars() -> None:
    a, b = MediaFile("/x/a.mkv", 1, 2), MediaFile("/x/b.mkv", 3, 4, ("b.srt",))
    base = signature([a, b])
    assert signature([b, a]) == base
    assert signature([]) != base
    changes = [MediaFile("/x/a.mkv", 9, 2), MediaFile("/x/a.mkv", 1, 9),
               MediaFile("/x/a.mkv", 1, 2, ("a.nfo",)), MediaFile("/x/c.mkv", 1, 2)]  # fmt: skip
    for changed in changes:
        assert signature([changed, b]) != base


def test_listing_signature_matches_the_public_function(tmp_path: Path) -> None:
    make_file(tmp_path, "A.mkv", BIG)
    make_file(tmp_path, "A.en.srt", 10)
    make_file(tmp_path, "A.mkv.mkv", BIG)  # sorts differently as "name:" lines than as names
    listed = lister().list_folder(str(tmp_path), T0, None)
    assert listed.signature == signature(listed.files)
    assert lister().list_folder(str(tmp_path), T0, listed.record()).unchanged
    assert not lister().list_folder(str(tmp_path), T0, (T0, (), "other")).unchanged


def test_racy_mtime_is_reported_as_zero(tmp_path: Path) -> None:
    assert lister(now=T0 + RACY_WINDOW_NS - 1).list_folder(str(tmp_path), T0, None).mtime_ns == 0
    assert lister(now=T0 + RACY_WINDOW_NS).list_folder(str(tmp_path), T0, None).mtime_ns == T0


def test_extras_folders_pruned_only_in_media_folders(tmp_path: Path) -> None:
    for name in ("Other", "Shorts", "@eaDir", "Movies"):
        (tmp_path / "lib" / name).mkdir(parents=True)
    assert lister().list_folder(str(tmp_path / "lib"), T0, None).subdirs == (
        "Movies", "Other", "Shorts")  # fmt: skip
    make_file(tmp_path, "lib/Film (2001).mkv", BIG)
    assert lister().list_folder(str(tmp_path / "lib"), T0, None).subdirs == ("Movies",)


def test_marker_empties_the_listing(tmp_path: Path) -> None:
    make_file(tmp_path, "a.mkv", BIG)
    (tmp_path / "Sub").mkdir()
    (tmp_path / ".ignore").touch()
    listed = lister().list_folder(str(tmp_path), T0, None)
    assert (listed.files, listed.subdirs) == ((), ())
    assert listed.signature == signature([])


def test_undecodable_folder_name_is_reported_and_kept(tmp_path: Path) -> None:
    os.mkdir(os.fsencode(tmp_path) + b"/caf\xe9")
    reports = Reports()
    (name,) = lister(reports).list_folder(str(tmp_path), T0, None).subdirs
    assert os.fsencode(name) == b"caf\xe9"
    assert reports == [(os.path.join(str(tmp_path), name), "undecodable_name")]
