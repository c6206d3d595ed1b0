"""Where a scan's time goes: the same scan as ``scanarr scan --mode full``, in-process,
on one thread, under cProfile (used by bench_fetch.py part 3).

One thread because cProfile sees only the thread that enables it: the worker pool would hide
all the work.  The code path is the real one (``Scanner.scan``, ``Engine.enqueue_all``,
``Worker.process`` on each job); only the thread hand-off is skipped.
"""

from __future__ import annotations

import cProfile
import pstats
import time
from collections.abc import Mapping
from typing import Any

from sidecar.app import build_app, open_store
from sidecar.workqueue import Priority

# (label, where, function name): ``where`` is a piece of the defining file's path ("sidecar/"
# = anywhere in the package, so a helper moved between modules is still found).  Cumulative
# times, so phases nest (indented = part of the line above).
STATE_ROW = "state updates (StateStore calls from Worker)"
PHASES = (
    ("walk + identify (Scanner.scan)", "sidecar/scanner.py", "scan"),
    ("match / search (matcher.match)", "sidecar/matcher.py", "match"),
    ("details fetch (TmdbClient.movie)", "sidecar/tmdb.py", "movie"),
    ("  of which: content hash (tmdbhttp.content_hash)", "sidecar/", "content_hash"),
    ("document build (metadata.movie_document)", "sidecar/", "movie_document"),
    ("files beside media (Writer.write_movie)", "sidecar/writer.py", "write_movie"),
    ("  of which: image download (download_image)", "sidecar/tmdb.py", "download_image"),
    ("  of which: schema validation (validate_document)", "sidecar/", "validate_document"),
    ("  of which: file writes (atomic_write: temp, fsync, rename)", "sidecar/", "atomic_write"),
    ("  of which: compare with existing (_same_document)", "sidecar/", "_same_document"),
    ("  fsync, files and folders (os.fsync)", "~", "<built-in method posix.fsync>"),
    (STATE_ROW, "", ""),
    ("all HTTP round trips, API + images (requests Session.get)", "requests/sessions.py", "get"),
    ("  of which: proxy lookup in the environment (get_environ_proxies)", "requests/utils.py",
     "get_environ_proxies"),
)


def profiled_scan(env: Mapping[str, str]) -> tuple[float, int, pstats.Stats]:
    """Run the scan; (wall seconds, items finished, profile)."""
    store, settings = open_store(dict(env))
    app = build_app(settings, store)
    profile = cProfile.Profile()
    started = time.perf_counter()
    profile.enable()
    app.scanner.scan("full", [])
    app.engine.enqueue_all(Priority.CRITICAL)
    while (job := app.engine.queue.get(timeout=0)) is not None:
        try:
            app.worker.process(job)
        finally:
            app.engine.queue.done(job)
    profile.disable()
    seconds = time.perf_counter() - started
    return seconds, app.worker.items_done, pstats.Stats(profile)


def _raw(stats: pstats.Stats) -> dict[tuple[str, int, str], Any]:
    raw: dict[tuple[str, int, str], Any] = stats.stats  # type: ignore[attr-defined]
    return raw


def cumulative(stats: pstats.Stats, where: str, name: str) -> float:
    """Cumulative seconds of every function ``name`` defined in a file whose path has
    ``where`` in it ("~" = built-ins)."""
    return sum(v[3] for (f, _, n), v in _raw(stats).items()
               if n == name and (f == where if where == "~" else where in _slashed(f)))


def state_seconds(stats: pstats.Stats) -> float:
    """Time in StateStore methods called straight from the worker (claim, mark_indexed, ...)."""
    total = 0.0
    for (f, _, _), value in _raw(stats).items():
        if not _slashed(f).endswith("sidecar/state.py"):
            continue
        for (caller, _, _), timing in value[4].items():
            if _slashed(caller).endswith("sidecar/worker.py"):
                total += timing[3]
    return total


def phase_rows(stats: pstats.Stats, seconds: float, items: int) -> list[tuple[str, ...]]:
    rows = [(label, state_seconds(stats) if label == STATE_ROW else cumulative(stats, where, name))
            for label, where, name in PHASES]
    return [(label, f"{t:.2f}", f"{100 * t / seconds:.0f}%", f"{1000 * t / max(items, 1):.2f}")
            for label, t in rows]


def top_own(stats: pstats.Stats, count: int = 15) -> list[tuple[str, ...]]:
    """The functions with the most time of their own (not counting callees)."""
    ranked = sorted(_raw(stats).items(), key=lambda kv: kv[1][2], reverse=True)[:count]
    rows: list[tuple[str, ...]] = []
    for (f, line, name), value in ranked:
        where = name if f == "~" else f"{_short(f)}:{line}({name})"
        rows.append((where, str(value[1]), f"{value[2]:.2f}", f"{value[3]:.2f}"))
    return rows


def _slashed(path: str) -> str:
    return path.replace("\\", "/")


def _short(path: str) -> str:
    return "/".join(_slashed(path).split("/")[-2:])
