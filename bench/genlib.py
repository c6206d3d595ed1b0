"""Generate a realistic synthetic media library, fast and deterministic.

    python bench/genlib.py ROOT --files 100000 [--seed 1]

``--files`` is the number of *media* videos (what the walker should yield); junk, samples,
extras, partial downloads and sidecars come on top so every ignore rule is exercised.
Videos are sparse files (``ftruncate``), so a 20 GB movie costs an inode, not disk space.

Layout, roughly like a real Plex/Jellyfin box:

* ``Movies/`` (~45%): ``Title (Year)/Title (Year).mkv`` (some ``{tmdb-N}`` tags, subtitles,
  NFOs, artwork, ``-cd1``/``-cd2`` parts, ``- 1080p``/``- 2160p`` versions, Extras folders and
  ``-trailer`` files), scene-named release folders (some with a ``Sample/``), loose files in
  big shared folders, a top-level ``Other/`` category, partial downloads, NAS ``@eaDir``.
* ``TV/`` (~55%): ``Show (Year)/Season NN/Show (Year) - SxxEyy - Title.mkv`` with 1-10 seasons
  of 6-24 episodes, some ``Specials``, ``tvshow.nfo``, Extras, and the show "Shomin Sample"
  whose normal-size episodes must *not* be taken for samples.

Importable: ``plan()`` (what would be created, no disk), ``generate()``, ``touch_fraction()``,
``add_fraction()``, ``media_videos()``, ``video_names()``.  Titles are plausible (a word
list with a few non-ASCII words).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# Bench scripts run as plain scripts: their own folder is on sys.path, siblings import by name.
from genwords import episode_title, movie_title, scene_name

MiB = 1024 * 1024
GiB = 1024 * MiB


@dataclass(frozen=True, slots=True)
class Planned:
    """One file to create.  ``media`` says whether the walker should yield it."""

    rel: str
    size: int
    media: bool = False
    video: bool = False


@dataclass(slots=True)
class GenStats:
    videos: int = 0  # media videos: what a correct walker yields
    ignored_videos: int = 0  # video-extension files a correct walker skips
    other_files: int = 0  # sidecars, artwork, junk, partial downloads
    dirs: int = 0
    apparent_bytes: int = 0
    seconds: float = 0.0


def _video(rel: str, size: int) -> Planned:
    return Planned(rel, size, media=True, video=True)


def _ignored(rel: str, size: int) -> Planned:
    return Planned(rel, size, media=False, video=True)


def _movie_folder(rng: random.Random, title: str) -> Iterator[Planned]:
    """A movie in its own folder, with the extras real folders accumulate."""
    folder = title + (f" {{tmdb-{rng.randint(2, 1_200_000)}}}" if rng.random() < 0.15 else "")
    base = f"Movies/{folder}/{title}"
    ext = rng.choices([".mkv", ".mp4", ".avi"], [80, 15, 5])[0]
    roll = rng.random()
    if roll < 0.03:
        yield from (_video(f"{base} - cd{n}{ext}", rng.randint(700, 1400) * MiB) for n in (1, 2))
    elif roll < 0.05:
        yield _video(f"{base} - 1080p{ext}", rng.randint(4, 15) * GiB)
        yield _video(f"{base} - 2160p{ext}", rng.randint(15, 60) * GiB)
    else:
        yield _video(base + ext, rng.randint(700, 20_000) * MiB)
    yield from _movie_extras(rng, f"Movies/{folder}", base, ext)


def _movie_extras(rng: random.Random, folder: str, base: str, ext: str) -> Iterator[Planned]:
    if rng.random() < 0.30:
        yield Planned(f"{base}.en.srt", rng.randint(40, 120) * 1024)
    if rng.random() < 0.10:
        yield Planned(f"{base}.de.forced.srt", rng.randint(2, 20) * 1024)
    if rng.random() < 0.20:
        yield Planned(f"{base}.nfo" if rng.random() < 0.5 else f"{folder}/movie.nfo", 2048)
    if rng.random() < 0.15:
        yield from (Planned(f"{folder}/{art}", rng.randint(100, 900) * 1024)
                    for art in ("poster.jpg", "fanart.jpg"))  # fmt: skip
    if rng.random() < 0.04:
        extras = rng.choice(["Extras", "Featurettes", "Behind The Scenes", "Trailers"])
        for n in range(rng.randint(1, 3)):
            yield _ignored(f"{folder}/{extras}/Extra {n + 1}{ext}", rng.randint(30, 500) * MiB)
    if rng.random() < 0.03:
        yield _ignored(f"{base}-trailer{ext}", rng.randint(20, 200) * MiB)
    if rng.random() < 0.10:
        yield Planned(f"{folder}/.DS_Store", 6148)
    if rng.random() < 0.03:
        thumbs = f"{folder}/@eaDir/{os.path.basename(base)}{ext}"
        yield Planned(f"{thumbs}/SYNOVIDEO_VIDEO_SCREENSHOT.jpg", 20_000)


def _scene_release(rng: random.Random, title: str, year: int) -> Iterator[Planned]:
    name = scene_name(rng, title, year)
    yield _video(f"Movies/{name}/{name}.mkv", rng.randint(1500, 15_000) * MiB)
    yield Planned(f"Movies/{name}/{name}.nfo", 4096)
    if rng.random() < 0.4:
        group = name.rsplit("-", 1)[-1].lower()
        yield _ignored(f"Movies/{name}/Sample/{group}-{name[:12].lower()}-sample.mkv",
                       rng.randint(20, 90) * MiB)  # fmt: skip


def _movies(rng: random.Random, count: int, used: set[str]) -> Iterator[Planned]:
    """Movie entries until ``count`` media videos were planned."""
    made = 0
    loose = [f"Movies/{name}" for name in ("Unsorted", "Collection", "To Watch")]
    while made < count:
        title, year = movie_title(rng, used)
        roll = rng.random()
        if roll < 0.15:
            batch = list(_scene_release(rng, title, year))
        elif roll < 0.25:
            size = rng.randint(700, 9000) * MiB
            batch = [_video(f"{rng.choice(loose)}/{title} ({year}).mkv", size)]
        elif roll < 0.28:
            batch = [_video(f"Movies/Other/{title} ({year})/{title} ({year}).mkv", 2 * GiB)]
        elif roll < 0.283:
            batch = [Planned(f"Movies/{title} ({year})/{title} ({year}).mkv.part", 3 * GiB)]
        elif roll < 0.285:
            batch = [
                _ignored(f"Movies/{title} ({year})/{title} ({year}).mkv", 3 * GiB),
                Planned(f"Movies/{title} ({year})/{title} ({year}).mkv.aria2", 8192),
            ]
        else:
            batch = list(_movie_folder(rng, f"{title} ({year})"))
        for item in batch:
            made += item.media
            yield item


def _show(rng: random.Random, show: str, budget: int) -> Iterator[Planned]:
    """One show: seasons of episodes (at most ``budget`` media videos), specials, junk."""
    folder = show + (f" {{tmdb-{rng.randint(1, 250_000)}}}" if rng.random() < 0.2 else "")
    seasons = rng.choices(range(1, 11), [30, 18, 12, 10, 8, 7, 5, 4, 3, 3])[0]
    if rng.random() < 0.3:
        yield Planned(f"TV/{folder}/tvshow.nfo", 3000)
    if rng.random() < 0.05:
        yield _ignored(f"TV/{folder}/Extras/{show} - Making Of.mkv", 400 * MiB)
    numbers = ([0] if rng.random() < 0.10 else []) + list(range(1, seasons + 1))
    for season in numbers:
        label = "Specials" if season == 0 and rng.random() < 0.5 else f"Season {season:02d}"
        episodes = rng.randint(1, 4) if season == 0 else rng.randint(6, 24)
        if rng.random() < 0.05:
            yield Planned(f"TV/{folder}/{label}/@eaDir/Thumbs/SYNOPHOTO_THUMB_M.jpg", 9000)
        for episode in range(1, episodes + 1):
            if budget <= 0:
                return
            budget -= 1
            code = f"S{season:02d}E{episode:02d}"
            stem = f"TV/{folder}/{label}/{show} - {code} - {episode_title(rng)}"
            yield _video(stem + ".mkv", rng.randint(150, 4000) * MiB)
            if rng.random() < 0.2:
                yield Planned(stem + ".en.srt", 30_000)
            if rng.random() < 0.1:
                yield Planned(stem + ".nfo", 1500)


def _shows(rng: random.Random, count: int, used: set[str]) -> Iterator[Planned]:
    made = 0
    first = True
    while made < count:
        if first:  # jellyfin#17208: "Sample" in a show title must not lose the show
            show, first = "Shomin Sample (2015)", False
        else:
            title, year = movie_title(rng, used)
            show = f"{title} ({year})"
        for item in _show(rng, show, count - made):
            made += item.media
            yield item


def plan(files: int, seed: int = 1) -> Iterator[Planned]:
    """Everything ``generate`` would create, in creation order; no disk access."""
    rng = random.Random(seed)
    used: set[str] = set()
    movies = round(files * 0.45)
    yield from _movies(rng, movies, used)
    yield from _shows(rng, files - movies, used)


def video_names(files: int, seed: int = 1) -> Iterator[str]:
    """Relative paths of the media videos ``generate`` creates (for identify benchmarks)."""
    return (item.rel for item in plan(files, seed) if item.media)


def generate(root: Path, files: int, seed: int = 1) -> GenStats:
    """Create the library under ``root`` (must be empty or absent); return what was made."""
    started = time.perf_counter()
    stats = GenStats()
    made_dirs: set[str] = set()
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    for item in plan(files, seed):
        path = os.path.join(root, item.rel)
        parent = os.path.dirname(path)
        if parent not in made_dirs:
            os.makedirs(parent, exist_ok=True)
            made_dirs.add(parent)
        fd = os.open(path, flags, 0o644)
        try:
            os.ftruncate(fd, item.size)  # sparse: sizes look real, no blocks are used
        finally:
            os.close(fd)
        stats.videos += item.media
        stats.ignored_videos += item.video and not item.media
        stats.other_files += not item.video
        stats.apparent_bytes += item.size
    stats.dirs = sum(1 for _ in os.walk(root)) - 1
    stats.seconds = time.perf_counter() - started
    return stats


def media_videos(root: Path) -> list[str]:
    """Media videos under ``root`` as genlib names them (skips extras, samples, junk)."""
    skip_dirs = {"Extras", "Featurettes", "Behind The Scenes", "Trailers", "Sample"}
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in skip_dirs and d[0] not in "@.")
        names = set(filenames)
        for name in sorted(filenames):
            if (
                name.endswith((".mkv", ".mp4", ".avi"))
                and not name.endswith(("-trailer.mkv", "-trailer.mp4", "-trailer.avi"))
                and name + ".aria2" not in names
            ):
                found.append(os.path.join(dirpath, name))
    return found


def add_fraction(root: Path, fraction: float, seed: int = 1) -> list[str]:
    """Add a new version (``<name> - 2160p.mkv``, sparse, 8 GiB) beside ~``fraction`` of the
    media videos, as an import would; return the new paths.  Their folders' mtimes change."""
    videos = media_videos(root)
    rng = random.Random(seed)
    added = []
    for path in sorted(rng.sample(videos, round(len(videos) * fraction))):
        new = os.path.splitext(path)[0] + " - 2160p.mkv"
        if not os.path.exists(new):
            with open(new, "wb") as handle:
                handle.truncate(8 * GiB)
            added.append(new)
    return added


def touch_fraction(root: Path, fraction: float, seed: int = 1) -> list[str]:
    """Rewrite ~``fraction`` of the media videos *in place*; return their paths.

    Half grow by 1 MiB (size and mtime change), half only get a newer mtime.  Neither
    touches the folder's mtime, which is exactly what fast mode cannot see and full mode must.
    """
    videos = media_videos(root)
    rng = random.Random(seed)
    touched = sorted(rng.sample(videos, round(len(videos) * fraction)))
    for index, path in enumerate(touched):
        st = os.stat(path)
        if index % 2 == 0:
            os.truncate(path, st.st_size + MiB)
        else:
            later = st.st_mtime_ns + 1_000_000_000
            os.utime(path, ns=(st.st_atime_ns, later))
    return touched


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--files", type=int, default=100_000, help="media videos to create")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.root.exists() and any(args.root.iterdir()):
        parser.error(f"{args.root} is not empty")
    stats = generate(args.root, args.files, args.seed)
    print(
        f"{stats.videos} media videos, {stats.ignored_videos} ignorable videos, "
        f"{stats.other_files} other files, {stats.dirs} folders, "
        f"{stats.apparent_bytes / 1e12:.1f} TB apparent, in {stats.seconds:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
