"""Plausible titles for the synthetic library (used by genlib.py).

Words that are themselves naming rules (sample, trailer, extra, season, special, scene,
short, clip, other, ...) are left out on purpose: a generated title must never trip an ignore
rule by accident, so the generator's "expected" counts stay exact.  A few non-ASCII words make
sure unicode titles show up (accents, Cyrillic, Greek, CJK).
"""

from __future__ import annotations

import random


def _split(text: str) -> tuple[str, ...]:
    return tuple(text.split())


WORDS = _split(
    """
    shadow river night city dark light last first lost silent broken golden iron crimson winter
    summer autumn spring storm fire ice stone glass paper blood bone heart soul mind king queen
    prince empire kingdom house castle tower bridge road street harbor island mountain valley
    forest desert ocean sea lake star moon sun sky planet galaxy machine ghost angel devil
    hunter killer soldier doctor detective stranger lover friend brother sister mother father
    daughter son widow orphan captain pilot driver runner dancer singer secret promise lie
    truth memory dream nightmare echo whisper scream silence thunder rain wind dust smoke ash
    gold silver diamond ruby raven wolf fox lion tiger dragon snake eagle hawk falcon spider
    horse bear shark whale code signal protocol mission project operation agent spy cipher
    vector zero infinite eternal final hidden forgotten fallen rising burning frozen wild
    savage gentle quiet loud fast slow high deep cold warm midnight dawn dusk twilight morning
    evening tomorrow yesterday forever never always paradise inferno heaven haven garden
    orchard vineyard harvest hollow creek canyon ridge summit border frontier colony station
    outpost beacon lantern compass anchor voyage journey escape return revenge justice honor
    glory legacy dynasty republic revolution rebellion conspiracy betrayal redemption salvation
    obsession illusion paradox labyrinth mirror portrait letter diary chronicle legend myth
    saga ballad symphony requiem waltz tango carnival circus theater museum library hotel motel
    diner highway railway subway airport hospital prison academy school college office factory
    amélie café niño über señor zoë façade naïve été ångström москва ζωή 東京 夜 桜
    """
)

GROUPS = ("SPARKS", "GECKOS", "AMIABLE", "DRONES", "FGT", "NTb", "FLUX", "CMRG", "ROVERS", "W4F")
QUALITY = ("720p", "1080p", "1080p", "2160p")
SOURCE = ("BluRay", "WEB-DL", "WEBRip", "HDTV", "BDRip")
CODEC = ("x264", "x265", "H.264", "HEVC")


def _words(rng: random.Random, low: int, high: int) -> str:
    picked = [rng.choice(WORDS) for _ in range(rng.randint(low, high))]
    return " ".join(word[0].upper() + word[1:] for word in picked)


def movie_title(rng: random.Random, used: set[str]) -> tuple[str, int]:
    """A title and year not handed out before (``used`` holds ``"Title (Year)"``)."""
    while True:
        title = _words(rng, 1, 3)
        roll = rng.random()
        if roll < 0.12:
            title = "The " + title
        elif roll < 0.15:
            title = title.replace(" ", " & ", 1) if " " in title else title + "'s Return"
        year = rng.randint(1925, 2025)
        key = f"{title} ({year})"
        if key not in used:
            used.add(key)
            return title, year


def episode_title(rng: random.Random) -> str:
    return _words(rng, 1, 4)


def scene_name(rng: random.Random, title: str, year: int) -> str:
    """``Title.Of.Movie.2010.1080p.BluRay.x264-GROUP``, as release groups name folders."""
    dotted = ".".join(title.replace("&", "and").replace("'", "").split())
    parts = (dotted, str(year), rng.choice(QUALITY), rng.choice(SOURCE), rng.choice(CODEC))
    return ".".join(parts) + "-" + rng.choice(GROUPS)
