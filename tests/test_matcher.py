"""The matcher: ids first, then year-by-year search, and never a doubtful guess.

A fake SearchClient plays TMDB: it holds the results TMDB would give for the query,
filters them by year the way ``primary_release_year``/``first_air_date_year`` do,
and records every call so the tests can assert what each match costs.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest

from sidecar.errors import MatchError, TmdbUnavailable
from sidecar.identify import Guess
from sidecar.matcher import Match, match, search_query

Result = dict[str, Any]


class FakeTmdb:
    """Canned TMDB: one catalogue per kind, year-filtered like TMDB, every call logged."""

    def __init__(
        self,
        movies: Iterable[Result] = (),
        tv: Iterable[Result] = (),
        finds: dict[str, Result] | None = None,
        fail: Exception | None = None,
    ) -> None:
        self.movies, self.tv = list(movies), list(tv)
        self.finds = finds or {}
        self.fail = fail
        self.calls: list[tuple[str, str, Any]] = []

    def _search(
        self, kind: str, results: list[Result], query: str, year: int | None
    ) -> list[Result]:
        self.calls.append((kind, query, year))
        if self.fail:
            raise self.fail
        date = "release_date" if kind == "movie" else "first_air_date"
        return [dict(r) for r in results if year is None or r.get(date, "")[:4] == str(year)]

    def search_movie(self, query: str, year: int | None = None) -> list[Result]:
        return self._search("movie", self.movies, query, year)

    def search_tv(self, query: str, year: int | None = None) -> list[Result]:
        return self._search("tv", self.tv, query, year)

    def find(self, external_id: str, source: str) -> Result:
        self.calls.append(("find", external_id, source))
        return self.finds.get(external_id, {"movie_results": [], "tv_results": []})

    @property
    def years(self) -> list[int | None]:
        return [year for kind, _, year in self.calls if kind in ("movie", "tv")]


def movie(tmdb_id: int, title: str, year: int | None, votes: int = 100, **extra: Any) -> Result:
    return {
        "id": tmdb_id,
        "title": title,
        "original_title": extra.pop("original", title),
        "release_date": f"{year}-06-01" if year else "",
        "vote_count": votes,
        "popularity": votes / 100,
        "poster_path": f"/p{tmdb_id}.jpg",
        **extra,
    }


def show(tmdb_id: int, name: str, year: int | None, votes: int = 100, **extra: Any) -> Result:
    return {
        "id": tmdb_id,
        "name": name,
        "original_name": extra.pop("original", name),
        "first_air_date": f"{year}-01-10" if year else "",
        "vote_count": votes,
        "popularity": votes / 100,
        "poster_path": None,
        **extra,
    }


def film(title: str, year: int | None = None, **kw: Any) -> Guess:
    return Guess(kind="movie", title=title, year=year, **kw)


def episode(title: str, year: int | None = None, **kw: Any) -> Guess:
    return Guess(kind="episode", title=title, year=year, season=1, episodes=(1,), **kw)


ARMY_OF_DARKNESS = movie(766, "Army of Darkness", 1992, votes=2500)
DARKNESS = movie(11217, "Darkness", 2002, votes=300)
ROBOCOP_1987 = movie(5548, "RoboCop", 1987, votes=4800)
ROBOCOP_2014 = movie(97020, "RoboCop", 2014, votes=6300)
ROCKIES = [
    movie(1366, "Rocky", 1976, 7000),
    movie(1367, "Rocky II", 1979, 3300),
    movie(1371, "Rocky III", 1982, 3100),
]
ALIENS = [
    movie(348, "Alien", 1979, 14000),
    movie(679, "Aliens", 1986, 9500),
    movie(126889, "Alien: Covenant", 2017, 8000),
]
DUNES = [
    movie(438631, "Dune", 2021, 12000),
    movie(841, "Dune", 1984, 3000),
    movie(693134, "Dune: Part Two", 2024, 6000),
]
HALLOWEENS = [
    movie(948, "Halloween", 1978, 5000),
    movie(2082, "Halloween", 2007, 2500),
    movie(424139, "Halloween", 2018, 5000),
]
OCEANS = [
    movie(161, "Ocean's Eleven", 2001, 11000),
    movie(4959, "Ocean's Eleven", 1960, 400),
    movie(163, "Ocean's Twelve", 2004, 7000),
]
FURIOUS = [
    movie(13804, "Fast & Furious", 2009, 6000),
    movie(9799, "The Fast and the Furious", 2001, 10000),
]
AMELIE = movie(194, "Amélie", 2001, 11000, original="Le Fabuleux Destin d'Amélie Poulain")
BORAT = movie(
    496,
    "Borat: Cultural Learnings of America for Make Benefit Glorious Nation of Kazakhstan",
    2006,
    7000,
)
AVATARS = [
    movie(19995, "Avatar", 2009, 31000),
    movie(555, "Avatar", 2004, 12),
    movie(76600, "Avatar: The Way of Water", 2022, 12000),
]
SHOGUNS = [show(126308, "Shōgun", 2024, 1000), show(1937, "Shōgun", 1980, 150)]
OFFICES = [show(2316, "The Office", 2005, 3500), show(2996, "The Office", 2001, 900)]
DOCTOR_WHOS = [
    show(121, "Doctor Who", 1963, 700),
    show(57243, "Doctor Who", 2005, 3000),
    show(239770, "Doctor Who", 2023, 200),
]

# (guess, catalogue, expected tmdb id or MatchError reason)
CASES: list[tuple[str, Guess, list[Result], int | str]] = [
    ("darkness-not-army", film("Darkness", 2002), [ARMY_OF_DARKNESS, DARKNESS], 11217),
    ("darkness-only-army", film("Darkness", 2002), [ARMY_OF_DARKNESS], "not_found"),
    ("darkness-army-no-year", film("Darkness"), [ARMY_OF_DARKNESS], "not_found"),
    ("robocop-2014", film("Robocop", 2014), [ROBOCOP_1987, ROBOCOP_2014], 97020),
    ("robocop-1987", film("Robocop", 1987), [ROBOCOP_1987, ROBOCOP_2014], 5548),
    ("robocop-no-year", film("Robocop"), [ROBOCOP_1987, ROBOCOP_2014], "ambiguous"),
    ("robocop-2014-only-1987", film("Robocop", 2014), [ROBOCOP_1987], "not_found"),
    ("festival-year-minus", film("Brick", 2006), [movie(9331, "Brick", 2005)], 9331),
    ("festival-year-plus", film("Brick", 2004), [movie(9331, "Brick", 2005)], 9331),
    ("two-years-off", film("Brick", 2003), [movie(9331, "Brick", 2005)], "not_found"),
    ("accent", film("Amelie", 2001), [AMELIE], 194),
    ("original-title", film("Le Fabuleux Destin d'Amelie Poulain", 2001), [AMELIE], 194),
    ("trailing-article", film("Matrix, The", 1999), [movie(603, "The Matrix", 1999)], 603),
    ("roman-to-arabic", film("Rocky 2", 1979), ROCKIES, 1367),
    ("roman-no-year", film("Rocky 2"), ROCKIES, 1367),
    ("sequel-missing", film("Rocky IV", 1985), ROCKIES, "not_found"),
    ("ampersand", film("Fast and Furious", 2009), FURIOUS, 13804),
    ("ampersand-no-year", film("Fast and Furious"), FURIOUS, "ambiguous"),
    (
        "punctuation",
        film("Spiderman No Way Home", 2021),
        [movie(634649, "Spider-Man: No Way Home", 2021, 19000)],
        634649,
    ),
    (
        "mission",
        film("Mission Impossible Dead Reckoning Part One", 2023),
        [movie(575264, "Mission: Impossible - Dead Reckoning Part One", 2023)],
        575264,
    ),
    ("number-word", film("Dune Part 2", 2024), DUNES, 693134),
    ("remake-no-year", film("Dune"), DUNES, "ambiguous"),
    ("remake-year", film("Dune", 1984), DUNES, 841),
    ("three-remakes", film("Halloween"), HALLOWEENS, "ambiguous"),
    ("three-remakes-year", film("Halloween", 2007), HALLOWEENS, 2082),
    ("oceans-2001", film("Oceans Eleven", 2001), OCEANS, 161),
    ("oceans-digits-1960", film("Oceans 11", 1960), OCEANS, 4959),
    ("alien-not-aliens", film("Alien", 1979), ALIENS, 348),
    ("aliens", film("Aliens", 1986), ALIENS, 679),
    ("alien-no-year", film("Alien"), ALIENS, 348),
    ("subtitle-head", film("Borat", 2006), [BORAT], 496),
    (
        "alternative-title",
        film(
            "Borat",
            2006,
            alternative_title="Cultural Learnings of "
            "America for Make Benefit Glorious Nation of Kazakhstan",
        ),
        [BORAT, movie(5, "Borat", 2006, 5000)],
        496,
    ),
    (
        "alternative-title-numbered",
        film("Star Wars", 1977, alternative_title="Episode IV - A New Hope"),
        [
            movie(11, "Star Wars", 1977),
            movie(1893, "Star Wars: Episode I - The Phantom Menace", 1999),
        ],
        11,
    ),
    (
        "alternative-title-plain",
        film("Movie", 2010, alternative_title="Subtitle"),
        [movie(8, "Movie", 2010)],
        8,
    ),
    ("popular-leader", film("Avatar"), AVATARS, 19995),
    (
        "same-title-same-year",
        film("Twin", 2010),
        [movie(1, "Twin", 2010, 100), movie(2, "Twin", 2010, 50)],
        "ambiguous",
    ),
    (
        "same-title-same-year-10x",
        film("Twin", 2010),
        [movie(1, "Twin", 2010, 1000), movie(2, "Twin", 2010, 50)],
        1,
    ),
    ("no-release-date", film("Obscure Film", 2020), [movie(7, "Obscure Film", None)], 7),
    ("nothing", film("Nonexistent Film", 2020), [], "not_found"),
    ("empty-title", film("  "), [movie(7, "Obscure Film", None)], "not_found"),
    ("tv-year", episode("Shogun", 2024), SHOGUNS, 126308),
    ("tv-no-year", episode("The Office"), OFFICES, "ambiguous"),
    ("tv-year-pick", episode("Office", 2001), OFFICES, 2996),
    ("tv-revival", episode("Doctor Who", 2005), DOCTOR_WHOS, 57243),
]


@pytest.mark.parametrize(
    ("guess", "catalogue", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_match_table(guess: Guess, catalogue: list[Result], expected: int | str) -> None:
    client = FakeTmdb(movies=catalogue, tv=catalogue)
    if isinstance(expected, int):
        got = match(guess, client)
        assert got.tmdb_id == expected
        assert got.via == "search"
        assert got.tmdb_type == ("tv" if guess.kind == "episode" else "movie")
    else:
        with pytest.raises(MatchError) as err:
            match(guess, client)
        assert err.value.reason == expected


# --- cost: how many requests a match takes ------------------------------------------


def test_year_hit_costs_one_search() -> None:
    client = FakeTmdb(movies=[ROBOCOP_1987, ROBOCOP_2014])
    assert match(film("Robocop", 2014), client) == Match(97020, "movie", 1.0, "search")
    assert client.calls == [("movie", "Robocop", 2014)]


def test_no_year_costs_one_unfiltered_search() -> None:
    client = FakeTmdb(movies=ALIENS)
    match(film("Alien"), client)
    assert client.years == [None]


def test_festival_year_costs_two_searches() -> None:
    client = FakeTmdb(movies=[movie(9331, "Brick", 2005)])
    got = match(film("Brick", 2006), client)
    assert got.score == pytest.approx(0.95)
    assert client.years == [2006, 2005]


def test_movie_search_order_when_nothing_convinces() -> None:
    client = FakeTmdb()
    with pytest.raises(MatchError):
        match(film("Nothing", 2010), client)
    assert client.years == [2010, 2009, 2011, None]


def test_tv_search_order_when_nothing_convinces() -> None:
    client = FakeTmdb()
    with pytest.raises(MatchError):
        match(episode("Nothing", 2010), client)
    assert [c[0] for c in client.calls] == ["tv", "tv"]
    assert client.years == [2010, None]


def test_ambiguity_stops_the_search() -> None:
    """Wider searches only add worse years; they cannot settle an exact-year tie."""
    client = FakeTmdb(movies=[movie(1, "Twin", 2010), movie(2, "Twin", 2010)])
    with pytest.raises(MatchError, match="several close candidates"):
        match(film("Twin", 2010), client)
    assert client.years == [2010]


def test_query_puts_the_article_back_in_front() -> None:
    client = FakeTmdb(movies=[movie(603, "The Matrix", 1999)])
    match(film("Matrix, The", 1999), client)
    assert client.calls == [("movie", "The Matrix", 1999)]
    assert search_query("Matrix The") == "The Matrix"
    assert search_query("Plan A") == "Plan A"


def test_empty_title_costs_nothing() -> None:
    client = FakeTmdb()
    with pytest.raises(MatchError) as err:
        match(film(""), client)
    assert err.value.reason == "not_found"
    assert client.calls == []


# --- ids -------------------------------------------------------------------------------


def test_tmdb_id_on_the_file_costs_nothing() -> None:
    client = FakeTmdb()
    got = match(film("Whatever", ids={"tmdb": "603", "imdb": "tt0133093"}), client)
    assert got == Match(603, "movie", 1.0, "id_tag")
    assert client.calls == []


def test_tmdb_id_from_the_host_costs_nothing() -> None:
    client = FakeTmdb()
    got = match(episode("Whatever"), client, host_ids={"tmdb": "1399"})
    assert got == Match(1399, "tv", 1.0, "host")
    assert client.calls == []


def test_file_ids_beat_host_ids() -> None:
    client = FakeTmdb()
    got = match(film("X", ids={"tmdb": "603"}), client, host_ids={"tmdb": "604"})
    assert (got.tmdb_id, got.via) == (603, "id_tag")


def test_imdb_id_resolves_through_find() -> None:
    client = FakeTmdb(finds={"tt0133093": {"movie_results": [{"id": 603}], "tv_results": []}})
    got = match(film("Whatever", ids={"imdb": "TT0133093"}), client)
    assert got == Match(603, "movie", 1.0, "find")
    assert client.calls == [("find", "tt0133093", "imdb_id")]


def test_find_takes_results_of_our_kind() -> None:
    both = {"movie_results": [{"id": 1}], "tv_results": [{"id": 2}]}
    client = FakeTmdb(finds={"tt1234567": both})
    assert match(film("A", ids={"imdb": "tt1234567"}), client).tmdb_id == 1
    assert match(episode("A", ids={"imdb": "tt1234567"}), client).tmdb_id == 2


def test_episode_imdb_id_gives_its_show() -> None:
    found = {"tv_results": [], "tv_episode_results": [{"id": 63056, "show_id": 1399}]}
    client = FakeTmdb(finds={"tt1480055": found})
    assert match(episode("Got", ids={"imdb": "tt1480055"}), client).tmdb_id == 1399


def test_tvdb_id_resolves_tv_only() -> None:
    client = FakeTmdb(
        finds={"121361": {"tv_results": [{"id": 1399}]}}, movies=[movie(603, "The Matrix", 1999)]
    )
    assert match(episode("Got", ids={"tvdb": "121361"}), client).tmdb_id == 1399
    assert client.calls == [("find", "121361", "tvdb_id")]
    client.calls.clear()
    assert match(film("The Matrix", 1999, ids={"tvdb": "121361"}), client).via == "search"
    assert client.calls == [("movie", "The Matrix", 1999)]  # no /find for a movie


def test_find_nothing_falls_through_to_search() -> None:
    client = FakeTmdb(movies=[movie(603, "The Matrix", 1999)])
    got = match(film("The Matrix", 1999, ids={"imdb": "tt9999999"}), client)
    assert got.via == "search"
    assert client.calls == [("find", "tt9999999", "imdb_id"), ("movie", "The Matrix", 1999)]


def test_find_with_several_answers_is_not_trusted() -> None:
    two = {"movie_results": [{"id": 1}, {"id": 2}]}
    client = FakeTmdb(finds={"tt1234567": two}, movies=[movie(603, "The Matrix", 1999)])
    assert match(film("The Matrix", 1999, ids={"imdb": "tt1234567"}), client).tmdb_id == 603


def test_file_imdb_then_host_tmdb() -> None:
    """An IMDb id the file's NFO names outranks the server's own (maybe guessed) match."""
    client = FakeTmdb(finds={"tt0133093": {"movie_results": [{"id": 603}]}})
    got = match(film("M", ids={"imdb": "tt0133093"}), client, host_ids={"tmdb": "9"})
    assert got.tmdb_id == 603
    client = FakeTmdb()
    got = match(film("M", ids={"imdb": "tt0000001"}), client, host_ids={"tmdb": "9"})
    assert (got.tmdb_id, got.via) == (9, "host")


@pytest.mark.parametrize(
    "ids",
    [
        {"tmdb": "abc"},
        {"tmdb": "0"},
        {"tmdb": ""},
        {"imdb": "0133093"},
        {"imdb": "tt12"},
        {"tvdb": "x1"},
    ],
)
def test_malformed_ids_are_ignored(ids: dict[str, str]) -> None:
    client = FakeTmdb(movies=[movie(603, "The Matrix", 1999)], tv=[show(603, "The Matrix", 1999)])
    assert match(film("The Matrix", 1999, ids=ids), client).via == "search"
    assert match(episode("The Matrix", 1999, ids=ids), client).via == "search"
    assert all(kind != "find" for kind, _, _ in client.calls)


def test_id_keys_are_case_insensitive() -> None:
    assert match(film("M"), FakeTmdb(), host_ids={"TMDB": "603"}).tmdb_id == 603


# --- failures keep what a manual match needs ------------------------------------------


def test_candidates_are_kept_small_and_sorted() -> None:
    catalogue = [
        movie(i, f"Halloween {n}", 1980 + i, 10 * i)
        for i, n in enumerate(["II", "III", "IV", "V", "VI", "VII", "VIII"], 1)
    ]
    with pytest.raises(MatchError) as err:
        match(film("Halloween"), FakeTmdb(movies=catalogue))
    cands = err.value.candidates
    assert err.value.reason == "not_found"
    assert len(cands) == 5
    assert set(cands[0]) == {
        "tmdb_id",
        "tmdb_type",
        "title",
        "year",
        "score",
        "popularity",
        "poster_path",
    }
    scores = [(c["score"], c["popularity"]) for c in cands]
    assert scores == sorted(scores, reverse=True)


def test_ambiguous_keeps_both_remakes() -> None:
    with pytest.raises(MatchError) as err:
        match(film("Robocop"), FakeTmdb(movies=[ROBOCOP_1987, ROBOCOP_2014]))
    cands = err.value.candidates
    assert {c["tmdb_id"] for c in cands} == {5548, 97020}
    assert {c["year"] for c in cands} == {1987, 2014}
    assert all(c["score"] == 1.0 for c in cands)
    assert cands[0]["poster_path"] == "/p97020.jpg"
    assert "Robocop" in str(err.value)


def test_not_found_names_the_best_candidate() -> None:
    with pytest.raises(MatchError) as err:
        match(film("Darkness", 2002), FakeTmdb(movies=[ARMY_OF_DARKNESS]))
    assert "Army of Darkness" in str(err.value)
    assert err.value.candidates[0]["tmdb_id"] == 766
    assert err.value.candidates[0]["score"] < 0.5


def test_empty_results_not_found_without_candidates() -> None:
    with pytest.raises(MatchError) as err:
        match(film("Nothing"), FakeTmdb())
    assert (err.value.reason, err.value.candidates) == ("not_found", [])
    assert "found nothing" in str(err.value)


def test_tmdb_errors_propagate() -> None:
    with pytest.raises(TmdbUnavailable):
        match(film("Alien", 1979), FakeTmdb(fail=TmdbUnavailable("down")))


# --- details-shaped results and junk ----------------------------------------------------


def test_alternative_titles_are_compared() -> None:
    seven = movie(807, "Se7en", 1995, alternative_titles={"titles": [{"title": "Seven"}]})
    assert match(film("Seven", 1995), FakeTmdb(movies=[seven])).tmdb_id == 807
    tv = show(1, "Kaamelott", 2005, alternative_titles={"results": [{"title": "Camelot"}]})
    assert match(episode("Camelot", 2005), FakeTmdb(tv=[tv])).tmdb_id == 1


def test_junk_results_are_skipped() -> None:
    junk: list[Result] = [
        {"title": "No id"},
        {"id": "603", "title": "String id"},
        {"id": 9, "title": None, "release_date": None},
    ]
    client = FakeTmdb(movies=[*junk, movie(603, "The Matrix", 1999)])
    assert match(film("The Matrix"), client).tmdb_id == 603


def test_exact_year_wins_whatever_the_popularity() -> None:
    """The year filter already excludes the famous film one year off: no tie to break."""
    catalogue = [movie(1, "Brick", 2005, votes=5000), movie(2, "Brick", 2006, votes=3)]
    client = FakeTmdb(movies=catalogue)
    assert match(film("Brick", 2006), client).tmdb_id == 2
    assert client.years == [2006]


def test_popularity_never_lifts_a_lower_score() -> None:
    """In a near-tie the higher score leads; a 10000x more voted runner-up cannot win."""
    catalogue = [
        movie(1, "Fast & Furious", 2009, votes=10),
        movie(2, "The Fast and the Furious", 2001, votes=100000),
    ]
    with pytest.raises(MatchError) as err:
        match(film("Fast and Furious"), FakeTmdb(movies=catalogue))
    assert err.value.reason == "ambiguous"
    assert [c["tmdb_id"] for c in err.value.candidates] == [1, 2]
