"""Ids from path names and NFO text (identify's table covers them in context)."""

from __future__ import annotations

import pytest

from sidecar.idtags import bare_imdb_id, clean_id, name_ids, nfo_ids_for, read_nfo_ids, strip_tags


@pytest.mark.parametrize(
    ("names", "ids"),
    [
        (["Heat (1995) {tmdb-949}"], {"tmdb": "949"}),
        (["Heat (1995) [tmdbid-949] [imdbid-tt0113277]"], {"tmdb": "949", "imdb": "tt0113277"}),
        (["Show {tvdb-121361}"], {"tvdb": "121361"}),
        (["Show [tvdbid=121361]"], {"tvdb": "121361"}),
        (["File {tmdb-1}", "Folder {tmdb-2}"], {"tmdb": "1"}),  # nearest first wins
        (["Heat {tmdb-0}", "Heat {imdb-tt12}"], {}),  # 0 and short imdb ids are not ids
        (["Heat {IMDB-TT0113277}"], {"imdb": "tt0113277"}),
        (["Heat tt0113277"], {}),  # bare ids are not tags
    ],
)
def test_name_ids(names: list[str], ids: dict[str, str]) -> None:
    assert name_ids(names) == ids


def test_bare_imdb_id_needs_a_word_boundary() -> None:
    assert bare_imdb_id(["Heat.1995.tt0113277.mkv"]) == "tt0113277"
    assert bare_imdb_id(["Scott0113277"]) is None
    assert bare_imdb_id(["a", "b tt1234567"]) == "tt1234567"


def test_strip_tags_removes_ids_and_editions_only() -> None:
    assert strip_tags("Heat (1995) {tmdb-949} [imdbid-tt0113277]") == "Heat (1995)"
    assert strip_tags("Heat (1995) {edition-Director's Cut}") == "Heat (1995)"
    assert strip_tags("Heat (1995) [1080p]") == "Heat (1995) [1080p]"


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ('<movie><uniqueid type="tmdb" default="true">603</uniqueid></movie>', {"tmdb": "603"}),
        ("<movie><uniqueid default='true' type='imdb'>tt0133093</uniqueid></movie>",
         {"imdb": "tt0133093"}),
        ("<movie><tmdbid>603</tmdbid><imdbid>tt0133093</imdbid></movie>",
         {"tmdb": "603", "imdb": "tt0133093"}),
        ("<movie><imdb_id>tt0133093</imdb_id><tvdbid>7</tvdbid></movie>",
         {"imdb": "tt0133093", "tvdb": "7"}),
        ("<movie><id>tt0133093</id></movie>", {"imdb": "tt0133093"}),
        ("<tvshow><id>121361</id></tvshow>", {}),  # Kodi's numeric <id> is ambiguous
        ("http://www.imdb.com/title/tt0133093/", {"imdb": "tt0133093"}),
        ("https://www.imdb.com/de/title/tt0133093", {"imdb": "tt0133093"}),
        ("https://www.themoviedb.org/tv/1399-game-of-thrones", {"tmdb": "1399"}),
        ("https://thetvdb.com/?tab=series&id=121361", {"tvdb": "121361"}),
        ('<uniqueid type="tmdb">1</uniqueid><tmdbid>2</tmdbid> themoviedb.org/movie/3',
         {"tmdb": "1"}),  # uniqueid, then tags, then URLs
        ('<uniqueid type="tmdb">0</uniqueid><uniqueid type="imdb">123</uniqueid>', {}),
        ('<uniqueid type="anidb">42</uniqueid>', {}),
        ("", {}),
        ("<movie><title>no ids</title>", {}),
    ],
)  # fmt: skip
def test_read_nfo_ids(text: str, ids: dict[str, str]) -> None:
    assert read_nfo_ids(text) == ids


def test_nfo_ids_only_count_for_what_the_nfo_describes() -> None:
    show = '<tvshow><uniqueid type="tmdb">1399</uniqueid></tvshow>'
    episode = '<episodedetails><uniqueid type="tmdb">63056</uniqueid></episodedetails>'
    movie = '<movie><uniqueid type="tmdb">603</uniqueid></movie>'
    assert nfo_ids_for("episode", show) == {"tmdb": "1399"}
    assert nfo_ids_for("episode", episode) == {}  # the episode's own id, not the show's
    assert nfo_ids_for("episode", movie) == {}
    assert nfo_ids_for("movie", movie) == {"tmdb": "603"}
    assert nfo_ids_for("movie", show) == {}
    assert nfo_ids_for("movie", "https://www.imdb.com/title/tt0133093/") == {"imdb": "tt0133093"}


def test_clean_id() -> None:
    assert clean_id("imdb", " TT0133093 ") == "tt0133093"
    assert clean_id("imdb", "tt123") is None
    assert clean_id("tmdb", "603") == "603"
    assert clean_id("tmdb", "٣") is None  # a digit, but not an ASCII one
    assert clean_id("tvdb", "-1") is None
