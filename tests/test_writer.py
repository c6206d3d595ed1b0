"""The writer: the file-name contract, atomic + idempotent writes, confinement, errors.

Images come from a fake downloader that records every URL; write failures are simulated
by patching ``os``/``tempfile`` (the suite may run as root, where chmod protects nothing).
"""

from __future__ import annotations

import datetime as dt
import errno
import json
import os
import stat
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from sidecar import writer as writer_module
from sidecar.errors import OutsideRoots, TmdbUnavailable, WriteError
from sidecar.metadata import (
    episode_document,
    load_valid_metadata,
    movie_document,
    show_document,
)
from sidecar.writer import Writer, atomic_write, season_poster_name

DATA = Path(__file__).parent / "data" / "tmdb_answers"
WHEN = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
LATER = dt.datetime(2024, 9, 9, tzinfo=dt.UTC)


def answer(name: str) -> dict[str, Any]:
    return json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))


def movie_doc(when: dt.datetime = WHEN, **overrides: Any) -> dict[str, Any]:
    return movie_document(answer("movie_603") | overrides, fetched_at=when, version="1.0")


def show_doc() -> dict[str, Any]:
    return show_document(answer("tv_1399"), fetched_at=WHEN, version="1.0")


def episode_doc(episodes: Any = 1, season: str = "tv_1399_season_1") -> dict[str, Any]:
    return episode_document(answer("tv_1399"), answer(season), episodes, fetched_at=WHEN,
                            version="1.0")


class FakeImages:
    """``image_url`` + ``fetch_image`` pair; the bytes name the URL so tests can check them."""

    def __init__(self) -> None:
        self.fetched: list[str] = []
        self.fail: Exception | None = None

    def url(self, path: str, kind: str) -> str:
        return f"https://image.test/{kind}{path}"

    def fetch(self, url: str) -> bytes:
        if self.fail:
            raise self.fail
        self.fetched.append(url)
        return b"\xff\xd8\xff" + url.encode()


@pytest.fixture
def library(tmp_path: Path) -> Path:
    root = tmp_path / "library"
    root.mkdir()
    return root


@pytest.fixture
def images() -> FakeImages:
    return FakeImages()


def make_writer(library: Path, images: FakeImages, *, nfo: bool = False) -> Writer:
    return Writer([str(library)], images.fetch, nfo=nfo, image_url=images.url)


def video(folder: Path, name: str) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(b"video")
    return str(folder / name)


def files(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def no_temp_files(root: Path) -> bool:
    return not [p for p in root.rglob("*") if p.name.startswith(writer_module.TEMP_PREFIX)]


# --- the file-name contract ----------------------------------------------------------------


def test_movie_alone_in_its_folder(library: Path, images: FakeImages) -> None:
    folder = library / "The Matrix (1999)"
    path = video(folder, "The Matrix (1999).mkv")
    written = make_writer(library, images).write_movie(path, movie_doc(), alone_in_folder=True)
    assert sorted(written) == sorted(str(folder / n) for n in
                                     ("metadata.json", "poster.jpg", "fanart.jpg"))
    assert files(folder) == {"The Matrix (1999).mkv", "metadata.json", "poster.jpg", "fanart.jpg"}
    assert (folder / "poster.jpg").read_bytes().endswith(
        b"https://image.test/poster/f89U3ADr1oiB1s9GkdPOEpXUk5H.jpg")
    assert (folder / "fanart.jpg").read_bytes().endswith(
        b"https://image.test/backdrop/fNG7i7RqMErkcqhohV2a6cV1Ehy.jpg")
    assert load_valid_metadata(folder / "metadata.json") == movie_doc()


def test_movie_alone_with_nfo(library: Path, images: FakeImages) -> None:
    folder = library / "The Matrix (1999)"
    path = video(folder, "The Matrix (1999).mkv")
    make_writer(library, images, nfo=True).write_movie(path, movie_doc(), alone_in_folder=True)
    assert "movie.nfo" in files(folder)
    root = ET.fromstring((folder / "movie.nfo").read_bytes())
    assert root.find("uniqueid[@type='tmdb']").text == "603"  # type: ignore[union-attr]


def test_movie_sharing_a_folder(library: Path, images: FakeImages) -> None:
    folder = library / "Movies"
    path = video(folder, "The.Matrix.1999.1080p.mkv")
    video(folder, "Other.Movie.2001.mkv")
    written = make_writer(library, images, nfo=True).write_movie(
        path, movie_doc(), alone_in_folder=False)
    stem = "The.Matrix.1999.1080p"
    expected = {f"{stem}.metadata.json", f"{stem}-poster.jpg", f"{stem}-fanart.jpg",
                f"{stem}.nfo"}
    assert {Path(p).name for p in written} == expected
    assert files(folder) == expected | {"The.Matrix.1999.1080p.mkv", "Other.Movie.2001.mkv"}


def test_show_folder_with_seasons_and_specials(library: Path, images: FakeImages) -> None:
    show_dir = library / "Game of Thrones (2011)"
    show_dir.mkdir()
    seasons = {0: answer("tv_1399_season_0"), 1: answer("tv_1399_season_1"),
               2: {"season_number": 2, "episodes": []}}  # no poster in the answer: summary's
    written = make_writer(library, images, nfo=True).write_show(str(show_dir), show_doc(), seasons)
    expected = {"metadata.json", "poster.jpg", "fanart.jpg", "season-specials-poster.jpg",
                "season01-poster.jpg", "season02-poster.jpg", "tvshow.nfo"}
    assert files(show_dir) == expected
    assert {Path(p).name for p in written} == expected
    assert (show_dir / "season01-poster.jpg").read_bytes().endswith(
        b"/poster/wgfKiqzuMrFIkU1M68DDDY8kGC1.jpg")
    assert (show_dir / "season02-poster.jpg").read_bytes().endswith(
        b"/poster/9xmdxOlVM1QQwjD8nWqjDXVZGmy.jpg")
    assert ET.fromstring((show_dir / "tvshow.nfo").read_bytes()).tag == "tvshow"


def test_season_without_any_poster_writes_none(library: Path, images: FakeImages) -> None:
    show_dir = library / "Show"
    show_dir.mkdir()
    make_writer(library, images).write_show(str(show_dir), show_doc(), {7: {"poster_path": None}})
    assert files(show_dir) == {"metadata.json", "poster.jpg", "fanart.jpg"}


@pytest.mark.parametrize(("season", "name"), [(0, "season-specials-poster.jpg"),
                                              (1, "season01-poster.jpg"),
                                              (12, "season12-poster.jpg")])
def test_season_poster_names(season: int, name: str) -> None:
    assert season_poster_name(season) == name


def test_episode(library: Path, images: FakeImages) -> None:
    folder = library / "Game of Thrones (2011)" / "Season 01"
    path = video(folder, "Game of Thrones - S01E01 - Winter Is Coming.mkv")
    written = make_writer(library, images, nfo=True).write_episode(path, episode_doc(1))
    stem = "Game of Thrones - S01E01 - Winter Is Coming"
    expected = {f"{stem}.metadata.json", f"{stem}-thumb.jpg", f"{stem}.nfo"}
    assert {Path(p).name for p in written} == expected
    assert files(folder) == expected | {f"{stem}.mkv"}
    assert images.fetched == ["https://image.test/still/9hGF3WUkBf7cSjMg0cdMDHJkByd.jpg"]


def test_multi_episode_file(library: Path, images: FakeImages) -> None:
    folder = library / "Game of Thrones (2011)" / "Season 01"
    path = video(folder, "Game of Thrones S01E01-E02.mkv")
    make_writer(library, images, nfo=True).write_episode(path, episode_doc([1, 2]))
    stem = "Game of Thrones S01E01-E02"
    assert files(folder) == {f"{stem}.mkv", f"{stem}.metadata.json", f"{stem}-thumb.jpg",
                             f"{stem}.nfo"}
    nfo_text = (folder / f"{stem}.nfo").read_text(encoding="utf-8")
    assert nfo_text.count("<episodedetails>") == 2
    doc = load_valid_metadata(folder / f"{stem}.metadata.json")
    assert doc is not None and [e["episode"] for e in doc["episodes"]] == [1, 2]


def test_episode_without_still_has_no_thumb(library: Path, images: FakeImages) -> None:
    folder = library / "Show" / "Season 01"
    path = video(folder, "Show S01E03.mkv")
    make_writer(library, images).write_episode(path, episode_doc(3))
    assert files(folder) == {"Show S01E03.mkv", "Show S01E03.metadata.json"}
    assert images.fetched == []


def test_nfo_off_writes_no_nfo(library: Path, images: FakeImages) -> None:
    folder = library / "Show" / "Season 00"
    path = video(folder, "Show S00E01.mkv")
    make_writer(library, images).write_episode(path, episode_doc(1, "tv_1399_season_0"))
    assert not [n for n in files(folder) if n.endswith(".nfo")]


def test_new_files_are_world_readable(library: Path, images: FakeImages) -> None:
    path = video(library / "M", "M.mkv")
    make_writer(library, images).write_movie(path, movie_doc(), alone_in_folder=True)
    assert stat.S_IMODE((library / "M" / "metadata.json").stat().st_mode) == 0o644


# --- idempotency -----------------------------------------------------------------------------


def test_second_identical_write_writes_nothing(library: Path, images: FakeImages,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    folder = library / "M"
    path = video(folder, "M.mkv")
    writer = make_writer(library, images, nfo=True)
    assert writer.write_movie(path, movie_doc(), alone_in_folder=True)
    before = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    images.fetched.clear()
    replaced: list[str] = []
    real_replace = os.replace

    def counting_replace(src: str, dst: str) -> None:
        replaced.append(dst)
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", counting_replace)
    # a refresh: same content, fetched later by a newer version
    refreshed = movie_doc(LATER)
    refreshed["scanarr_version"] = "2.0"
    assert writer.write_movie(path, refreshed, alone_in_folder=True) == []
    assert replaced == [] and images.fetched == []
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == before


def test_changed_content_rewrites_only_text_files(library: Path, images: FakeImages) -> None:
    folder = library / "M"
    path = video(folder, "M.mkv")
    writer = make_writer(library, images, nfo=True)
    writer.write_movie(path, movie_doc(), alone_in_folder=True)
    images.fetched.clear()
    written = writer.write_movie(path, movie_doc(overview="New plot."), alone_in_folder=True)
    assert sorted(Path(p).name for p in written) == ["metadata.json", "movie.nfo"]
    assert images.fetched == []
    assert json.loads((folder / "metadata.json").read_text())["overview"] == "New plot."


def test_enabling_nfo_later_writes_just_the_nfo(library: Path, images: FakeImages) -> None:
    path = video(library / "M", "M.mkv")
    make_writer(library, images).write_movie(path, movie_doc(), alone_in_folder=True)
    written = make_writer(library, images, nfo=True).write_movie(path, movie_doc(),
                                                                 alone_in_folder=True)
    assert [Path(p).name for p in written] == ["movie.nfo"]


def test_corrupt_metadata_json_is_rewritten(library: Path, images: FakeImages) -> None:
    folder = library / "M"
    path = video(folder, "M.mkv")
    writer = make_writer(library, images)
    writer.write_movie(path, movie_doc(), alone_in_folder=True)
    (folder / "metadata.json").write_text('{"schema": 1, "tit')
    assert writer.write_movie(path, movie_doc(), alone_in_folder=True) == [
        str(folder / "metadata.json")]
    assert load_valid_metadata(folder / "metadata.json") == movie_doc()


def test_existing_images_are_kept(library: Path, images: FakeImages) -> None:
    folder = library / "M"
    path = video(folder, "M.mkv")
    (folder / "poster.jpg").write_bytes(b"the user's own poster")
    written = make_writer(library, images).write_movie(path, movie_doc(), alone_in_folder=True)
    assert (folder / "poster.jpg").read_bytes() == b"the user's own poster"
    assert str(folder / "poster.jpg") not in written
    assert [u.split("/")[3] for u in images.fetched] == ["backdrop"]


def test_force_images_downloads_again(library: Path, images: FakeImages) -> None:
    folder = library / "M"
    path = video(folder, "M.mkv")
    (folder / "poster.jpg").write_bytes(b"old poster")
    writer = make_writer(library, images)
    writer.write_movie(path, movie_doc(), alone_in_folder=True)
    images.fetched.clear()
    written = writer.write_movie(path, movie_doc(), alone_in_folder=True, force_images=True)
    assert len(images.fetched) == 2
    assert written == [str(folder / "poster.jpg")]  # fanart came back identical: untouched
    assert (folder / "poster.jpg").read_bytes().startswith(b"\xff\xd8\xff")


def test_user_file_permissions_are_kept(library: Path, images: FakeImages) -> None:
    folder = library / "M"
    path = video(folder, "M.mkv")
    writer = make_writer(library, images)
    writer.write_movie(path, movie_doc(), alone_in_folder=True)
    os.chmod(folder / "metadata.json", 0o600)
    writer.write_movie(path, movie_doc(overview="changed"), alone_in_folder=True)
    assert stat.S_IMODE((folder / "metadata.json").stat().st_mode) == 0o600


# --- atomicity and write errors ------------------------------------------------------------------


class Crash(BaseException):
    """Stands in for the process dying (SIGKILL cannot be caught; this can)."""


def test_crash_between_temp_write_and_replace(library: Path, images: FakeImages,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    folder = library / "M"
    path = video(folder, "M.mkv")
    writer = make_writer(library, images)
    writer.write_movie(path, movie_doc(), alone_in_folder=True)
    old = (folder / "metadata.json").read_bytes()

    def crash(src: str, dst: str) -> None:
        assert Path(src).read_bytes()  # the temp file was fully written...
        raise Crash

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(Crash):
        writer.write_movie(path, movie_doc(overview="new"), alone_in_folder=True)
    assert (folder / "metadata.json").read_bytes() == old  # ...but the target is untouched
    assert no_temp_files(library)


@pytest.mark.parametrize(
    ("target", "error", "reason"),
    [
        ("replace", PermissionError(errno.EACCES, "Permission denied"), "Permission denied"),
        ("fsync", OSError(errno.ENOSPC, "No space left on device"), "No space left on device"),
        ("mkstemp", PermissionError(errno.EROFS, "Read-only file system"),
         "Read-only file system"),
    ],
)
def test_os_errors_become_write_errors(library: Path, images: FakeImages,
                                       monkeypatch: pytest.MonkeyPatch, target: str,
                                       error: OSError, reason: str) -> None:
    folder = library / "M"
    path = video(folder, "M.mkv")

    def fail(*args: Any, **kwargs: Any) -> Any:
        raise error

    monkeypatch.setattr(tempfile if target == "mkstemp" else os, target, fail)
    with pytest.raises(WriteError) as caught:
        make_writer(library, images).write_movie(path, movie_doc(), alone_in_folder=True)
    assert caught.value.reason == "write_failed" and caught.value.retryable
    assert caught.value.problem == reason
    assert caught.value.path.startswith(str(folder))
    assert files(folder) == {"M.mkv"}  # no partial target, no temp file
    assert no_temp_files(library)


def test_disk_full_mid_write_leaves_old_file(library: Path, images: FakeImages,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    folder = library / "M"
    path = video(folder, "M.mkv")
    writer = make_writer(library, images)
    writer.write_movie(path, movie_doc(), alone_in_folder=True)
    old = (folder / "metadata.json").read_bytes()

    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(WriteError, match="No space left on device"):
        writer.write_movie(path, movie_doc(overview="new"), alone_in_folder=True)
    assert (folder / "metadata.json").read_bytes() == old
    assert no_temp_files(library)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="root ignores directory permissions")
def test_real_read_only_folder(library: Path, images: FakeImages) -> None:
    folder = library / "M"
    path = video(folder, "M.mkv")
    folder.chmod(0o555)
    try:
        with pytest.raises(WriteError, match="Permission denied"):
            make_writer(library, images).write_movie(path, movie_doc(), alone_in_folder=True)
    finally:
        folder.chmod(0o755)
    assert files(folder) == {"M.mkv"}


def test_missing_folder_is_a_write_error(library: Path, images: FakeImages) -> None:
    with pytest.raises(WriteError, match="No such file"):
        make_writer(library, images).write_episode(str(library / "gone" / "x.mkv"),
                                                   episode_doc(1))


def test_image_download_failure_propagates_and_metadata_waits(
    library: Path, images: FakeImages
) -> None:
    folder = library / "M"
    path = video(folder, "M.mkv")
    images.fail = TmdbUnavailable("image CDN down")
    with pytest.raises(TmdbUnavailable):
        make_writer(library, images).write_movie(path, movie_doc(), alone_in_folder=True)
    # metadata.json is written last: without it the item is fetched again, not adopted
    assert files(folder) == {"M.mkv"}


def test_invalid_or_mismatched_documents_are_refused(library: Path, images: FakeImages) -> None:
    path = video(library / "M", "M.mkv")
    writer = make_writer(library, images)
    with pytest.raises(ValueError, match="expected a movie"):
        writer.write_movie(path, episode_doc(1), alone_in_folder=True)
    broken = movie_doc()
    del broken["tmdb_id"]
    with pytest.raises(jsonschema.ValidationError):
        writer.write_movie(path, broken, alone_in_folder=True)
    assert files(library / "M") == {"M.mkv"}


def test_atomic_write(tmp_path: Path) -> None:
    target = tmp_path / "f.json"
    atomic_write(str(target), b"one")
    atomic_write(str(target), b"two")
    assert target.read_bytes() == b"two"
    assert files(tmp_path) == {"f.json"}


# --- confinement ---------------------------------------------------------------------------------


def test_dot_dot_escape_is_refused(library: Path, images: FakeImages, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    sneaky = str(library / "Movies" / ".." / ".." / "outside" / "Evil.mkv")
    with pytest.raises(OutsideRoots) as caught:
        make_writer(library, images).write_movie(sneaky, movie_doc(), alone_in_folder=True)
    assert caught.value.reason == "outside_roots" and not caught.value.retryable
    assert files(outside) == set()
    assert images.fetched == []


def test_symlinked_folder_pointing_outside_is_refused(library: Path, images: FakeImages,
                                                      tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (library / "link").symlink_to(outside, target_is_directory=True)
    with pytest.raises(OutsideRoots):
        make_writer(library, images).write_episode(str(library / "link" / "S01E01.mkv"),
                                                   episode_doc(1))
    assert files(outside) == set()


def test_sibling_with_a_common_prefix_is_outside(library: Path, images: FakeImages,
                                                 tmp_path: Path) -> None:
    sibling = tmp_path / "library2"
    path = video(sibling, "M.mkv")
    with pytest.raises(OutsideRoots):
        make_writer(library, images).write_movie(path, movie_doc(), alone_in_folder=True)


def test_symlinks_within_the_roots_are_fine(library: Path, images: FakeImages,
                                            tmp_path: Path) -> None:
    real = library / "real"
    real.mkdir()
    (library / "alias").symlink_to(real, target_is_directory=True)
    path = video(library / "alias", "M.mkv")
    written = make_writer(library, images).write_movie(path, movie_doc(), alone_in_folder=True)
    assert written[0].startswith(str(library / "alias"))  # reported as the caller named it
    assert "metadata.json" in files(real)
    # a library root that is itself a symlink (a mounted share, say) works too
    root_link = tmp_path / "media"
    root_link.symlink_to(library, target_is_directory=True)
    other = make_writer(root_link, images)
    assert other.write_movie(str(root_link / "real" / "M.mkv"), movie_doc(overview="x"),
                             alone_in_folder=True)


def test_any_of_several_roots(library: Path, images: FakeImages, tmp_path: Path) -> None:
    second = tmp_path / "tv"
    path = video(second / "Show", "S01E01.mkv")
    writer = Writer([str(library), str(second)], images.fetch, image_url=images.url)
    assert writer.write_episode(path, episode_doc(1))
    assert Writer([], images.fetch, image_url=images.url) is not None
    with pytest.raises(OutsideRoots):
        Writer([], images.fetch, image_url=images.url).write_episode(path, episode_doc(1))
