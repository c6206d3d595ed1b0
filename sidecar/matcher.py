"""Guess + TMDB search results -> one TMDB id, or a MatchError that keeps the candidates.

The order is the one every mature scanner converged on (research doc section 6):

1. **IDs beat search.**  A TMDB id on the file (path tag or NFO; ``identify`` merges
   them into ``guess.ids``) is taken with zero requests, then an IMDb/TVDB id is
   resolved through ``/find``.  The file's own ids outrank the media server's
   (``host_ids``): the user wrote the tag, the server may have guessed its match.
   A bogus TMDB id is not checked here -- the details fetch that follows 404s.
2. **Search narrow, then wider.**  Movies: the guessed year, year-1, year+1 (festival
   versus release year, Radarr#5996), then no year; TV: the year, then no year.  The
   loop stops at the first convincing answer, so a well-named file costs ONE request.
3. **Never guess** (jellyfin#7594 is what taking ``results[0]`` does).  The best
   candidate must clear a score threshold *and* lead the runner-up by a margin;
   otherwise the item goes to ERROR as ``not_found`` or ``ambiguous`` with the top
   candidates kept for a manual match.

Scoring and the accept/ambiguous rule (with the popularity tie-break) live in
:mod:`sidecar.candidates`; title spelling in :mod:`sidecar.titles`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, Protocol

from sidecar.candidates import Candidate, decide, rank, score_result
from sidecar.errors import MatchError

if TYPE_CHECKING:
    from sidecar.identify import Guess

TmdbType = Literal["movie", "tv"]

MAX_CANDIDATES = 5  # kept on an ERROR item for a manual match

_NO_IDS: Mapping[str, str] = MappingProxyType({})
_IMDB_ID = re.compile(r"tt\d{7,}")
_TRAILING_ARTICLE = re.compile(  # "Matrix, The" and guessit's "Matrix The" (Matrix.The.mkv)
    r"^(?P<rest>.+?)(?:,\s*|\s+(?=the$))(?P<article>the|a|an)$", re.IGNORECASE
)


class SearchClient(Protocol):
    """The three TMDB calls matching needs; ``sidecar.tmdb.TmdbClient`` provides them."""

    def search_movie(self, query: str, year: int | None = None) -> list[dict[str, Any]]:
        """``/search/movie`` results; ``year`` is sent as ``primary_release_year``."""
        ...

    def search_tv(self, query: str, year: int | None = None) -> list[dict[str, Any]]:
        """``/search/tv`` results; ``year`` is sent as ``first_air_date_year``."""
        ...

    def find(self, external_id: str, source: str) -> dict[str, Any]:
        """``/find/{external_id}?external_source=source``: ``movie_results``, ``tv_results``..."""
        ...


@dataclass(frozen=True)
class Match:
    """The chosen TMDB entry and how it was reached (shown on the status page)."""

    tmdb_id: int
    tmdb_type: TmdbType
    score: float
    via: str  # "id_tag" | "nfo" | "host" | "find" | "search"


def match(guess: Guess, client: SearchClient, *, host_ids: Mapping[str, str] = _NO_IDS) -> Match:
    """Resolve ``guess`` to a TMDB id: ids first, then a scored search.

    Raises :class:`MatchError` ("not_found" / "ambiguous", with candidates) rather than
    return a doubtful match.  TMDB errors from ``client`` propagate unchanged.
    """
    tmdb_type: TmdbType = "tv" if guess.kind == "episode" else "movie"
    found = match_ids(guess.ids, client, tmdb_type, via="id_tag")
    found = found or match_ids(host_ids, client, tmdb_type, via="host")
    return found or match_search(guess, client, tmdb_type)


# --- ids ---------------------------------------------------------------------------


def match_ids(
    ids: Mapping[str, str], client: SearchClient, tmdb_type: TmdbType, *, via: str
) -> Match | None:
    """A TMDB id as is, else an IMDb then a TVDB id through ``/find``; None if none works.

    TVDB ids resolve only TV on TMDB, so a movie with just a TVDB id costs no request.
    """
    clean = {str(k).lower(): str(v).strip() for k, v in ids.items() if v}
    tmdb = clean.get("tmdb", "")
    if tmdb.isdigit() and int(tmdb) > 0:
        return Match(int(tmdb), tmdb_type, 1.0, via)
    lookups = [("imdb_id", clean.get("imdb", "").lower())]
    if tmdb_type == "tv":
        lookups.append(("tvdb_id", clean.get("tvdb", "")))
    for source, value in lookups:
        valid = _IMDB_ID.fullmatch(value) if source == "imdb_id" else value.isdigit()
        found = _find(client, value, source, tmdb_type) if valid else None
        if found is not None:
            return Match(found, tmdb_type, 1.0, "find")
    return None


def _find(client: SearchClient, external_id: str, source: str, tmdb_type: TmdbType) -> int | None:
    """The single TMDB id ``/find`` gives for our kind, or None (nothing, or several).

    An episode's own IMDb/TVDB id finds the episode, not the show: fall back to the
    ``show_id`` of ``tv_episode_results`` / ``tv_season_results``.
    """
    data = client.find(external_id, source)
    if tmdb_type == "movie":
        found = _ints(data.get("movie_results"), "id")
    else:
        found = _ints(data.get("tv_results"), "id")
        found = found or _ints(data.get("tv_episode_results"), "show_id")
        found = found or _ints(data.get("tv_season_results"), "show_id")
    return found.pop() if len(found) == 1 else None


def _ints(results: Any, field: str) -> set[int]:
    """The distinct integer ``field`` values of a result list, ignoring junk."""
    if not isinstance(results, list):
        return set()
    return {r[field] for r in results if isinstance(r, dict) and type(r.get(field)) is int}


# --- search ------------------------------------------------------------------------


def match_search(guess: Guess, client: SearchClient, tmdb_type: TmdbType) -> Match:
    """Search year by year (see module doc), stopping at the first convincing answer."""
    query = search_query(guess.title)
    if not query:
        raise MatchError("not_found", "nothing to search for: empty title")
    search = client.search_movie if tmdb_type == "movie" else client.search_tv
    names = guess_names(guess)
    pool: dict[int, Candidate] = {}
    for year in search_years(tmdb_type, guess.year):
        for result in search(query, year):
            candidate = score_result(result, names, guess.year)
            if candidate is not None:
                pool.setdefault(candidate.tmdb_id, candidate)
        ranked = rank(pool.values())
        verdict = decide(ranked)
        if verdict is None:
            return Match(ranked[0].tmdb_id, tmdb_type, round(ranked[0].score, 4), "search")
        if verdict == "ambiguous":  # a wider search only adds worse years: stop here
            break
    raise _failure(guess, tmdb_type, rank(pool.values()))


def search_query(title: str) -> str:
    """What to send to TMDB: the title, with "Matrix, The" turned back into "The Matrix"."""
    title = " ".join(title.split())
    m = _TRAILING_ARTICLE.match(title)
    return f"{m['article']} {m['rest']}" if m else title


def search_years(tmdb_type: TmdbType, year: int | None) -> list[int | None]:
    """The year filters to try in order; ``None`` is an unfiltered search."""
    if year is None:
        return [None]
    if tmdb_type == "movie":
        return [year, year - 1, year + 1, None]
    return [year, None]


def guess_names(guess: Guess) -> tuple[str, ...]:
    """The names to score results against: the title, joined to any alternative title.

    "Movie - Subtitle (2010).mkv" gives title "Movie", alternative "Subtitle"; TMDB
    calls it "Movie: Subtitle", which "Movie - Subtitle" equals.  A result named just
    "Movie" still scores as a main-title match (``titles.HEAD_SCORE``), below the
    exact one, so a same-named other film cannot tie with the right one.
    """
    alt = getattr(guess, "alternative_title", None)
    return (f"{guess.title} - {alt}",) if alt and alt.strip() else (guess.title,)


def _failure(guess: Guess, tmdb_type: TmdbType, ranked: Sequence[Candidate]) -> MatchError:
    """The MatchError for a search that did not convince, with the top candidates."""
    reason = decide(ranked) or "ambiguous"
    wanted = f"{guess.title!r}" + (f" ({guess.year})" if guess.year else "")
    if not ranked:
        message = f"TMDB {tmdb_type} search found nothing for {wanted}"
    else:
        best = ranked[0]
        what = "several close candidates" if reason == "ambiguous" else "no convincing match"
        message = (
            f"{what} for {wanted}: best {best.title!r} ({best.year or '?'}) "
            f"scored {best.score:.2f} of {len(ranked)}"
        )
    top = [c.as_dict(tmdb_type) for c in ranked[:MAX_CANDIDATES]]
    return MatchError(reason, message, top)
