"""Helpers for bench_fetch.py: synthetic libraries, the real ``scanarr`` process, the fake.

Kept apart from the benchmark so bench_fetch.py reads as the list of measurements it makes.
Libraries are tiny empty files with an old mtime (well outside the settle window), named the
way users name them, so the walker, identify and matcher run exactly as in production.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genwords import movie_title

REPO = Path(__file__).resolve().parent.parent
OLD = 1_600_000_000  # mtime of every generated video: long settled


def touch(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    os.utime(path, (OLD, OLD))


def titles(count: int, seed: int) -> list[str]:
    """``count`` distinct plausible "Title (Year)" names."""
    rng, used = random.Random(seed), set[str]()
    return [f"{t} ({y})" for t, y in (movie_title(rng, used) for _ in range(count))]


def make_movies(root: Path, count: int, *, tagged: bool, seed: int = 1) -> int:
    """``count`` movies, each alone in its folder; ``tagged`` adds a ``{tmdb-N}`` id tag."""
    for index, name in enumerate(titles(count, seed)):
        folder = f"{name} {{tmdb-{500_000 + index}}}" if tagged else name
        touch(root / folder / f"{name}.mkv")
    return count


def make_show(root: Path, name: str, seasons: Iterable[int], episodes: Iterable[int],
              *, tmdb_id: int | None = None) -> int:
    """One show folder with ``episodes`` of every season in ``seasons``; returns the files."""
    folder = root / (f"{name} {{tmdb-{tmdb_id}}}" if tmdb_id else name)
    made = 0
    for s in seasons:
        for e in episodes:
            touch(folder / f"Season {s:02d}" / f"{name} - S{s:02d}E{e:02d}.mkv")
            made += 1
    return made


@dataclass
class Scanarr:
    """One Scanarr installation (data dir + library roots) driven as a user drives it."""

    data_dir: Path
    roots: tuple[Path, ...]
    fake_url: str
    api_key: str
    settings: Mapping[str, str]

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SCANARR_")}
        env.update({
            "SCANARR_DATA_DIR": str(self.data_dir),
            "SCANARR_LIBRARIES": os.pathsep.join(str(r) for r in self.roots),
            "SCANARR_TMDB_API_URL": self.fake_url,
            "SCANARR_TMDB_API_KEY": self.api_key,
            **self.settings,
        })
        return env

    def run(self, *args: str, timeout: float = 3600) -> tuple[subprocess.CompletedProcess[str],
                                                              float]:
        """``python -m sidecar ARGS`` to completion; the result and its wall time."""
        started = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", "sidecar", *args], env=self.env(),
                                cwd=REPO, capture_output=True, text=True, timeout=timeout,
                                stdin=subprocess.DEVNULL)
        seconds = time.perf_counter() - started
        if result.returncode != 0:
            raise RuntimeError(f"scanarr {' '.join(args)} failed: {result.stderr[-2000:]}")
        return result, seconds

    def scan(self, *args: str) -> tuple[str, float]:
        """A scan; its summary line (last stderr line) and wall time."""
        result, seconds = self.run("scan", *args)
        lines = result.stderr.strip().splitlines()
        return (lines[-1] if lines else ""), seconds

    def counts(self) -> dict[str, int]:
        result, _ = self.run("status", "--json")
        report: dict[str, Any] = json.loads(result.stdout)
        return {k: v for k, v in report["counts"].items() if v}


def api_kinds(stats: Mapping[str, Any]) -> dict[str, int]:
    """Requests by kind as the fake counted them, without the once-per-process /configuration."""
    return {k: v for k, v in stats["by_kind"].items() if k != "configuration"}


def fetch_span(records: list[dict[str, Any]]) -> float:
    """Seconds from the first API request's arrival to the last answer sent (API or image),
    on the server's clock: the fetch phase, without process start-up and the walk."""
    api = [r for r in records if r["kind"] not in ("image", "configuration")]
    if not api:
        return 0.0
    first = min(r["t"] for r in api)
    last = max(r["t"] + r["duration_ms"] / 1000 for r in records)
    return float(last - first)


def table(rows: list[tuple[Any, ...]], header: tuple[str, ...]) -> str:
    """A plain fixed-width table."""
    cells = [tuple(str(c) for c in header)] + [tuple(str(c) for c in r) for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
