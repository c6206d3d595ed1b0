"""What the walker keeps, attaches and ignores: every naming rule, in one table.

The sets are the union of what Jellyfin (``Emby.Naming`` ``NamingOptions``, ``IgnorePatterns``),
Plex (naming and extras articles) and Radarr (``DiskScanService``) skip, narrowed where those
tools are known to drop real media: Jellyfin's ``*sample*`` glob silently loses the show
"Shomin Sample" (jellyfin#17208), so here a sample needs the *token* ``sample`` **and** a small
size, and an extras folder name only counts inside a movie or show folder.

Everything here is pure (names and numbers in, booleans out) so each rule has a one-line test;
the walker in ``walker.py`` does the I/O.  Comparisons are case-insensitive because libraries
on SMB shares and NAS boxes mix case freely.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

# Jellyfin's VideoFileExtensions, minus the names that are far more often *not* a playable
# video in a library: .001 (split archives), .bin/.img/.nrg (generic disc images), .ifo
# (DVD index files: one per VIDEO_TS title set) and .ogg (usually audio).
VIDEO_EXTENSIONS: frozenset[str] = frozenset(
    {
        ".3g2", ".3gp", ".amv", ".asf", ".asx", ".avi", ".bivx", ".divx", ".dv", ".dvr-ms",
        ".f4v", ".fli", ".flv", ".iso", ".m2t", ".m2ts", ".m2v", ".m4v", ".mk3d", ".mkv", ".mov",
        ".mp4", ".mpe", ".mpeg", ".mpg", ".mts", ".mxf", ".nsv", ".nuv", ".ogm", ".ogv", ".pva",
        ".qt", ".rec", ".rm", ".rmvb", ".strm", ".svq3", ".tp", ".ts", ".ty", ".viv", ".vob",
        ".vp3", ".webm", ".wmv", ".wtv", ".xvid",
    }
)  # fmt: skip

# Jellyfin's SubtitleFileExtensions plus .idx (the index half of a VobSub .idx/.sub pair).
SUBTITLE_EXTENSIONS: frozenset[str] = frozenset(
    {".ass", ".idx", ".mks", ".sami", ".smi", ".srt", ".ssa", ".sub", ".sup", ".vtt"}
)

# Files attached to a video (MediaFile.sidecars) instead of being yielded on their own.
SIDECAR_EXTENSIONS: frozenset[str] = SUBTITLE_EXTENSIONS | {".nfo"}

# Suffixes downloaders put on files they are still writing.  ``Movie.mkv.part`` is never a
# video (its extension is .part), and ``Movie.mkv`` next to ``Movie.mkv.part`` or
# ``Movie.mkv.aria2`` is still being written, so it is skipped too.
PARTIAL_SUFFIXES: frozenset[str] = frozenset(
    {
        ".part", ".!qb", ".!ut", ".partial", ".partial~", ".crdownload", ".tmp", ".download",
        ".aria2", ".bts", ".sync",
    }
)  # fmt: skip

# Folders never entered, anywhere (NAS thumbnails and recycle bins, OS folders, Kodi/Plex
# artwork caches, Plex optimized versions, DVR temp folders, NAS snapshots that would
# otherwise duplicate the whole library).  Any name starting with "." is skipped as well,
# which covers .@__thumb, .actors, .grab, .Trash-1000, .snapshot, ...
JUNK_DIRS: frozenset[str] = frozenset(
    {
        "@eadir", "eadir", "#recycle", "@recycle", "$recycle.bin", "#snapshot",
        "@recently-snapshot", "system volume information", "lost+found", "extrafanart",
        "extrathumbs", "metadata", "plex versions", "temprec", "tempsbe",
    }
)  # fmt: skip

# Plex and Jellyfin extras folders.  Pruned only inside a media folder (one holding a video
# or a season folder): "Other/" or "Shorts/" at the top of a library is a category, not extras.
EXTRAS_DIRS: frozenset[str] = frozenset(
    {
        "extras", "trailers", "featurettes", "behind the scenes", "deleted scenes",
        "interviews", "scenes", "shorts", "other", "clips", "samples", "theme-music",
        "backdrops",
    }
)  # fmt: skip

# A folder holding one of these is skipped with everything below it (see marker_ignores_all).
IGNORE_MARKERS: frozenset[str] = frozenset({".ignore", ".plexignore", ".nomedia"})

# Radarr's rule of thumb: a real movie or episode is bigger than this; a sample is not.
SAMPLE_MAX_BYTES = 300 * 1024 * 1024

# Inline extras: Plex "-trailer", "-deleted1" (hyphen, no space, optional index) and
# Jellyfin's ".trailer" / "_trailer" / " trailer" variants.  A tuple for str.endswith: this
# runs once per video, so it is kept to C-speed string tests.
EXTRA_SUFFIXES: tuple[str, ...] = (
    "-trailer", ".trailer", "_trailer", " trailer", "-behindthescenes", "-deletedscene",
    "-deleted", "-featurette", "-interview", "-scene", "-short", "-other", "-clip", "-extra",
)  # fmt: skip
_EXTRA_STEMS = frozenset({"trailer", "theme"})
# "Show - S02E03 - Trailer.mkv" is an episode titled "Trailer", not an extra.
_EPISODE_MARK = re.compile(r"s\d{1,4}[ ._-]*e\d{1,4}|(?<!\d)\d{1,2}x\d{2,3}(?!\d)", re.IGNORECASE)
_SEASON_DIR = re.compile(
    r"^(?:season|saison|staffel|temporada|stagione|seizoen)[ ._-]*\d{1,4}(?!\d)"
    r"|^(?:s\d{1,4}|specials?)$",
    re.IGNORECASE,
)
_TOKEN_SPLIT = re.compile(r"[\W_]+")
_MATCH_ALL = frozenset({"*", "**", "*/*", "**/*", "/*", "/**"})


def extension(name: str) -> str:
    """Lower-cased last suffix with its dot (``".mkv"``), or ``""``; dot-files have none."""
    dot = name.rfind(".")
    return name[dot:].lower() if dot > 0 else ""


def is_junk_dir(name: str) -> bool:
    """Hidden, NAS, OS or cache folder that never holds library media."""
    return name.startswith(".") or name.casefold() in JUNK_DIRS


def is_extras_dir(name: str) -> bool:
    """A Plex/Jellyfin extras folder name (only meaningful inside a media folder)."""
    return name.casefold() in EXTRAS_DIRS


def is_season_dir(name: str) -> bool:
    """``Season 01``, ``S01``, ``Staffel 2``, ``Specials``: marks its parent as a show folder."""
    return _SEASON_DIR.match(name) is not None


def is_media_folder(has_video: bool, subdirs: Iterable[str]) -> bool:
    """A movie or show folder: holds a video or a season folder, so extras names apply."""
    return has_video or any(is_season_dir(name) for name in subdirs)


def is_extra_file(stem: str) -> bool:
    """``Movie-trailer``, ``Movie.trailer``, ``trailer``, ``Movie-deleted2``: not the feature.

    No size check, unlike samples: Plex and Jellyfin classify extras by name alone.  Names
    with an episode marker are never extras, so an episode titled "Trailer" survives.
    """
    lowered = stem.rstrip("0123456789").casefold()
    if lowered in _EXTRA_STEMS:
        return True
    return lowered.endswith(EXTRA_SUFFIXES) and _EPISODE_MARK.search(stem) is None


def is_sample(stem: str, parent: str, size: int, max_bytes: int = SAMPLE_MAX_BYTES) -> bool:
    """A scene sample: named like one **and** small.

    Named like one means ``sample`` is the first or last word of the file name
    (``sample.mkv``, ``movie-sample.mkv``, ``sample-grp-movie.mkv``) or the file sits in a
    ``Sample`` folder.  "Shomin Sample - 01.mkv" has the word in the middle, and a real
    episode of any size in a show called "... Sample" is kept.
    """
    if size >= max_bytes:
        return False
    if parent.casefold() == "sample":
        return True
    tokens = [token for token in _TOKEN_SPLIT.split(stem.casefold()) if token]
    return bool(tokens) and "sample" in (tokens[0], tokens[-1])


def marker_ignores_all(marker: str, text: str) -> bool:
    """Does this marker file exclude its whole folder?

    ``.nomedia`` always does (Android/Kodi).  ``.ignore`` does when empty (Jellyfin) and
    ``.plexignore`` does not when empty (Plex); both do when every pattern matches everything
    (``*``).  Other patterns (gitignore-style, per file) are not supported: the folder is
    kept, which at worst indexes something the host hides, rather than losing a library.
    """
    marker = marker.lower()
    if marker == ".nomedia":
        return True
    lines = (line.strip() for line in text.splitlines())
    patterns = [line for line in lines if line and not line.startswith("#")]
    if not patterns:
        return marker == ".ignore"
    return all(pattern in _MATCH_ALL for pattern in patterns)


def attach_sidecars(videos: Sequence[str], sidecars: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """Map each video name to the subtitle/NFO names that belong to it.

    A sidecar belongs to the video whose stem it starts with, followed by a dot
    (``Movie.en.forced.srt`` -> ``Movie.mkv``); the longest matching stem wins, so
    ``Movie.en.mkv`` keeps its own ``Movie.en.srt``.  A lone ``movie.nfo`` belongs to the only
    video in the folder (Kodi/Jellyfin convention).  Cost is per sidecar, not
    sidecars x videos, which matters in flat folders with thousands of files.
    """
    by_stem = {name[: name.rfind(".")].casefold(): name for name in videos if "." in name}
    attached: dict[str, list[str]] = {name: [] for name in videos}
    loose_nfo: list[str] = []
    for name in sorted(sidecars):
        key = name.casefold()
        pos = len(key)
        while (pos := key.rfind(".", 0, pos)) > 0:
            owner = by_stem.get(key[:pos])
            if owner is not None:
                attached[owner].append(name)
                break
        else:
            if key == "movie.nfo":
                loose_nfo.append(name)
    if len(videos) == 1:
        attached[videos[0]].extend(loose_nfo)
    return {name: tuple(found) for name, found in attached.items()}
