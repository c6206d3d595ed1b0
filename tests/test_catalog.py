"""Stage B: the first row of an unseen file -- NEW, adopted INDEXED, or ERROR unidentified --
with the columns the worker needs (guess, ids, file stats)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from sidecar import catalog
from sidecar.identify import Guess
from sidecar.metadata import episode_document, movie_document
from sidecar.walker import MediaFile

WHEN = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
HEAT = {"id": 949, "title": "Heat", "release_date": "1995-12-15", "imdb_id": "tt0113277"}


def movie_doc(details: dict[str, Any] = HEAT) -> dict[str, Any]:
    return movie_document(details, fetched_at=WHEN)


def write_json(path: Path, doc: Any) -> None:
    path.write_text(json.dumps(doc), encoding="utf-8")


def media(path: Path, sidecars: tuple[str, ...] = (), size: int = 700) -> MediaFile:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\0" * size)
    return MediaFile(str(path), size, 1_600_000_000_123_456_789, sidecars)


def test_new_movie_record(tmp_path: Path) -> None:
    root = tmp_path / "Movies"
    file = media(root / "Heat (1995)" / "Heat (1995).mkv")
    record = catalog.new_record(file, str(root), [str(root)])
    assert record["media_path"] == file.path
    assert record["parent_path"] == str(root / "Heat (1995)")
    assert record["root"] == str(root)
    assert (record["media_type"], record["media_name"], record["year"]) == ("movie", "Heat", 1995)
    assert record["tmdb_type"] == "movie"
    assert "scan_state" not in record  # born NEW by the store's default
    assert (record["file_size_bytes"], record["mtime_ns"]) == (700, file.mtime_ns)
    assert record["last_modified_ms"] == 1_600_000_000_123
    assert record["last_modified_at"].startswith("2020-09-13T12:26:40")


def test_episode_record_with_an_id_tag(tmp_path: Path) -> None:
    root = tmp_path / "TV"
    show = root / "Breaking Bad (2008) {tmdb-1396}"
    file = media(show / "Season 01" / "Breaking Bad - S01E02-E03.mkv")
    record = catalog.new_record(file, str(root), [str(root)])
    assert (record["media_type"], record["tmdb_type"]) == ("episode", "tv")
    assert (record["season_number"], record["episode_number"]) == (1, 2)
    assert record["episode_numbers"] == [2, 3]
    assert record["show_dir"] == str(show)
    assert (record["tmdb_id"], record["id_source"]) == (1396, "id_tag")


def test_nfo_ids_are_read(tmp_path: Path) -> None:
    root = tmp_path / "Movies"
    folder = root / "Heat (1995)"
    file = media(folder / "Heat (1995).mkv", sidecars=("Heat (1995).nfo",))
    (folder / "Heat (1995).nfo").write_text(
        '<movie><uniqueid type="imdb">tt0113277</uniqueid></movie>', encoding="utf-8")
    assert catalog.nfo_text(file) is not None
    record = catalog.new_record(file, str(root), [str(root)])
    assert record["imdb_id"] == "tt0113277"
    assert record["id_source"] == "id_tag"


def test_nfo_prefers_the_files_own_then_movie_nfo(tmp_path: Path) -> None:
    folder = tmp_path / "M (2000)"
    file = media(folder / "M (2000).mkv", sidecars=("movie.nfo",))
    (folder / "movie.nfo").write_text("<movie>generic</movie>", encoding="utf-8")
    assert catalog.nfo_text(file) == "<movie>generic</movie>"
    (folder / "M (2000).nfo").write_text("<movie>own</movie>", encoding="utf-8")
    both = MediaFile(file.path, file.size, file.mtime_ns, ("M (2000).nfo", "movie.nfo"))
    assert catalog.nfo_text(both) == "<movie>own</movie>"
    assert catalog.nfo_text(MediaFile(file.path, 1, 1)) is None  # no sidecar listed
    gone = MediaFile(file.path, 1, 1, ("vanished.nfo", "M (2000).nfo"))
    (folder / "M (2000).nfo").unlink()
    assert catalog.nfo_text(gone) is None  # listed but gone: logged, not fatal


def test_unidentifiable_name_is_born_in_error(tmp_path: Path) -> None:
    root = tmp_path / "Movies"
    file = media(root / "1080p.mkv")
    record = catalog.new_record(file, str(root), [str(root)])
    assert record["scan_state"] == "ERROR"
    assert record["error_reason"] == "unidentified"
    assert "no title" in record["last_error"]
    assert record["error_count"] == 1
    assert record["file_size_bytes"] == 700  # the file is still tracked


def test_metadata_candidates_follow_the_contract() -> None:
    assert catalog.metadata_candidates("/m/A (2000)/A (2000).mkv", "movie") == [
        "/m/A (2000)/A (2000).metadata.json", "/m/A (2000)/metadata.json"]
    assert catalog.metadata_candidates("/tv/S/Season 01/S - S01E01.mkv", "episode") == [
        "/tv/S/Season 01/S - S01E01.metadata.json"]


@pytest.mark.parametrize("name", ["metadata.json", "Heat (1995).metadata.json"])
def test_valid_metadata_beside_a_movie_is_adopted(tmp_path: Path, name: str) -> None:
    root = tmp_path / "Movies"
    file = media(root / "Heat (1995)" / "Heat (1995).mkv")
    write_json(root / "Heat (1995)" / name, movie_doc())
    record = catalog.new_record(file, str(root), [str(root)])
    assert record["scan_state"] == "INDEXED"
    assert (record["tmdb_id"], record["tmdb_type"], record["imdb_id"]) == (949, "movie",
                                                                          "tt0113277")
    assert record["id_source"] == "adopted"
    assert record["metadata_updated_at"] == "2024-05-01T00:00:00Z"


def test_episode_metadata_is_adopted_with_the_show_id(tmp_path: Path) -> None:
    root = tmp_path / "TV"
    file = media(root / "Breaking Bad" / "Season 01" / "Breaking Bad - S01E01.mkv")
    doc = episode_document(
        {"id": 1396, "name": "Breaking Bad"},
        {"season_number": 1, "episodes": [{"id": 62085, "episode_number": 1, "name": "Pilot"}]},
        1, fetched_at=WHEN)
    write_json(root / "Breaking Bad" / "Season 01" / "Breaking Bad - S01E01.metadata.json", doc)
    record = catalog.new_record(file, str(root), [str(root)])
    assert record["scan_state"] == "INDEXED"
    assert (record["tmdb_id"], record["tmdb_type"]) == (1396, "tv")  # the show, not 62085


@pytest.mark.parametrize("content", [
    "{not json",
    json.dumps({"schema": 1, "type": "movie"}),          # fails the schema
    json.dumps({**movie_doc(), "schema": 999}),           # another schema version
    json.dumps([1, 2, 3]),
])
def test_invalid_metadata_is_not_adopted(tmp_path: Path, content: str) -> None:
    root = tmp_path / "Movies"
    file = media(root / "Heat (1995)" / "Heat (1995).mkv")
    (root / "Heat (1995)" / "metadata.json").write_text(content, encoding="utf-8")
    record = catalog.new_record(file, str(root), [str(root)])
    assert "scan_state" not in record and "tmdb_id" not in record


def test_a_show_document_is_not_a_movie(tmp_path: Path) -> None:
    """A movie file in a show folder must not take the show's metadata.json for its own."""
    root = tmp_path / "Movies"
    file = media(root / "Heat (1995)" / "Heat (1995).mkv")
    write_json(root / "Heat (1995)" / "metadata.json",
               {**movie_doc(), "type": "show", "seasons": []})
    assert "scan_state" not in catalog.new_record(file, str(root), [str(root)])


def test_an_episode_ignores_the_show_folder_metadata(tmp_path: Path) -> None:
    root = tmp_path / "TV"
    file = media(root / "Show" / "Show - S01E01.mkv")
    write_json(root / "Show" / "metadata.json", movie_doc())
    assert "scan_state" not in catalog.new_record(file, str(root), [str(root)])


def test_a_film_added_beside_another_does_not_inherit_its_metadata(tmp_path: Path) -> None:
    """Regression: "Star Wars Collection/" had one film (and its generic metadata.json);
    a second film put there later was adopted as the first one, silently and for good."""
    root = tmp_path / "Movies"
    folder = root / "Star Wars Collection"
    media(folder / "Star Wars (1977).mkv")
    write_json(folder / "metadata.json", movie_doc({"id": 11, "title": "Star Wars",
                                                    "release_date": "1977-05-25"}))
    second = media(folder / "The Empire Strikes Back (1980).mkv")
    assert "scan_state" not in catalog.new_record(second, str(root), [str(root)])
    first = MediaFile(str(folder / "Star Wars (1977).mkv"), 700, 1)
    assert catalog.new_record(first, str(root), [str(root)])["tmdb_id"] == 11


@pytest.mark.parametrize(("guess", "adopted"), [
    (Guess("movie", "Heat", 1995), True),
    (Guess("movie", "heat", None), True),
    (Guess("movie", "Heat", 1996), True),                       # festival vs release year
    (Guess("movie", "Heat", 1999), False),
    (Guess("movie", "Heat", ids={"tmdb": "949"}), True),
    (Guess("movie", "Heat", 1995, ids={"tmdb": "111"}), False),  # the tag says otherwise
    (Guess("movie", "Cool", 1995), False),
])
def test_describes(guess: Guess, adopted: bool) -> None:
    assert catalog.describes(movie_doc(), guess) is adopted


def test_guess_fields_without_ids() -> None:
    fields = catalog.guess_fields(Guess("movie", "Heat", 1995))
    assert "tmdb_id" not in fields and "id_source" not in fields
    assert fields["episode_numbers"] == [] and fields["episode_number"] is None
    fields = catalog.guess_fields(Guess("episode", "Show", season=1, episodes=(3,),
                                        air_date=dt.date(2024, 3, 5), ids={"tvdb": "81189"}))
    assert (fields["air_date"], fields["tvdb_id"], fields["id_source"]) == (
        "2024-03-05", "81189", "id_tag")
