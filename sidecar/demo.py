"""The built-in demo library: what ``scanarr scan`` walks when no library is configured.

Small empty files with the names real libraries have (Plex/Jellyfin conventions, id tags,
a scene name, multi-part, specials, junk that must be ignored), so a new user sees the
walker and the identifier at work before pointing Scanarr at their own folders.
"""

from __future__ import annotations

import os
import time

DEMO_FILES = (
    "Movies/Inception (2010)/Inception (2010).mkv",
    "Movies/Inception (2010)/Inception (2010).en.srt",
    "Movies/Blade Runner 2049 (2017) {tmdb-335984}/Blade Runner 2049 (2017) {tmdb-335984}.mkv",
    "Movies/1917 (2019)/1917 (2019) - 1080p.mkv",
    "Movies/1917 (2019)/1917 (2019) - 2160p.mkv",
    "Movies/Amélie (2001) [imdbid-tt0211915]/Amélie (2001) [imdbid-tt0211915].mp4",
    "Movies/Dune Part Two (2024)/Dune Part Two (2024).mkv",
    "Movies/Kill Bill (2003)/Kill Bill (2003) - cd1.avi",
    "Movies/Kill Bill (2003)/Kill Bill (2003) - cd2.avi",
    "Movies/The.Matrix.1999.1080p.BluRay.x264-GROUP.mkv",
    "Movies/Inception (2010)/Extras/Making of.mkv",
    "Movies/@eaDir/Inception (2010).mkv",
    "Movies/Heat (1995)/Heat (1995).mkv.part",
    "TV/Breaking Bad (2008) {tmdb-1396}/Season 01/Breaking Bad - S01E01 - Pilot.mkv",
    "TV/Breaking Bad (2008) {tmdb-1396}/Season 01/Breaking Bad - S01E02 - Cat's in the Bag.mkv",
    "TV/Breaking Bad (2008) {tmdb-1396}/Season 01/Breaking Bad - S01E03.mkv",
    "TV/Breaking Bad (2008) {tmdb-1396}/Specials/Breaking Bad - S00E01 - Good Cop Bad Cop.mkv",
    "TV/9-1-1 (2018)/Season 02/9-1-1 - S02E01E02 - 7.1.mkv",
    "TV/The Daily Show/Season 2024/The Daily Show - 2024-03-05 - Guest.mkv",
    "TV/.DS_Store",
)
# Old enough that the settle window (files still being copied) does not hold them back.
DEMO_MTIME = time.mktime((2024, 1, 1, 12, 0, 0, 0, 0, -1))


def ensure_demo_library(root: str) -> tuple[str, ...]:
    """Create the demo library under ``root`` once (idempotent); returns its two library
    roots, Movies and TV, kept apart as Plex and Jellyfin recommend."""
    for relative in DEMO_FILES:
        path = os.path.join(root, *relative.split("/"))
        if os.path.exists(path):
            continue
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb"):
            pass
        os.utime(path, (DEMO_MTIME, DEMO_MTIME))
    return (os.path.join(root, "Movies"), os.path.join(root, "TV"))
