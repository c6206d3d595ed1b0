"""Date-based episodes (``Show - 2024-03-05 - Guest.mkv``): which season, which episode.

TMDB numbers every episode by season, so a file named by its air date is found through
the season summaries (each season's first air date) and then the season's episode list.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def seasons_for_dates(summaries: Iterable[Mapping[str, Any]], dates: Iterable[str]) -> set[int]:
    """The season(s) that may hold each date: the last season that started on or before it,
    and the one before that (a season can run into the next calendar year)."""
    starts = sorted(
        (str(s.get("air_date")), int(s["season_number"]))
        for s in summaries
        if s.get("air_date") and isinstance(s.get("season_number"), int) and s["season_number"] > 0
    )
    wanted: set[int] = set()
    for date in dates:
        before = [number for start, number in starts if start <= date]
        wanted.update(before[-2:])
    return wanted


def find_by_date(seasons: Mapping[int, Mapping[str, Any]], date: str) -> tuple[int, int] | None:
    """(season, episode) of the regular episode that aired on ``date``; specials last."""
    for number in sorted(seasons, key=lambda n: (n == 0, n)):
        for episode in seasons[number].get("episodes") or []:
            if isinstance(episode, Mapping) and episode.get("air_date") == date:
                return number, int(episode["episode_number"])
    return None
