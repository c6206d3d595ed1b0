"""Titles from one name: the fast reader's limits and guessit's repaired traps."""

from __future__ import annotations

import pytest

from sidecar import titleparse
from sidecar.titleparse import NotFast, Title, fast_only_title, fast_title, guessit_title


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("Inception (2010)", Title("Inception", 2010)),
        ("Breaking Bad", Title("Breaking Bad")),
        ("Mr. Robot", Title("Mr. Robot")),  # verbatim: guessit would drop the dot
        ("24", Title("24")),
        ("Matrix, The (1999)", Title("The Matrix", 1999)),
        ("Ame\u0301lie  (2001)", Title("Amélie", 2001)),
        ("Roundhay Garden Scene (1888)", Title("Roundhay Garden Scene", 1888)),
    ],
)
def test_fast_reads_convention_names(text: str, title: Title) -> None:
    assert fast_title(text) == title


@pytest.mark.parametrize(
    "text",
    [
        "The.Matrix.1999.1080p", "The Matrix 1999", "1917", "Movie 1080p (2010)",
        "Star Wars - Episode IV (1977)", "Movie [Group]", "Show_Name", "Shomin Sample",
        "Movie Extended (2010)", "", "(2010)",
    ],
)  # fmt: skip
def test_fast_leaves_release_names_to_guessit(text: str) -> None:
    assert fast_title(text) is None
    with pytest.raises(NotFast):
        fast_only_title(text)


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("Dune Part Two (2024)", Title("Dune Part Two", 2024)),
        ("Kill.Bill.Vol.1.2003.1080p", Title("Kill Bill Vol 1", 2003)),
        ("Star Wars Episode 1 The Phantom Menace (1999)",
         Title("Star Wars Episode 1 The Phantom Menace", 1999)),
        ("Shomin.Sample.", Title("Shomin Sample")),
        ("the.last.of.us.", Title("the last of us")),
        ("Shameless.US.", Title("Shameless")),  # upper-case US stays a country
        ("1917", Title("1917")),
        ("2012.1080p.BluRay", Title("2012")),
        ("2001 A Space Odyssey", Title("2001 A Space Odyssey")),
        ("9-1-1", Title("9-1-1")),
        ("(2010)", Title("", 2010)),
        ("Cam (2018)", Title("Cam", 2018)),
        ("Movie Extended (2010)", Title("Movie", 2010)),
        ("1080p", Title("")),
        ("Quiet Place, A (2018)", Title("A Quiet Place", 2018)),
        ("Mission Impossible - Fallout (2018)",
         Title("Mission Impossible", 2018, "Fallout")),
    ],
)  # fmt: skip
def test_guessit_traps_are_repaired(text: str, title: Title) -> None:
    assert guessit_title(text) == title


def test_guessit_failure_is_no_title(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> object:
        def parse(text: str, options: object) -> object:
            raise ValueError("rebulk exploded")

        return parse

    monkeypatch.setattr(titleparse, "_guessit", broken)
    titleparse._guessit_cached.cache_clear()
    try:
        assert guessit_title("Some Unseen Name 42") == Title("")
    finally:
        titleparse._guessit_cached.cache_clear()
