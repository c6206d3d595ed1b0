"""Date-named episodes: which seasons may hold a date, and which episode aired on it."""

from __future__ import annotations

from typing import Any

import pytest

from sidecar.episodes import find_by_date, seasons_for_dates

SUMMARIES: list[dict[str, Any]] = [
    {"season_number": 0, "air_date": "2019-12-01"},   # specials: never a candidate
    {"season_number": 1, "air_date": "2020-01-06"},
    {"season_number": 2, "air_date": "2021-01-04"},
    {"season_number": 3, "air_date": "2022-01-03"},
    {"season_number": 4, "air_date": None},           # announced, no date yet
    {"season_number": "5", "air_date": "2023-01-02"},  # malformed number: ignored
    {"air_date": "2024-01-01"},                        # no number: ignored
]


@pytest.mark.parametrize(("dates", "expected"), [
    (["2020-03-05"], {1}),
    (["2021-01-04"], {1, 2}),          # the first day of season 2
    (["2021-12-31"], {1, 2}),          # season 2 may run into the next year
    (["2023-06-01"], {2, 3}),
    (["2019-12-25"], set()),           # before the show started
    (["2020-02-01", "2022-02-01"], {1, 2, 3}),
    ([], set()),
])
def test_seasons_for_dates(dates: list[str], expected: set[int]) -> None:
    assert seasons_for_dates(SUMMARIES, dates) == expected


def test_seasons_for_dates_without_summaries() -> None:
    assert seasons_for_dates([], ["2024-03-05"]) == set()


SEASONS: dict[int, dict[str, Any]] = {
    0: {"episodes": [{"episode_number": 1, "air_date": "2024-03-05"}]},
    1: {"episodes": [{"episode_number": 1, "air_date": "2024-03-04"},
                     {"episode_number": 2, "air_date": "2024-03-05"},
                     "junk", {"episode_number": 3}]},
    2: {"episodes": None},
    3: {},
}


def test_find_by_date_prefers_regular_episodes_over_specials() -> None:
    assert find_by_date(SEASONS, "2024-03-05") == (1, 2)
    assert find_by_date(SEASONS, "2024-03-04") == (1, 1)


def test_find_by_date_falls_back_to_specials_and_misses() -> None:
    assert find_by_date({0: SEASONS[0], 2: SEASONS[2]}, "2024-03-05") == (0, 1)
    assert find_by_date(SEASONS, "1999-01-01") is None
    assert find_by_date({}, "2024-03-05") is None
