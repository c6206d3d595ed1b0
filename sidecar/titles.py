"""Title normalisation and similarity, the part of matching that knows about spelling.

A file name and TMDB spell the same film differently in predictable ways: accents
("Amelie" / "Amélie"), articles ("Matrix, The"), ``&`` versus "and", punctuation
("Spider-Man: No Way Home" / "Spiderman No Way Home"), roman numerals and number
words ("Rocky II" / "Rocky 2", "Part One" / "Part 1").  :func:`normalize` removes
those differences from *both* sides, so a plain equality test catches most real
matches; :func:`similarity` grades the rest with a letter-pair Dice coefficient
(tinyMediaManager's "Strike a Match", which FileBot and tmm both auto-accept at
0.75-0.85).

Two guards keep fuzzy scores honest.  Numbers are identity, not spelling: "Rocky 2"
and "Rocky 3" share every letter pair, so titles whose number tokens differ are
capped far below any acceptance threshold.  And a title that equals only the part of
the other before a ``:`` or `` - `` ("Borat" / "Borat: Cultural Learnings of ...")
scores :data:`HEAD_SCORE`: good enough to accept when the year agrees, never as good
as an exact title, so "Alien" still beats "Alien: Covenant".  (Dice and the head rule
are tinyMediaManager's and FileBot's ideas; the padding, the number cap and the
head score are ours, tuned on ``tests/test_matcher.py``.)
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

EXACT_SCORE = 1.0
STOPWORD_SCORE = 0.95  # equal once "of", "the", "and" ... are ignored
HEAD_SCORE = 0.88  # one title is the other's main title before a subtitle
NUMBER_MISMATCH_CAP = 0.5  # "Toy Story" vs "Toy Story 2": never a match

ARTICLES = frozenset({"the", "a", "an"})
STOPWORDS = frozenset({"the", "and", "of", "or"})  # not "a": "Plan A" is not "Plan"

# Letters NFKD does not decompose into a base letter plus an accent.
_FOLD = str.maketrans(
    {"æ": "ae", "œ": "oe", "ø": "o", "đ": "d", "ð": "d", "ł": "l", "þ": "th", "ı": "i"}
)
_APOSTROPHES = re.compile(r"['’‘`´ʼ]")
_NON_WORD = re.compile(r"[\W_]+")
_TRAILING_ARTICLE = re.compile(r"(?:,\s*(?:the|a|an)|\s+the)\s*$")
_SUBTITLE_SEP = re.compile(r"\s*:\s*|\s+[-–—]\s+")

# fmt: off
_NUMBER_WORDS = {
    word: str(i)
    for i, word in enumerate((
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
        "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
        "eighteen", "nineteen", "twenty",
    ))
}
# fmt: on
_ROMAN = re.compile(r"(?=[ivx])(x{0,3})(ix|iv|v?i{0,3})")  # 1-39: sequels and parts
_ROMAN_UNITS = {"ix": 9, "iv": 4}


def roman(token: str) -> int | None:
    """The value of a roman numeral up to XXXIX, else None ("mix", "civil" stay words)."""
    m = _ROMAN.fullmatch(token)
    if not m:
        return None
    units = m[2]
    value = _ROMAN_UNITS.get(units) or (5 if units.startswith("v") else 0) + units.count("i")
    return 10 * len(m[1]) + value


def fold(text: str) -> str:
    """Casefold and strip accents: the form in which "Amélie" equals "AMELIE"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return bare.translate(_FOLD)


def _number(token: str, position: int) -> str:
    """Map a number word or roman numeral to digits.

    A lone ``i``, ``v`` or ``x`` at the start stays a letter ("X" the 2022 film must
    not become "10" the 1979 one); after another word it is a numeral ("Part I",
    "Rocky V", "Malcolm X" -- both sides get the same treatment, so that is harmless).
    """
    if token in _NUMBER_WORDS:
        return _NUMBER_WORDS[token]
    value = roman(token) if len(token) > 1 or position > 0 else None
    return token if value is None else str(value)


def tokens(title: str) -> tuple[str, ...]:
    """The normalised words of ``title``: the basis of every comparison here."""
    text = _TRAILING_ARTICLE.sub("", fold(title).strip())
    text = _APOSTROPHES.sub("", text.replace("&", " and "))
    words = _NON_WORD.sub(" ", text).split()
    if len(words) > 1 and words[0] in ARTICLES:
        words = words[1:]
    return tuple(_number(w, i) for i, w in enumerate(words))


def normalize(title: str) -> str:
    """One canonical spelling: "The Matrix", "Matrix, The" and "matrix" give "matrix"."""
    return " ".join(tokens(title))


def _pairs(words: tuple[str, ...]) -> Counter[str]:
    """Adjacent letter pairs of each word, padded so one-letter words still count."""
    pairs: Counter[str] = Counter()
    for word in words:
        padded = f"^{word}$"
        pairs.update(padded[i : i + 2] for i in range(len(padded) - 1))
    return pairs


def dice(a: tuple[str, ...], b: tuple[str, ...]) -> float:
    """Letter-pair Dice coefficient (tmm's ``Similarity.compareStrings``, padded words)."""
    pa, pb = _pairs(a), _pairs(b)
    total = sum(pa.values()) + sum(pb.values())
    if not total:
        return 0.0
    return 2 * sum((pa & pb).values()) / total


@dataclass(frozen=True, slots=True)
class TitleKey:
    """A title prepared once for many comparisons (a guess meets ~20 search results)."""

    words: tuple[str, ...]
    compact: str  # "spiderman" for both "Spider-Man" and "Spiderman"
    content: str  # compact without stopwords
    heads: frozenset[str]  # compact forms of the parts before each ":" / " - "
    numbers: tuple[str, ...]


@lru_cache(maxsize=4096)
def key(title: str) -> TitleKey:
    """Build (and cache: the same TMDB titles recur across searches) a :class:`TitleKey`."""
    words = tokens(title)
    parts = _SUBTITLE_SEP.split(title)
    heads = {"".join(tokens(" ".join(parts[:i]))) for i in range(1, len(parts))}
    return TitleKey(
        words=words,
        compact="".join(words),
        content="".join(w for w in words if w not in STOPWORDS),
        heads=frozenset(h for h in heads if h),
        numbers=tuple(sorted(w for w in words if w.isdigit())),
    )


def similarity(query: str, candidate: str) -> float:
    """How alike a guessed title and a TMDB title are, 0.0-1.0; 1.0 only when equal.

    Symmetric but for one case: a candidate equal to the query's main title keeps
    :data:`HEAD_SCORE` even when the query's subtitle carries a number ("Star Wars -
    Episode IV - A New Hope" is "Star Wars"), whereas a query equal to the candidate's
    main title does not ("Dune" is not "Dune: Part Two") -- a numbered subtitle on the
    TMDB side is a sequel, on the file's side it is just more detail.
    """
    kq, kc = key(query), key(candidate)
    if not kq.compact or not kc.compact:
        return 0.0
    if kq.compact == kc.compact:
        return EXACT_SCORE
    if kc.compact in kq.heads:
        return HEAD_SCORE
    score = dice(kq.words, kc.words)
    if kq.content and kq.content == kc.content:
        score = max(score, STOPWORD_SCORE)
    if kq.compact in kc.heads:
        score = max(score, HEAD_SCORE)
    if kq.numbers != kc.numbers:
        score = min(score, NUMBER_MISMATCH_CAP)
    return score
