"""identify(): the case table in tests/data/identify_cases.json, checked three ways.

Every case names the rule it covers (``rule``), the library roots, optionally the NFO
text beside the file, and either the full expected Guess (fields left out must be at
their defaults) or an ``error`` substring.  ``fast: true`` marks names that follow the
Plex/Jellyfin conventions and must be read without guessit (the throughput promise);
``fast_better`` documents a case where the fast path is right and guessit is not.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import json
import random
import re
from pathlib import Path
from typing import Any

import pytest

from sidecar import identify as identify_module
from sidecar import titleparse
from sidecar.errors import IdentifyError
from sidecar.identify import Guess, _fast_identify, _guessit_identify, identify, read_nfo_ids

CASES: list[dict[str, Any]] = json.loads(
    (Path(__file__).parent / "data" / "identify_cases.json").read_text(encoding="utf-8")
)

RULES = {
    "movie_folder", "show_season", "specials", "multi_episode", "date_episode", "nx_episode",
    "id_tags", "nfo", "nfo_precedence", "multi_part", "multi_version", "numeric_title",
    "part_in_title", "year_in_title", "sample_in_title", "not_tv", "kind_folder_context",
    "roots", "show_dir", "show_title", "scene_release", "anime", "windows", "unicode",
    "articles", "punctuation", "tag_words_in_title", "errors", "weird_input",
}  # fmt: skip


def _case_id(case: dict[str, Any]) -> str:
    name = re.split(r"[/\\]", case["path"])[-1] or case["path"] or "<empty>"
    return f"{case['rule']}:{name[:48]}"


def _expected(case: dict[str, Any]) -> Guess:
    fields = dict(case["expect"])
    fields["episodes"] = tuple(fields.get("episodes", ()))
    if "air_date" in fields:
        fields["air_date"] = datetime.date.fromisoformat(fields["air_date"])
    return Guess(**fields)


def _args(case: dict[str, Any]) -> tuple[str, list[str], str | None]:
    return case["path"], case["roots"], case.get("nfo")


GOOD = [case for case in CASES if "error" not in case]
BAD = [case for case in CASES if "error" in case]
FAST = [case for case in GOOD if case.get("fast")]
ELIGIBLE = [case for case in GOOD if _fast_identify(*_args(case)) is not None]


@pytest.mark.parametrize("case", GOOD, ids=_case_id)
def test_identify(case: dict[str, Any]) -> None:
    path, roots, nfo = _args(case)
    assert identify(path, roots=roots, nfo_text=nfo) == _expected(case)


@pytest.mark.parametrize("case", BAD, ids=_case_id)
def test_unidentifiable_names_raise_identify_error(case: dict[str, Any]) -> None:
    path, roots, nfo = _args(case)
    with pytest.raises(IdentifyError, match=re.escape(case["error"])):
        identify(path, roots=roots, nfo_text=nfo)


@pytest.mark.parametrize("case", FAST, ids=_case_id)
def test_convention_names_take_the_fast_path(case: dict[str, Any]) -> None:
    assert _fast_identify(*_args(case)) == _expected(case)


@pytest.mark.parametrize("case", ELIGIBLE, ids=_case_id)
def test_fast_path_agrees_with_guessit_path(case: dict[str, Any]) -> None:
    """No loss of accuracy: where the fast path answers, guessit answers the same.

    Titles are compared as TMDB search sees them (case and punctuation ignored), so
    ``Mr. Robot`` (fast, verbatim) and ``Mr Robot`` (guessit) agree.
    """
    fast, slow = _fast_identify(*_args(case)), _guessit_identify(*_args(case))
    assert fast == _expected(case)
    if "fast_better" in case:
        assert _search_form(slow) != _search_form(fast), "guessit fixed: drop fast_better"
    else:
        assert _search_form(slow) == _search_form(fast)


def test_every_rule_has_cases() -> None:
    seen = {case["rule"] for case in CASES}
    assert seen == RULES, f"missing: {RULES - seen}, unknown: {seen - RULES}"
    assert len(CASES) >= 150


def test_most_cases_follow_conventions_and_skip_guessit() -> None:
    assert len(FAST) >= 100
    assert {case["rule"] for case in ELIGIBLE} >= {"movie_folder", "show_season", "id_tags"}


def test_fast_names_never_reach_guessit(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(text: str) -> titleparse.Title:
        raise AssertionError(f"guessit asked for {text!r}")

    monkeypatch.setattr(titleparse, "guessit_title", refuse)
    for case in FAST:
        path, roots, nfo = _args(case)
        assert identify(path, roots=roots, nfo_text=nfo) == _expected(case)


def test_error_cases_fail_the_same_way_on_the_fast_path() -> None:
    for case in BAD:
        with contextlib.suppress(IdentifyError):
            assert _fast_identify(*_args(case)) is None


def test_garbage_raises_nothing_but_identify_error() -> None:
    """Random names (undecodable bytes, brackets, markers) never crash identify."""
    rng = random.Random(20240601)
    pieces = ["S01E", "1x", "(", ")", "[", "]", "{tmdb-", "}", ".", " - ", "part", "cd",
              "2010", "-", "_", "tt012", "Season ", "\\", "é", "\x00", "\n", "?", "…"]  # fmt: skip
    for _ in range(150):
        raw = bytes(rng.randrange(256) for _ in range(rng.randrange(12)))
        name = raw.decode("utf-8", "surrogateescape") + "".join(rng.sample(pieces, 4))
        try:
            guess = identify(f"/lib/{name}/{name}.mkv", roots=["/lib"], nfo_text=name)
        except IdentifyError:
            continue
        guess.title.encode("utf-8")  # raises if a lone surrogate got through


def test_guess_ids_are_a_fresh_mapping_per_guess() -> None:
    a = identify("/m/A (2001) {tmdb-1}.mkv")
    b = identify("/m/B (2002).mkv")
    assert dict(a.ids) == {"tmdb": "1"} and dict(b.ids) == {}


def test_read_nfo_ids_is_part_of_the_identify_api() -> None:
    assert identify_module.__all__ == ["Guess", "identify", "read_nfo_ids"]
    assert read_nfo_ids('<movie><uniqueid type="tmdb">603</uniqueid></movie>') == {"tmdb": "603"}


def _search_form(guess: Guess) -> Guess:
    """``guess`` with titles as a search engine compares them."""

    def key(text: str) -> str:
        return " ".join(re.sub(r"[\W_]+", " ", text).casefold().split())

    alternative = guess.alternative_title
    return dataclasses.replace(
        guess, title=key(guess.title), alternative_title=key(alternative) if alternative else None
    )
