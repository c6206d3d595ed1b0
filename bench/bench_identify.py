"""identify() throughput: the regex fast path against the guessit path, in the same run.

    python bench/bench_identify.py [--names 5000] [--scene 500] [--sample 400] [--rounds 3]

Generates ``--names`` paths that follow the Plex/Jellyfin conventions (movie folders with
id tags, versions and parts; shows with seasons, specials, multi-episode and date-based
files) and ``--scene`` release names, then prints names/s for:

* ``identify``        what the scanner calls: fast path, guessit only when a name needs it
* ``guessit path``    ``_guessit_identify``: every title read by guessit, its cache cleared
                      before each name (the cost without the fast path), on ``--sample`` names
* ``scene names``     ``identify`` on release names, which mostly fall back to guessit

and the ratio of the first two.  The guessit sample and the scene names are also a
correctness check: every name the fast path answered must get the same Guess from guessit
(titles compared as a search engine sees them); disagreements are printed.  Timings are
medians over rounds; the guessit rates are single rounds (they take seconds).
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sidecar import titleparse
from sidecar.identify import Guess, _fast_identify, _guessit_identify, identify

MOVIE_ROOT, TV_ROOT = "/media/Movies", "/media/TV"
ROOTS = (MOVIE_ROOT, TV_ROOT)
TITLES = (
    "Inception", "The Dark Knight", "Blade Runner 2049", "1917", "2012", "Amélie", "Léon",
    "Fahrenheit 451", "Dune Part Two", "Harry Potter and the Deathly Hallows Part 1",
    "2001 A Space Odyssey", "Ocean's Eleven", "Mr. Smith Goes to Washington", "Se7en",
    "Spider-Man Across the Spider-Verse", "WALL·E", "Crouching Tiger, Hidden Dragon",
    "千と千尋の神隠し", "Les Misérables", "The Lord of the Rings The Two Towers", "Up", "It",
    "Kill Bill Vol. 1", "Back to the Future Part II", "Airplane!", "Das Boot", "Heat",
)  # fmt: skip
SHOWS = (
    "Breaking Bad", "The Office", "Doctor Who", "9-1-1", "24", "The 100", "Dark", "Sherlock",
    "Game of Thrones", "Marvel's Agents of S.H.I.E.L.D.", "Law & Order", "Shomin Sample",
    "La Casa de Papel", "The Last of Us", "Severance", "House of the Dragon", "Frasier",
)  # fmt: skip
WORDS = (
    "night", "shadow", "river", "king", "queen", "last", "first", "city", "dark", "light",
    "storm", "iron", "glass", "silent", "broken", "golden", "winter", "summer", "empire",
    "garden", "secret", "lost", "house", "road", "star", "ocean", "fire", "dream", "ghost",
    "hunter", "machine", "island", "mountain", "letter", "promise", "memory", "stranger",
)  # fmt: skip
LABELS = ("1080p", "2160p", "720p", "SD", "4K HDR", "[1080p]", "Director's Cut")
TAGS = ("", "", " {tmdb-%d}", " [tmdbid-%d]", " {imdb-tt%07d}", " [imdbid-tt%07d]")


def convention_paths(count: int, rng: random.Random) -> list[str]:
    """Names laid out as the Plex and Jellyfin guides ask (half movies, half episodes)."""
    return [(_movie if i % 2 else _episode)(rng) for i in range(count)]


def _title(rng: random.Random, pool: Sequence[str]) -> str:
    if rng.random() < 0.3:
        return rng.choice(pool)
    return " ".join(rng.sample(WORDS, rng.randint(1, 4))).title()


def _tag(rng: random.Random) -> str:
    tag = rng.choice(TAGS)
    return tag % rng.randint(1, 9_999_999) if "%" in tag else tag


def _movie(rng: random.Random) -> str:
    name = f"{_title(rng, TITLES)} ({rng.randint(1920, 2025)}){_tag(rng)}"
    ext = rng.choice(("mkv", "mp4", "avi", "m4v"))
    roll = rng.random()
    if roll < 0.1:
        return f"{MOVIE_ROOT}/{name}.{ext}"
    if roll < 0.25:
        return f"{MOVIE_ROOT}/{name}/{name} - {rng.choice(LABELS)}.{ext}"
    if roll < 0.35:
        return f"{MOVIE_ROOT}/{name}/{name}-cd{rng.randint(1, 3)}.{ext}"
    return f"{MOVIE_ROOT}/{name}/{name}.{ext}"


def _episode(rng: random.Random) -> str:
    show = _title(rng, SHOWS)
    folder = show + (f" ({rng.randint(1960, 2025)})" if rng.random() < 0.6 else "") + _tag(rng)
    season, episode = rng.randint(0, 12), rng.randint(1, 24)
    marker = f"S{season:02d}E{episode:02d}"
    roll = rng.random()
    if roll < 0.08:
        marker += f"-E{episode + 1:02d}"
    elif roll < 0.13:
        marker = f"{rng.randint(2000, 2024)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    file = f"{show} - {marker} - {_title(rng, ('Pilot', 'Finale'))}.mkv"
    if rng.random() < 0.1:
        return f"{TV_ROOT}/{folder}/{file}"
    season_dir = "Specials" if season == 0 and rng.random() < 0.5 else f"Season {season:02d}"
    return f"{TV_ROOT}/{folder}/{season_dir}/{file}"


def scene_paths(count: int, rng: random.Random) -> list[str]:
    """Release names as downloaders leave them: dots, sources, codecs, groups."""
    paths = []
    for i in range(count):
        group = rng.choice(("GRP", "SPARKS", "NTb", "FLUX", "[YTS.MX]"))
        quality = rng.choice(("1080p.BluRay.x264", "2160p.WEB-DL.DDP5.1.HDR.HEVC", "720p.HDTV"))
        if i % 2:
            title = _title(rng, TITLES).replace(" ", ".")
            paths.append(f"{MOVIE_ROOT}/{title}.{rng.randint(1950, 2025)}.{quality}-{group}.mkv")
        else:
            show = _title(rng, SHOWS).replace(" ", ".")
            marker = f"S{rng.randint(1, 9):02d}E{rng.randint(1, 20):02d}"
            paths.append(f"{TV_ROOT}/{show}.{marker}.{quality}-{group}.mkv")
    return paths


def rate(paths: Sequence[str], parse: Callable[[str], object], rounds: int) -> float:
    """Median names/s of ``parse`` over ``paths``."""
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        for path in paths:
            parse(path)
        times.append(time.perf_counter() - started)
    return len(paths) / statistics.median(times)


def uncached_guessit(path: str) -> Guess:
    """The guessit path as it costs with no repeated show folders to cache."""
    titleparse._guessit_cached.cache_clear()
    return _guessit_identify(path, ROOTS)


def search_form(guess: Guess) -> Guess:
    def key(text: str) -> str:
        return " ".join(re.sub(r"[\W_]+", " ", text).casefold().split())

    alternative = guess.alternative_title
    return replace(
        guess, title=key(guess.title), alternative_title=alternative and key(alternative)
    )


def disagreements(paths: Sequence[str]) -> tuple[int, list[str]]:
    """How many fast answers guessit contradicts, and the first few."""
    checked, found = 0, []
    for path in paths:
        fast = _fast_identify(path, ROOTS)
        if fast is None:
            continue
        checked += 1
        slow = _guessit_identify(path, ROOTS)
        if search_form(fast) != search_form(slow):
            found.append(f"{path}\n    fast:    {fast}\n    guessit: {slow}")
    return checked, found


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--names", type=int, default=5000, help="convention-following names")
    parser.add_argument("--scene", type=int, default=500, help="scene release names")
    parser.add_argument("--sample", type=int, default=400, help="names timed on the guessit path")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    rng = random.Random(args.seed)
    tidy, scene = convention_paths(args.names, rng), scene_paths(args.scene, rng)
    sample = rng.sample(tidy, min(args.sample, len(tidy)))
    identify("/warm/Up.2009.1080p.mkv")  # guessit builds its rules on first use (~0.1 s)

    fast_share = sum(_fast_identify(p, ROOTS) is not None for p in tidy) / len(tidy)
    fast = rate(tidy, lambda p: identify(p, roots=ROOTS), args.rounds)
    slow = rate(sample, uncached_guessit, 1)
    scene_share = sum(_fast_identify(p, ROOTS) is not None for p in scene) / max(len(scene), 1)
    titleparse._guessit_cached.cache_clear()
    scene_rate = rate(scene, lambda p: identify(p, roots=ROOTS), 1)

    print(f"convention names   {len(tidy):>6}  fast-path share {fast_share:6.1%}")
    print(f"  identify         {fast:>10,.0f} names/s  ({1e6 / fast:7.1f} µs/name)")
    print(f"  guessit path     {slow:>10,.0f} names/s  ({1e6 / slow:7.1f} µs/name)", end="")
    print(f"  on {len(sample)} of them")
    print(f"  ratio            {fast / slow:>10,.1f} x")
    print(f"scene names        {len(scene):>6}  fast-path share {scene_share:6.1%}")
    print(f"  identify         {scene_rate:>10,.0f} names/s  ({1e6 / scene_rate:7.1f} µs/name)")
    checked, found = disagreements([*sample, *scene])
    print(f"agreement          {checked - len(found)}/{checked} fast answers match guessit")
    for text in found[:5]:
        print("  " + text)


if __name__ == "__main__":
    main()
