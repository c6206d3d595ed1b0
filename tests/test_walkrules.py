"""The naming rules as pure functions: the table behind what the walker keeps and skips."""

from __future__ import annotations

import pytest

from sidecar.walkrules import (
    SAMPLE_MAX_BYTES,
    VIDEO_EXTENSIONS,
    attach_sidecars,
    extension,
    is_extra_file,
    is_extras_dir,
    is_junk_dir,
    is_media_folder,
    is_sample,
    is_season_dir,
    marker_ignores_all,
)


@pytest.mark.parametrize(
    ("name", "ext"),
    [("a.MKV", ".mkv"), ("a.b.mp4", ".mp4"), ("noext", ""), (".DS_Store", ""), ("x.!qB", ".!qb")],
)
def test_extension(name: str, ext: str) -> None:
    assert extension(name) == ext


def test_video_extensions_cover_the_brief_and_skip_ambiguous_ones() -> None:
    brief = ".mkv .mp4 .m4v .avi .ts .m2ts .mts .wmv .mov .webm .mpg .mpeg .iso .vob .strm .flv"
    assert set(brief.split()) | {".ogv", ".3gp", ".divx", ".xvid", ".rmvb"} <= VIDEO_EXTENSIONS
    assert not {".001", ".bin", ".ifo", ".img", ".ogg", ".srt", ".nfo"} & VIDEO_EXTENSIONS


@pytest.mark.parametrize(
    ("name", "junk"),
    [("@eaDir", True), ("#recycle", True), ("$RECYCLE.BIN", True), (".hidden", True),
     ("Plex Versions", True), ("System Volume Information", True), ("Season 01", False),
     ("Movie (2010)", False), ("Extras", False)],
)  # fmt: skip
def test_is_junk_dir(name: str, junk: bool) -> None:
    assert is_junk_dir(name) is junk


def test_is_extras_dir_is_case_insensitive() -> None:
    assert is_extras_dir("BEHIND THE SCENES") and is_extras_dir("theme-music")
    assert not is_extras_dir("Season 01")


@pytest.mark.parametrize(
    ("name", "season"),
    [("Season 01", True), ("season1", True), ("S02", True), ("Specials", True), ("Special", True),
     ("Staffel 3", True), ("Season 1 (2010)", True), ("Seasons", False), ("Sample", False),
     ("Shorts", False), ("Season 01 extras", True), ("Spectre (2015)", False),
     ("Special Agent Oso (2009)", False), ("Series 7 (2001)", False), ("S01 (2001)", False)],
)  # fmt: skip
def test_is_season_dir(name: str, season: bool) -> None:
    assert is_season_dir(name) is season


def test_is_media_folder() -> None:
    assert is_media_folder(True, [])
    assert is_media_folder(False, ["Season 01", "Extras"])
    assert not is_media_folder(False, ["Other", "Movies"])


@pytest.mark.parametrize(
    ("stem", "extra"),
    [("Movie (2010)-trailer", True), ("Movie (2010).Trailer", True), ("Movie_trailer", True),
     ("Movie trailer", True), ("Movie-deleted3", True), ("trailer", True), ("Theme", True),
     ("Movie (2010)", False), ("Movie - Other", False), ("Trailer Park Boys (2001)", False),
     ("Show - S02E03 - Trailer", False), ("Show 2x03 - The Other-scene", False),
     ("The Scene (2000)", False)],
)  # fmt: skip
def test_is_extra_file(stem: str, extra: bool) -> None:
    assert is_extra_file(stem) is extra


@pytest.mark.parametrize(
    ("stem", "parent", "sample"),
    [("sample", "M", True), ("movie-sample", "M", True), ("Movie.2010.SAMPLE", "M", True),
     ("sample-grp-movie", "M", True), ("grp-movie", "Sample", True), ("grp-movie", "M", False),
     ("Shomin Sample - 01", "Season 01", False), ("samples of life", "M", False),
     ("Resample (2010)", "M", False)],
)  # fmt: skip
def test_is_sample_by_name(stem: str, parent: str, sample: bool) -> None:
    assert is_sample(stem, parent, 1) is sample


def test_is_sample_needs_a_small_size() -> None:
    assert is_sample("movie-sample", "M", SAMPLE_MAX_BYTES - 1)
    assert not is_sample("movie-sample", "M", SAMPLE_MAX_BYTES)
    assert not is_sample("movie-sample", "Sample", 50, max_bytes=10)


@pytest.mark.parametrize(
    ("marker", "text", "ignores"),
    [(".nomedia", "", True), (".nomedia", "anything", True), (".ignore", "", True),
     (".ignore", "# just a comment\n\n", True), (".ignore", "*\n", True),
     (".ignore", "Extras/*\n", False), (".plexignore", "", False), (".plexignore", "*", True),
     (".plexignore", "*/*\n**\n", True), (".plexignore", "*\n*.avi\n", False),
     (".IGNORE", "", True)],
)  # fmt: skip
def test_marker_ignores_all(marker: str, text: str, ignores: bool) -> None:
    assert marker_ignores_all(marker, text) is ignores


def test_attach_sidecars_longest_stem_wins() -> None:
    attached = attach_sidecars(
        ["Movie.mkv", "Movie.en.mkv", "Movie 2.mkv"],
        ["Movie.srt", "Movie.en.srt", "movie.EN.forced.srt", "Movie 2.nfo", "Movie 3.srt"],
    )
    assert attached == {
        "Movie.mkv": ("Movie.srt",),
        "Movie.en.mkv": ("Movie.en.srt", "movie.EN.forced.srt"),
        "Movie 2.mkv": ("Movie 2.nfo",),
    }


def test_attach_lone_movie_nfo() -> None:
    assert attach_sidecars(["Film.mkv"], ["movie.nfo"]) == {"Film.mkv": ("movie.nfo",)}
    assert attach_sidecars(["A.mkv", "B.mkv"], ["movie.nfo"]) == {"A.mkv": (), "B.mkv": ()}
    assert attach_sidecars([], ["movie.nfo"]) == {}
