"""Structure of one name: markers, season folders, parts, versions."""

from __future__ import annotations

import datetime

import pytest

from sidecar.naming import find_marker, season_dir, split_part, split_version


@pytest.mark.parametrize(
    ("stem", "season", "episodes", "strong"),
    [
        ("Show - S01E02 - Title", 1, (2,), True),
        ("Show s1e2", 1, (2,), True),
        ("Show S01.E02", 1, (2,), True),
        ("Show S01E01-E03", 1, (1, 2, 3), True),
        ("Show S01E01E03", 1, (1, 3), True),
        ("Show S01E01-03", 1, (1, 2, 3), True),
        ("Show S01E05-1080p", 1, (5,), True),
        ("Show S01E01-E99", 1, (1, 99), True),  # beyond the range cap: endpoints only
        ("Show 1x02", 1, (2,), True),
        ("Show 1x02-1x04", 1, (2, 3, 4), True),
        ("Show E05", None, (5,), False),
        ("Show Episode 12", None, (12,), False),
        ("[Grp] Show - 07 [720p]", None, (7,), False),
    ],
)
def test_episode_markers(
    stem: str, season: int | None, episodes: tuple[int, ...], strong: bool
) -> None:
    marker = find_marker(stem)
    assert marker is not None
    assert (marker.season, marker.episodes, marker.strong) == (season, episodes, strong)


@pytest.mark.parametrize(
    ("stem", "day"),
    [
        ("Show - 2011-11-15 - x", datetime.date(2011, 11, 15)),
        ("Show.2011.11.15.x", datetime.date(2011, 11, 15)),
        ("Show 15-11-2011", datetime.date(2011, 11, 15)),
        ("Show 05.11.2011", datetime.date(2011, 11, 5)),  # day first (Plex)
        ("Show 11-15-2011", datetime.date(2011, 11, 15)),  # US order when it must be
    ],
)
def test_dates(stem: str, day: datetime.date) -> None:
    marker = find_marker(stem)
    assert marker is not None and marker.air_date == day and marker.episodes == ()


@pytest.mark.parametrize(
    "stem",
    [
        "h-oceans11.1080p", "Blade Runner 2049", "Movie.1920x1080", "2011-13-45 Movie",
        "Show - 05", "01 - Pilot", "Star Wars Episode 1 (1999)", "WALL-E (2008)", "Se7en",
    ],
)  # fmt: skip
def test_no_marker(stem: str) -> None:
    assert find_marker(stem) is None


def test_weak_forms_need_a_season_folder() -> None:
    assert find_marker("Show - 05", in_season_dir=True) is not None
    assert find_marker("01 - Pilot", in_season_dir=True) is not None


@pytest.mark.parametrize(
    ("name", "found"),
    [
        ("Season 01", (1, "")),
        ("season 1", (1, "")),
        ("Specials", (0, "")),
        ("Season 00", (0, "")),
        ("S02", (2, "")),
        ("Staffel 3", (3, "")),
        ("Show Name Season 2", (2, "Show Name ")),
        ("Show.Name.S01.1080p.WEB-DL-GRP", (1, "Show.Name.")),
        ("Show.S01E01.720p-GRP", (1, "Show.")),
        ("Seasons (2010)", None),
        ("S1m0ne (2002)", None),
        ("Breaking Bad", None),
    ],
)
def test_season_dir(name: str, found: tuple[int, str] | None) -> None:
    assert season_dir(name) == found


@pytest.mark.parametrize(
    ("base", "rest", "part"),
    [
        ("Movie (2010)-cd1", "Movie (2010)", 1),
        ("Movie (2010) - part2", "Movie (2010)", 2),
        ("Movie (2010) Part 3", "Movie (2010)", 3),
        ("Movie (2010) pt4", "Movie (2010)", 4),
        ("Movie (2010)_disk1", "Movie (2010)", 1),
        ("Movie (2010)-cdc", "Movie (2010)", 3),
        ("Movie-cd1", "Movie", 1),
        ("cd2", "", 2),
        ("Movie.2010.CD1.XviD-GRP", "Movie.2010.XviD-GRP", 1),
        ("Harry Potter Part 1", "Harry Potter Part 1", None),  # the title's own Part
        ("Dune Part Two (2024)", "Dune Part Two (2024)", None),
        ("Mockingjay Part 1 (2014)", "Mockingjay Part 1 (2014)", None),
        ("Movie (2010) - pt-br", "Movie (2010) - pt-br", None),
        ("Movie.2010.DVDRip", "Movie.2010.DVDRip", None),
    ],
)
def test_split_part(base: str, rest: str, part: int | None) -> None:
    assert split_part(base) == (rest, part)


@pytest.mark.parametrize(
    ("base", "rest", "version"),
    [
        ("Movie (2010) - 1080p", "Movie (2010)", "1080p"),
        ("Movie (2010) - [1080p]", "Movie (2010)", "1080p"),
        ("Movie (2010) [2160p]", "Movie (2010)", "2160p"),
        ("Movie (2010) - Director's Cut", "Movie (2010)", "Director's Cut"),
        ("Movie (2010) [1080p] [BluRay]", "Movie (2010) [1080p] [BluRay]", None),
        ("Movie - 1080p", "Movie - 1080p", None),
        ("Movie (2010)", "Movie (2010)", None),
    ],
)
def test_split_version(base: str, rest: str, version: str | None) -> None:
    assert split_version(base) == (rest, version)
