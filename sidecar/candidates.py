"""Scoring TMDB search results against a guess, and deciding whether one convinces.

Kept apart from :mod:`sidecar.matcher` (which decides *what to ask* TMDB) because this
is the part tuned on examples: every number that makes a match acceptable lives here.

Score = best title similarity (:func:`sidecar.titles.similarity` over ``title``,
``original_title`` and any alternative titles) minus a year penalty.  A candidate is
accepted only with score >= :data:`THRESHOLD` and a lead of :data:`MARGIN` over every
other candidate.  Popularity never changes a score; it only settles a near-tie: the
leader still wins if it outweighs each near-tied rival :data:`DOMINANCE` times over
(weight = ``vote_count`` -- stable over years, unlike the trending-driven
``popularity`` -- or ``popularity`` when either side lacks a vote count; a rival
weighs at least 1).  So "Avatar" with no year picks the 2009 film over an obscure
short of the same name, while "Robocop" with no year (1987: ~5k votes, 2014: ~6k)
stays ambiguous.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sidecar.titles import similarity

THRESHOLD = 0.85  # FileBot auto-selects at 0.85, tmm at 0.75: we would rather ask
MARGIN = 0.10  # lead over the runner-up; tmm rejects only exact ties
DOMINANCE = 10.0  # the popularity tie-break needs a 10x heavier leader
NO_RELEASE_DATE_PENALTY = 0.10  # the guess has a year, the result has none
_EPS = 1e-9  # 1.0 - 0.9 is 0.0999...: compare scores with a little slack


@dataclass(frozen=True, slots=True)
class Candidate:
    """One search result with its score; ``votes``/``popularity`` only break near-ties."""

    tmdb_id: int
    title: str
    year: int | None
    score: float
    votes: float | None
    popularity: float
    poster_path: str | None

    def as_dict(self, tmdb_type: str) -> dict[str, Any]:
        """The small form kept on an ERROR item for a manual match."""
        return {
            "tmdb_id": self.tmdb_id,
            "tmdb_type": tmdb_type,
            "title": self.title,
            "year": self.year,
            "score": round(self.score, 3),
            "popularity": self.popularity,
            "poster_path": self.poster_path,
        }


def score_result(
    result: Mapping[str, Any], names: Sequence[str], year: int | None
) -> Candidate | None:
    """Score one search result (movie or TV shape); None for a result without an id."""
    tmdb_id = result.get("id")
    if type(tmdb_id) is not int:
        return None
    titles = result_titles(result)
    sim = max((similarity(n, t) for n in names for t in titles), default=0.0)
    got = release_year(result.get("release_date") or result.get("first_air_date"))
    votes = result.get("vote_count")
    return Candidate(
        tmdb_id=tmdb_id,
        title=titles[0] if titles else "",
        year=got,
        score=max(0.0, sim - year_penalty(year, got)),
        votes=float(votes) if isinstance(votes, int | float) else None,
        popularity=_number(result.get("popularity")),
        poster_path=result.get("poster_path") or None,
    )


def result_titles(result: Mapping[str, Any]) -> list[str]:
    """``title``/``name``, the original, then any alternative titles (details shape)."""
    found = [result.get(k) for k in ("title", "name", "original_title", "original_name")]
    found.extend(_alternative_titles(result.get("alternative_titles")))
    return [t for t in found if isinstance(t, str) and t.strip()]


def _alternative_titles(value: Any) -> list[Any]:
    """Accept ``{"titles": [...]}`` (movie), ``{"results": [...]}`` (TV) or a plain list."""
    if isinstance(value, dict):
        value = value.get("titles") or value.get("results")
    if not isinstance(value, list):
        return []
    return [v.get("title") if isinstance(v, dict) else v for v in value]


def release_year(date: Any) -> int | None:
    """The year of a TMDB date ("2014-02-07"); TMDB sends "" or null when unknown."""
    if isinstance(date, str) and len(date) >= 4 and date[:4].isdigit():
        return int(date[:4])
    return None


def year_penalty(wanted: int | None, got: int | None) -> float:
    """Exact 0, one year off 0.05 (festival vs release), two or more 0.3 rising to 0.5.

    No year in the guess is neutral: every candidate is penalised alike (0), so
    same-title remakes tie and the margin rule reports them as ambiguous.
    """
    if wanted is None:
        return 0.0
    if got is None:
        return NO_RELEASE_DATE_PENALTY
    distance = abs(wanted - got)
    if distance <= 1:
        return 0.05 * distance
    return min(0.5, 0.2 + 0.05 * distance)


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


def rank(candidates: Iterable[Candidate]) -> list[Candidate]:
    """Best first: by score; among equal scores the more voted, then the more popular."""
    return sorted(candidates, key=lambda c: (c.score, c.votes or 0.0, c.popularity), reverse=True)


def decide(ranked: Sequence[Candidate]) -> str | None:
    """None to accept ``ranked[0]``, else the MatchError reason for this list."""
    if not ranked or ranked[0].score < THRESHOLD - _EPS:
        return "not_found"
    best = ranked[0]
    rivals = [c for c in ranked[1:] if best.score - c.score < MARGIN - _EPS]
    return None if all(dominates(best, r) for r in rivals) else "ambiguous"


def dominates(leader: Candidate, rival: Candidate) -> bool:
    """The popularity tie-break (module doc): vote counts when both sides have one."""
    if leader.votes is not None and rival.votes is not None:
        return leader.votes >= DOMINANCE * max(rival.votes, 1.0)
    return leader.popularity >= DOMINANCE * max(rival.popularity, 1.0)
