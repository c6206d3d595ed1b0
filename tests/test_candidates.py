"""Scoring one search result and the accept / ambiguous / not_found rule."""

from __future__ import annotations

import pytest

from sidecar.candidates import (
    MARGIN,
    THRESHOLD,
    Candidate,
    decide,
    dominates,
    rank,
    release_year,
    result_titles,
    score_result,
    year_penalty,
)


def cand(tmdb_id: int, score: float, votes: float | None = 100, pop: float = 1.0) -> Candidate:
    return Candidate(tmdb_id, f"T{tmdb_id}", 2000, score, votes, pop, None)


@pytest.mark.parametrize(
    ("wanted", "got", "penalty"),
    [(2000, 2000, 0.0), (2000, 2001, 0.05), (2000, 1999, 0.05), (2000, 2002, 0.3),
     (2000, 2003, 0.35), (2000, 1950, 0.5), (None, 1950, 0.0), (2000, None, 0.1)],
)  # fmt: skip
def test_year_penalty(wanted: int | None, got: int | None, penalty: float) -> None:
    assert year_penalty(wanted, got) == pytest.approx(penalty)


@pytest.mark.parametrize(
    ("date", "year"),
    [("2014-02-07", 2014), ("", None), (None, None), ("abcd", None), ("19", None)],
)
def test_release_year(date: object, year: int | None) -> None:
    assert release_year(date) == year


def test_score_result_movie_and_tv_shapes() -> None:
    m = {"id": 1, "title": "Amélie", "release_date": "2001-04-25", "vote_count": 9,
         "popularity": 3.5, "poster_path": "/a.jpg"}  # fmt: skip
    c = score_result(m, ["Amelie"], 2001)
    assert c == Candidate(1, "Amélie", 2001, 1.0, 9.0, 3.5, "/a.jpg")
    tv = {"id": 2, "name": "Shōgun", "original_name": "SHOGUN", "first_air_date": "2024-02-27"}
    c = score_result(tv, ["Shogun"], 2023)
    assert c is not None
    assert (c.score, c.votes, c.popularity, c.poster_path) == (0.95, None, 0.0, None)


def test_score_result_needs_an_int_id() -> None:
    assert score_result({"id": "1", "title": "X"}, ["X"], None) is None
    assert score_result({"title": "X"}, ["X"], None) is None


def test_score_never_negative() -> None:
    c = score_result({"id": 1, "title": "Zzz", "release_date": "1900-01-01"}, ["Abc"], 2020)
    assert c is not None and c.score == 0.0


def test_result_titles_includes_alternatives() -> None:
    r = {
        "title": "Se7en",
        "original_title": "Se7en",
        "alternative_titles": {"titles": [{"title": "Seven"}, {"title": None}]},
    }
    assert result_titles(r) == ["Se7en", "Se7en", "Seven"]
    assert result_titles({"name": "A", "alternative_titles": ["B", 3, ""]}) == ["A", "B"]
    assert result_titles({"name": "A", "alternative_titles": "junk"}) == ["A"]


def test_decide_threshold_and_margin() -> None:
    assert decide([]) == "not_found"
    assert decide([cand(1, THRESHOLD - 0.01)]) == "not_found"
    assert decide([cand(1, THRESHOLD)]) is None
    assert decide([cand(1, 1.0), cand(2, 1.0 - MARGIN)]) is None  # exactly the margin
    assert decide([cand(1, 1.0), cand(2, 0.95)]) == "ambiguous"


def test_popularity_breaks_only_near_ties_and_only_10x() -> None:
    assert decide([cand(1, 1.0, votes=1000), cand(2, 1.0, votes=100)]) is None
    assert decide([cand(1, 1.0, votes=999), cand(2, 1.0, votes=100)]) == "ambiguous"
    assert decide([cand(1, 1.0, votes=10), cand(2, 1.0, votes=0)]) is None
    assert decide([cand(1, 1.0, votes=9), cand(2, 1.0, votes=0)]) == "ambiguous"


def test_dominance_falls_back_to_popularity() -> None:
    assert dominates(cand(1, 1, None, pop=50.0), cand(2, 1, 5, pop=4.0))
    assert not dominates(cand(1, 1, None, pop=30.0), cand(2, 1, 5, pop=4.0))
    assert not dominates(cand(1, 1, None, pop=9.0), cand(2, 1, None, pop=0.1))


def test_rank_orders_by_score_then_votes_then_popularity() -> None:
    ranked = rank(
        [cand(1, 0.9), cand(2, 1.0, votes=5), cand(3, 1.0, votes=50), cand(4, 1.0, 50, 9)]
    )
    assert [c.tmdb_id for c in ranked] == [4, 3, 2, 1]
