"""A title and year out of one name: fast regexes for tidy names, guessit for the rest.

guessit costs about 9 ms a name, the regexes a few microseconds.  Names that follow the
Plex/Jellyfin conventions (``Title (Year)``, ``Title``) are read by the regexes, which
give up (``None``) on anything that looks like a release name so guessit can read it.
The guessit answer is then repaired for its known traps (research/tmdb-and-naming.md §6):
``Part N``, ``Vol N`` and ``Episode N`` eaten from titles, ``Sample`` and ``us`` eaten as
tags, numeric titles read as years (``1917``, ``2001 A Space Odyssey``), and one-word
titles that are also tags (``Cam (2018)``, ``Remastered (2015)``) lost altogether.

Names given here never contain id tags, multi-part or multi-version suffixes, or episode
markers: ``sidecar.naming`` and ``sidecar.idtags`` take those off first.
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_FAST = re.compile(r"^(?P<title>[^()\[\]{}_]+?)(?:\s*\((?P<year>18[89]\d|19\d\d|20\d\d)\))?$")
# Tokens that mean "release name, let guessit read it" rather than a plain title.
_RELEASE_TOKEN = re.compile(
    r"(?<![a-z0-9'])(?:\d{3,4}[pi]|[48]k|uhd|hdr\w*|sdr|[xh]\.?26[45]|hevc|avc|xvid|divx|av1"
    r"|blu-?ray|bd\w*|br-?rip|remux|web|web-?dl|web-?rip|hdtv|pdtv|dvd\w*|hdrip|hd|sd|cam"
    r"|proper|repack|internal|limited|unrated|extended|remastered|uncut|theatrical|imax"
    r"|director'?s|criterion|complete|multi|dual|subbed|dubbed|e?ac3|dts\w*|aac\w*|ddp?\d*"
    r"|atmos|truehd|flac|\d+bit|s\d{1,3}|e\d{1,4}|\d{1,2}x\d{2,3}|season|episode|sample|trailer)"
    r"(?![a-z0-9])",
    re.IGNORECASE,
)
_YEARISH = re.compile(r"(?<![0-9])(?:19|20)\d{2}(?![0-9])")
_NUMERIC = re.compile(r"[\W\d_]*\d[\W\d_]*")
_NAMED = re.compile(r"^(?P<title>[^()\[\]{}]*[^\W\d_][^()\[\]{}]*?)\s*\((?:18[89]|19\d|20\d)\d\)$")
# guessit's API object re-configures shared state on every call: one caller at a time.
# It is pure-Python CPU work under the GIL, so the lock costs no throughput.
_GUESSIT_LOCK = threading.Lock()
_MAX_NAME = 1024  # 4x any file system's name limit: bounds guessit's work on garbage
_TRAILING_ARTICLE = re.compile(r"^(?P<rest>.+?),\s*(?P<article>the|an?)$", re.IGNORECASE)
# Structure (parts, seasons, episodes) is ours (sidecar.naming): guessit keeps those words
# in the title instead of eating "Part 1", "Vol 1" or "Episode 1" from real titles.
_GUESSIT_OPTIONS = {"type": "movie", "excludes": ["part", "volume", "episode", "season"]}
# Title words guessit takes as tags: "Shomin Sample" (other), "the.last.of.us" (country).
_EATEN_WORD = r"[ ._-]+((?i:sample)|us)(?![A-Za-z0-9])"


@dataclass(frozen=True, slots=True)
class Title:
    """What one name says about the title."""

    title: str
    year: int | None = None
    alternative_title: str | None = None


class NotFast(Exception):
    """The fast regexes cannot vouch for this name (internal to identify)."""


TitleReader = Callable[[str], Title]


def fast_title(text: str) -> Title | None:
    """``Title`` or ``Title (Year)`` read verbatim, or None when guessit should look.

    Verbatim is why this path is also *better*: a curated folder name keeps its
    punctuation (``Mr. Robot``, ``What If...?``) that guessit would rewrite.
    """
    match = _FAST.match(text.strip())
    if match is None:
        return None
    title, year = match.group("title").strip(" -"), match.group("year")
    if not title or _RELEASE_TOKEN.search(title) or " - " in title:
        return None  # guessit splits "A - B" into title + alternative_title: let it
    if "." in title and " " not in title:
        return None  # dotted release name
    if year is None and _YEARISH.search(title):
        return None  # "The Matrix 1999", "1917": guessit knows which number is the year
    return Title(clean(title), int(year) if year else None)


def guessit_title(text: str) -> Title:
    """guessit's title, year and alternative title for ``text``, with its traps repaired."""
    text = text.strip()[:_MAX_NAME]
    if not text:
        return Title("")
    return _guessit_cached(text)


@functools.lru_cache(maxsize=4096)  # a show folder is read once per episode
def _guessit_cached(text: str) -> Title:
    try:
        with _GUESSIT_LOCK:
            found: dict[str, Any] = dict(_guessit()(text, _GUESSIT_OPTIONS))
    except Exception:
        return Title("")
    title = _text(found.get("title"))
    year = found.get("year")
    year = year[0] if isinstance(year, list) else year
    year = year if isinstance(year, int) else None
    title = _restore_eaten_word(text, title, found)
    title, year = _numeric_title(text, title, year)
    alternative = _text(found.get("alternative_title"), joiner=" - ")
    return Title(clean(title), year, clean(alternative) or None)


def auto_title(text: str) -> Title:
    """The fast answer when there is one, else guessit's: what ``identify`` uses."""
    return fast_title(text) or guessit_title(text)


def fast_only_title(text: str) -> Title:
    """The fast answer or :class:`NotFast`: lets tests and benchmarks see the fast path."""
    found = fast_title(text)
    if found is None:
        raise NotFast(text)
    return found


def clean(text: str) -> str:
    """One space between words, NFC (macOS stores ``é`` decomposed), no edge dashes, and
    a library-sorted ``Matrix, The`` turned back into ``The Matrix`` as TMDB spells it."""
    text = unicodedata.normalize("NFC", " ".join(text.split())).strip(" -")
    article = _TRAILING_ARTICLE.match(text)
    return f"{article.group('article')} {article.group('rest')}" if article else text


@functools.cache
def _guessit() -> Callable[..., Any]:
    """Import guessit on first use: the fast path and CLI start-up never pay for it."""
    from guessit import guessit

    return guessit


def _text(value: object, joiner: str = " ") -> str:
    if isinstance(value, list):
        return joiner.join(str(item) for item in value)
    return value if isinstance(value, str) else ""


def _restore_eaten_word(text: str, title: str, found: dict[str, Any]) -> str:
    """Put back a title word guessit took as a tag right after the title.

    ``Shomin Sample`` is a show, not a sample; lower-case ``the.last.of.us`` ends with a
    word, not the country US (upper-case ``US`` stays a country).
    """
    other = found.get("other")
    others = other if isinstance(other, list) else [other]
    if not title or ("Sample" not in others and "country" not in found):
        return title
    words = r"[ ._-]+".join(re.escape(word) for word in title.split())
    match = re.search(words + _EATEN_WORD, text)
    return f"{title} {match.group(1)}" if match else title


def _numeric_title(text: str, title: str, year: int | None) -> tuple[str, int | None]:
    """Repair titles guessit read as a year or a tag.

    A year in parentheses is always a year; a bare leading one is the title's (``1917``,
    ``2001 A Space Odyssey``).  A title that is one tag word (``Cam (2018)``, ``HD``,
    ``Remastered``) is what the user typed before the year.
    """
    if year is not None and f"({year})" not in text:
        if not title:
            return str(year), None
        if text.startswith(str(year)) and not title.startswith(str(year)):
            return f"{year} {title}", None
    if not title:
        named = _NAMED.match(text)
        if named:
            return named.group("title"), year
        bare = re.sub(r"\((?:19|20)\d{2}\)", "", text).strip(" ._-")
        if _NUMERIC.fullmatch(bare):
            return bare, year
    return title, year
