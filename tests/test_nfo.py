"""NFO rendering: Kodi/Jellyfin XML that parses back, carries the ids, and escapes text."""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from sidecar import nfo
from sidecar.metadata import episode_document, movie_document, show_document

DATA = Path(__file__).parent / "data" / "tmdb_answers"
WHEN = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)


def answer(name: str) -> dict[str, Any]:
    return json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))


def movie_doc(**overrides: Any) -> dict[str, Any]:
    return movie_document(answer("movie_603") | overrides, fetched_at=WHEN, version="1")


def show_doc() -> dict[str, Any]:
    return show_document(answer("tv_1399"), fetched_at=WHEN, version="1")


def episode_doc(episodes: Any) -> dict[str, Any]:
    return episode_document(answer("tv_1399"), answer("tv_1399_season_1"), episodes,
                            fetched_at=WHEN, version="1")


def parse(data: bytes) -> ET.Element:
    return ET.fromstring(data)


def roots(data: bytes) -> list[ET.Element]:
    """Several concatenated roots (multi-episode NFO): parse inside a wrapper element."""
    body = data.decode("utf-8").removeprefix(nfo.XML_DECLARATION)
    return list(ET.fromstring(f"<nfo>{body}</nfo>"))


def uniqueids(root: ET.Element) -> dict[str, tuple[str | None, str | None]]:
    return {u.get("type", ""): (u.text, u.get("default")) for u in root.findall("uniqueid")}


def test_movie_nfo() -> None:
    data = nfo.movie_nfo(movie_doc())
    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n')
    root = parse(data)
    assert root.tag == "movie"
    assert uniqueids(root) == {"tmdb": ("603", "true"), "imdb": ("tt0133093", None)}
    assert (root.findtext("tmdbid"), root.findtext("imdbid")) == ("603", "tt0133093")
    assert root.findtext("title") == "The Matrix"
    assert root.findtext("originaltitle") == "The Matrix"
    assert root.findtext("year") == "1999"
    assert root.findtext("premiered") == "1999-03-31"
    assert root.findtext("runtime") == "136"
    assert root.findtext("mpaa") == "R"
    assert root.findtext("tagline") == "Welcome to the Real World."
    assert root.findtext("plot", "").startswith("Set in the 22nd century")
    assert [g.text for g in root.findall("genre")] == ["Action", "Science Fiction"]
    assert [s.text for s in root.findall("studio")] == ["Village Roadshow Pictures",
                                                         "Warner Bros. Pictures"]
    assert [d.text for d in root.findall("director")] == ["Lana Wachowski", "Lilly Wachowski"]
    assert [c.text for c in root.findall("credits")] == ["Lana Wachowski", "Lilly Wachowski"]
    assert root.findtext("rating") == "8.2"
    assert root.find("ratings/rating[@name='themoviedb']/votes").text == "24000"  # type: ignore[union-attr]
    assert root.find("set").get("tmdbcolid") == "2344"  # type: ignore[union-attr]
    assert root.findtext("set/name") == "The Matrix Collection"
    assert root.findtext("trailer") == nfo.YOUTUBE_PLUGIN + "vKQi3bBA1y8"
    actors = root.findall("actor")
    assert len(actors) == 20
    assert [(a.findtext("name"), a.findtext("role"), a.findtext("order")) for a in actors[:2]] == [
        ("Laurence Fishburne", "Morpheus", "0"), ("Keanu Reeves", "Thomas A. Anderson / Neo", "1")]
    assert root.find("thumb") is None and root.find("fanart") is None  # local files win


def test_show_nfo() -> None:
    root = parse(nfo.show_nfo(show_doc()))
    assert root.tag == "tvshow"
    assert uniqueids(root) == {"tmdb": ("1399", "true"), "imdb": ("tt0944947", None),
                               "tvdb": ("121361", None)}
    assert (root.findtext("tmdbid"), root.findtext("tvdbid")) == ("1399", "121361")
    assert root.findtext("title") == root.findtext("showtitle") == "Game of Thrones"
    assert root.findtext("premiered") == "2011-04-17"
    assert root.findtext("mpaa") == "TV-MA"
    assert root.findtext("status") == "Ended"
    assert [s.text for s in root.findall("studio")] == ["HBO", "Revolution Sun Studios"]
    assert [c.text for c in root.findall("credits")] == ["David Benioff", "D. B. Weiss"]


def test_episode_nfo_single() -> None:
    root = parse(nfo.episode_nfo(episode_doc(1)))
    assert root.tag == "episodedetails"
    assert uniqueids(root) == {"tmdb": ("63056", "true")}
    assert (root.findtext("season"), root.findtext("episode")) == ("1", "1")
    assert root.findtext("title") == "Winter Is Coming"
    assert root.findtext("showtitle") == "Game of Thrones"
    assert root.findtext("aired") == "2011-04-17"
    assert root.findtext("director") == "Tim Van Patten"
    assert [a.findtext("name") for a in root.findall("actor")] == ["Susan Brown"]


def test_episode_nfo_multi_episode_has_one_root_per_episode() -> None:
    data = nfo.episode_nfo(episode_doc([1, 2]))
    assert data.count(b"<?xml") == 1
    found = roots(data)
    assert [r.tag for r in found] == ["episodedetails", "episodedetails"]
    assert [r.findtext("episode") for r in found] == ["1", "2"]
    assert [r.findtext("title") for r in found] == ["Winter Is Coming", "The Kingsroad"]
    assert [uniqueids(r)["tmdb"][0] for r in found] == ["63056", "63057"]


def test_episode_without_air_date_or_plot_leaves_them_out() -> None:
    root = parse(nfo.episode_nfo(episode_doc(3)))
    assert root.find("aired") is None
    assert root.find("runtime") is None
    assert root.findtext("plot") == "Overview of Lord Snow."


def test_sparse_movie_omits_empty_elements() -> None:
    doc = movie_document({"id": 7, "title": "Sparse"}, fetched_at=WHEN, version="1")
    root = parse(nfo.render(doc))
    assert [child.tag for child in root] == ["title", "originaltitle", "uniqueid", "tmdbid"]


@pytest.mark.parametrize(
    "title",
    ['<script>alert("x")</script>', "Tom & Jerry", "A > B < C", "]]> & <![CDATA[", "'quotes\""],
)
def test_special_characters_are_escaped(title: str) -> None:
    data = nfo.movie_nfo(movie_doc(title=title, overview=f"{title} & more"))
    assert b"<script>" not in data
    root = parse(data)
    assert root.findtext("title") == title
    assert root.findtext("plot") == f"{title} & more"


def test_escaped_text_on_the_wire() -> None:
    data = nfo.movie_nfo(movie_doc(title="<script>alert(1)</script> & co"))
    assert b"<title>&lt;script&gt;alert(1)&lt;/script&gt; &amp; co</title>" in data


def test_control_characters_cannot_break_the_xml() -> None:
    doc = movie_doc()
    doc["title"] = "Bell\x07 and NUL\x00"
    doc["cast"][0]["character"] = "\x1b[31mred"
    root = parse(nfo.movie_nfo(doc))
    assert root.findtext("title") == "Bell and NUL"
    assert root.find("actor").findtext("role") == "[31mred"  # type: ignore[union-attr]


def test_non_ascii_round_trips_as_utf8() -> None:
    data = nfo.movie_nfo(movie_doc(title="千と千尋の神隠し", original_title="Amélie"))
    assert "千と千尋の神隠し".encode() in data
    root = parse(data)
    assert root.findtext("title") == "千と千尋の神隠し"
    assert root.findtext("originaltitle") == "Amélie"


def test_render_is_deterministic_and_dispatches_by_type() -> None:
    assert nfo.render(movie_doc()) == nfo.render(movie_doc()) == nfo.movie_nfo(movie_doc())
    assert parse(nfo.render(show_doc())).tag == "tvshow"
    assert parse(nfo.render(episode_doc(1))).tag == "episodedetails"
    with pytest.raises(ValueError, match="album"):
        nfo.render({"type": "album"})
