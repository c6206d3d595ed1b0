"""Synthetic TMDB catalog: explicit entries for matcher tests, plus an "auto" mode.

Two sources, consulted in this order:

* **explicit entries** (``Catalog.load`` / ``Catalog.from_json``) -- hand-written movies and
  shows for ambiguous cases (two "RoboCop", "Darkness" vs "Army of Darkness").  Text search
  matches when every query word appears in the title, original title or an alternative title,
  like TMDB's own search, and results come back most popular first.
* **auto mode** -- when no explicit entry matches, an entry is synthesised from the query, so
  any generated library matches.  Its id is a stable hash of (normalised title, year): the same
  across calls, processes and runs.  Synthesised entries are remembered in a registry so that
  ``/movie/{id}`` returns what the search returned; ids never seen are synthesised as
  "Movie {id}" so a stale id still resolves.

Ids: movies and shows live in 1..9_999_999.  Auto movies carry IMDb id ``tt{id:07d}``; auto
shows carry IMDb id ``tt{90_000_000 + id}`` and TVDB id ``{id}``, so ``/find`` round-trips.
"""

from __future__ import annotations

import hashlib
import json
import threading
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MAX_ID = 9_999_999
SHOW_IMDB_OFFSET = 90_000_000
AMBIGUOUS_CATALOG = Path(__file__).with_name("data") / "ambiguous_catalog.json"
_DECOY_TEMPLATES = ("The Making of {t}", "{t} II", "Beyond {t}", "{t}: Reloaded", "Return to {t}")


def normalize(text: str) -> str:
    """Case-, accent- and punctuation-blind form used for matching and hashing."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return " ".join("".join(c if c.isalnum() else " " for c in plain).split())


def stable_hash(*parts: object) -> int:
    raw = "|".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.blake2b(raw, digest_size=8).digest(), "big")


def display_title(query: str) -> str:
    """The query as a title: kept as typed, title-cased only if typed all lower-case."""
    words = query.split()
    if query == query.lower():
        words = [w[:1].upper() + w[1:] for w in words]
    return " ".join(words)


@dataclass(frozen=True)
class MovieEntry:
    id: int
    title: str
    year: int
    original_title: str = ""
    release_date: str = ""
    alternative_titles: tuple[str, ...] = ()
    popularity: float = 10.0
    original_language: str = "en"
    imdb_id: str | None = None

    @property
    def date(self) -> str:
        return self.release_date or f"{self.year:04d}-06-15"

    @property
    def imdb(self) -> str:
        return self.imdb_id or f"tt{self.id:07d}"

    def names(self) -> tuple[str, ...]:
        return (self.title, self.original_title or self.title, *self.alternative_titles)


@dataclass(frozen=True)
class ShowEntry:
    id: int
    name: str
    year: int
    original_name: str = ""
    first_air_date: str = ""
    alternative_titles: tuple[str, ...] = ()
    popularity: float = 10.0
    original_language: str = "en"
    imdb_id: str | None = None
    tvdb_id: int | None = None
    seasons: Mapping[int, int] = field(default_factory=lambda: {1: 10})  # number -> episodes

    @property
    def date(self) -> str:
        return self.first_air_date or f"{self.year:04d}-01-10"

    @property
    def imdb(self) -> str:
        return self.imdb_id or f"tt{SHOW_IMDB_OFFSET + self.id}"

    @property
    def tvdb(self) -> int:
        return self.tvdb_id if self.tvdb_id is not None else self.id

    def names(self) -> tuple[str, ...]:
        return (self.name, self.original_name or self.name, *self.alternative_titles)


def _movie_from_json(d: Mapping[str, Any]) -> MovieEntry:
    return MovieEntry(
        id=int(d["id"]), title=str(d["title"]), year=int(d["year"]),
        original_title=str(d.get("original_title", "")),
        release_date=str(d.get("release_date", "")),
        alternative_titles=tuple(d.get("alternative_titles", ())),
        popularity=float(d.get("popularity", 10.0)),
        original_language=str(d.get("original_language", "en")), imdb_id=d.get("imdb_id"),
    )


def _show_from_json(d: Mapping[str, Any]) -> ShowEntry:
    raw = d.get("seasons", {1: 10})
    seasons = (
        {int(k): int(v) for k, v in raw.items()} if isinstance(raw, Mapping)
        else {i: int(n) for i, n in enumerate(raw, start=1)}
    )
    tvdb = d.get("tvdb_id")
    return ShowEntry(
        id=int(d["id"]), name=str(d.get("name") or d["title"]), year=int(d["year"]),
        original_name=str(d.get("original_name", "")),
        first_air_date=str(d.get("first_air_date", "")),
        alternative_titles=tuple(d.get("alternative_titles", ())),
        popularity=float(d.get("popularity", 10.0)),
        original_language=str(d.get("original_language", "en")),
        imdb_id=d.get("imdb_id"), tvdb_id=None if tvdb is None else int(tvdb), seasons=seasons,
    )


def _text_match(query: str, names: Iterable[str]) -> bool:
    words = query.split()
    return any(all(w in normalize(n).split() for w in words) for n in names)


class Catalog:
    """Thread-safe lookup of movies and shows; see the module docstring for the rules."""

    def __init__(
        self, movies: Iterable[MovieEntry] = (), shows: Iterable[ShowEntry] = (), *,
        auto: bool = True, decoys: int = 0, auto_seasons: int = 15, auto_episodes: int = 30,
    ) -> None:
        self.auto, self.decoys = auto, decoys
        self.auto_seasons, self.auto_episodes = auto_seasons, auto_episodes
        self._lock = threading.Lock()
        self._movies: dict[int, MovieEntry] = {m.id: m for m in movies}
        self._shows: dict[int, ShowEntry] = {s.id: s for s in shows}
        self._auto_movies: dict[int, MovieEntry] = {}
        self._auto_shows: dict[int, ShowEntry] = {}
        self._keys: dict[tuple[str, str, int], int] = {}  # (kind, norm title, year) -> id
        self._by_title: dict[tuple[str, str], list[int]] = {}  # (kind, norm title) -> ids

    @classmethod
    def from_json(cls, source: Mapping[str, Any] | str | Path, **kw: Any) -> Catalog:
        catalog = cls(**kw)
        catalog.load(source)
        return catalog

    def load(self, source: Mapping[str, Any] | str | Path) -> None:
        """Add explicit entries from a dict or JSON file: ``{"movies": [..], "shows": [..]}``."""
        data = source if isinstance(source, Mapping) else json.loads(Path(source).read_text())
        with self._lock:
            for d in data.get("movies", ()):
                movie = _movie_from_json(d)
                self._movies[movie.id] = movie
            for d in data.get("shows", ()):
                show = _show_from_json(d)
                self._shows[show.id] = show

    # --- search -------------------------------------------------------------------------

    def search_movies(self, query: str, year: int | None) -> list[MovieEntry]:
        return self._search("movie", self._movies, query, year)

    def search_shows(self, query: str, year: int | None) -> list[ShowEntry]:
        return self._search("tv", self._shows, query, year)

    def _search(
        self, kind: str, table: Mapping[int, Any], query: str, year: int | None
    ) -> list[Any]:
        q = normalize(query)
        if not q:
            return []
        with self._lock:
            hits = [e for e in table.values()
                    if (year is None or e.year == year) and _text_match(q, e.names())]
            if not hits and self.auto:
                hits = self._auto_search(kind, query, year)
        return sorted(hits, key=lambda e: (-e.popularity, e.id))

    def _auto_search(self, kind: str, query: str, year: int | None) -> list[Any]:
        q = normalize(query)
        if year is None:
            known = self._by_title.get((kind, q))
            if known:
                return [self._registered(kind, i) for i in known]
            year = 1950 + stable_hash(kind, q) % 75
        title = display_title(query)
        main = self._synthesise(kind, title, year, popularity=20.0 + stable_hash(q) % 80)
        found = [main]
        for k, template in enumerate(_DECOY_TEMPLATES[: self.decoys], start=1):
            found.append(self._synthesise(kind, template.format(t=title), year, 3.0 / k))
        return found

    def _registered(self, kind: str, entry_id: int) -> Any:
        return (self._auto_movies if kind == "movie" else self._auto_shows)[entry_id]

    def _synthesise(self, kind: str, title: str, year: int, popularity: float) -> Any:
        key = (kind, normalize(title), year)
        if key in self._keys:
            return self._registered(kind, self._keys[key])
        tables = (self._movies, self._auto_movies) if kind == "movie" else (
            self._shows, self._auto_shows)
        entry_id = stable_hash(*key) % MAX_ID + 1
        while any(entry_id in t for t in tables):  # rare collision: probe, first come first served
            entry_id = entry_id % MAX_ID + 1
        self._keys[key] = entry_id
        self._by_title.setdefault(key[:2], []).append(entry_id)
        if kind == "movie":
            movie = MovieEntry(entry_id, title, year, popularity=round(popularity, 3))
            self._auto_movies[entry_id] = movie
            return movie
        show = self._auto_show(entry_id, title, year, popularity)
        self._auto_shows[entry_id] = show
        return show

    def _auto_show(self, entry_id: int, name: str, year: int, popularity: float) -> ShowEntry:
        seasons = {n: self.auto_episodes for n in range(self.auto_seasons + 1)}
        return ShowEntry(entry_id, name, year, popularity=round(popularity, 3), seasons=seasons)

    # --- lookup by id ------------------------------------------------------------------

    def movie(self, movie_id: int) -> MovieEntry | None:
        with self._lock:
            found = self._movies.get(movie_id) or self._auto_movies.get(movie_id)
        if found or not self.auto or not 1 <= movie_id <= MAX_ID:
            return found
        return MovieEntry(movie_id, f"Movie {movie_id}", 1950 + movie_id % 75)

    def show(self, show_id: int) -> ShowEntry | None:
        with self._lock:
            found = self._shows.get(show_id) or self._auto_shows.get(show_id)
        if found or not self.auto or not 1 <= show_id <= MAX_ID:
            return found
        return self._auto_show(show_id, f"Show {show_id}", 1950 + show_id % 75, 10.0)

    def find(self, external_id: str, source: str) -> tuple[list[MovieEntry], list[ShowEntry]]:
        """``/find``: IMDb ids resolve movies and shows, TVDB ids only shows (as on TMDB)."""
        with self._lock:
            if source == "imdb_id":
                movies = [m for m in self._movies.values() if m.imdb == external_id]
                shows = [s for s in self._shows.values() if s.imdb == external_id]
            elif source == "tvdb_id":
                movies = []
                shows = [s for s in self._shows.values() if str(s.tvdb) == external_id]
            else:
                return [], []
        if movies or shows or not self.auto:
            return movies, shows
        return self._auto_find(external_id, source)

    def _auto_find(self, external_id: str, source: str) -> tuple[list[MovieEntry], list[ShowEntry]]:
        digits = external_id[2:] if source == "imdb_id" else external_id
        if not digits.isdigit() or (source == "imdb_id" and not external_id.startswith("tt")):
            return [], []
        number = int(digits)
        if source == "imdb_id" and number >= SHOW_IMDB_OFFSET:
            show = self.show(number - SHOW_IMDB_OFFSET)
            return [], [show] if show else []
        if source == "imdb_id":
            movie = self.movie(number)
            return [movie] if movie else [], []
        show = self.show(number)
        return [], [show] if show else []
