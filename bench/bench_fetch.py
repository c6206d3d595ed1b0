"""Fetch benchmark: request counts, budget utilisation and throughput of ``scanarr scan``.

    python bench/bench_fetch.py [--movies 2000] [--workers 16] [--jitter-ms 0]
                                [--throughput-movies 1000] [--parts 1,2,3] [--keep]

Everything runs against the fake TMDB (tests/fakes) in its own process on 127.0.0.1, and
every scan is the real CLI process (``python -m sidecar scan``), so the figures are what a
user gets.  Requests are counted by the *server*.

1. **Requests per item** for each naming case: movie with / without an id tag, show with up
   to 14 seasons on disk (with / without a tag), shows with more seasons, episodes added to a
   season already fetched (and, for reference, to a season not fetched yet).  The
   ``/configuration`` request (one per process, cached) is left out of the per-item counts.
2. **Budget utilisation**: ``scan --mode full`` of ``--movies`` new untagged movies (search +
   details each) with a budget of 40 requests/s (``SCANARR_RATE_LIMIT=40``,
   ``SCANARR_RATE_WINDOW=1``) against a fake answering in 100 ms that itself allows 40 per
   rolling second (any overshoot is a 429).  Goals: wall time <= 1.15x the floor
   (requests / 40), zero 429s, at most 40 in any rolling second.
3. **Throughput without the budget** (fake unlimited, no latency, budget 10,000/s): items/s of
   the CLI, then the same scan in-process on one thread under cProfile: time per phase and
   the functions with the most time of their own.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import fetchprofile  # noqa: E402
from fetchlib import (  # noqa: E402
    Scanarr,
    api_kinds,
    fetch_span,
    make_movies,
    make_show,
    table,
    titles,
)
from scratch import scratch_dir  # noqa: E402

from tests.fakes.tmdb_process import FakeTmdbProcess  # noqa: E402

BUDGET = 40
# The highest budget the settings allow: 1000 per 0.1 s = 10,000 requests/s.
UNLIMITED = {"SCANARR_RATE_LIMIT": "1000", "SCANARR_RATE_WINDOW": "0.1", "SCANARR_WORKERS": "4"}
Row = tuple[str, int, int, str, str, str, str]


def install(fake: FakeTmdbProcess, base: Path, **settings: str) -> Scanarr:
    root = base / "lib"
    root.mkdir(parents=True, exist_ok=True)
    return Scanarr(base / "data", (root,), fake.url, fake.api_key, {**UNLIMITED, **settings})


def measured(fake: FakeTmdbProcess, app: Scanarr, label: str, items: int, expected: str,
             *scan_args: str) -> Row:
    """Scan with a cleared request log; one table row."""
    fake.reset()
    app.scan(*scan_args)
    kinds = api_kinds(fake.stats())
    total = sum(kinds.values())
    counts = app.counts()
    outcome = f"INDEXED {counts.get('INDEXED', 0)}, ERROR {counts.get('ERROR', 0)}"
    detail = " ".join(f"{k}={v}" for k, v in sorted(kinds.items())) or "-"
    return (label, items, total, f"{total / items:.2f}", expected, detail, outcome)


# --- part 1 -------------------------------------------------------------------------------


def part1(tmp: Path) -> None:
    print("\n== 1. API requests per item (counted by the fake server) ==")
    rows: list[Row] = []
    with FakeTmdbProcess.spawn("--rate-limit", "0", "--auto-seasons", "40") as fake:
        for tagged, expected in ((True, "1"), (False, "2")):
            app = install(fake, tmp / f"movies-{tagged}")
            n = make_movies(app.roots[0], 20, tagged=tagged)
            label = "movie, id tag" if tagged else "movie, no id tag"
            rows.append(measured(fake, app, label, n, expected))
        rows += small_shows(fake, tmp)
        for seasons in (15, 20, 34, 35, 40):
            app = install(fake, tmp / f"big-{seasons}")
            make_show(app.roots[0], titles(1, seasons)[0], range(1, seasons + 1), (1,))
            expected = str(2 + math.ceil((seasons - 14) / 20))
            rows.append(measured(fake, app, f"show, {seasons} seasons on disk", 1, expected))
    header = ("scenario", "items", "requests", "requests/item", "expected", "by kind", "states")
    print(table(list(rows), header))
    print("items = movies, shows, or added episode files.  One /configuration request per"
          " scanarr process (cached) is not counted.  Shows > 14 seasons: expected = search"
          " + 1 + ceil((S - 14) / 20), since TMDB takes 20 appends per request.")


def small_shows(fake: FakeTmdbProcess, tmp: Path) -> list[Row]:
    """Shows with 1..14 seasons, tagged and not; then episodes added to fetched seasons."""
    sizes = (1, 3, 7, 10, 14)
    rows: list[Row] = []
    tagged = install(fake, tmp / "shows-tagged")
    for i, (name, s) in enumerate(zip(titles(len(sizes), 7), sizes, strict=True)):
        make_show(tagged.roots[0], name, range(1, s + 1), (1, 2), tmdb_id=700_000 + i)
    rows.append(measured(fake, tagged, "show <=14 seasons, id tag", len(sizes), "1"))
    app = install(fake, tmp / "shows")
    names = titles(len(sizes), 8)
    for name, s in zip(names, sizes, strict=True):
        make_show(app.roots[0], name, range(1, s + 1), (1, 2))
    rows.append(measured(fake, app, "show <=14 seasons (1,3,7,10,14), no tag", len(sizes), "2"))
    added = sum(make_show(app.roots[0], name, (1,), (3, 4, 5)) for name in names)
    rows.append(measured(fake, app, "extra episodes of a fetched season", added, "0"))
    added = sum(make_show(app.roots[0], name, (s + 1,), (1, 2))
                for name, s in zip(names, sizes, strict=True))
    rows.append(measured(fake, app, f"(ref) a new season ({added} files) on each show",
                         len(sizes), "1"))
    return rows


# --- part 2 -------------------------------------------------------------------------------


def part2(tmp: Path, movies: int, workers: int, jitter_ms: float = 0.0) -> None:
    print(f"\n== 2. Budget utilisation: full scan of {movies} new movies, budget {BUDGET}/s ==")
    fake_args = ("--rate-limit", str(BUDGET), "--rate-window", "1", "--latency-ms", "100",
                 "--jitter-ms", str(jitter_ms))
    with FakeTmdbProcess.spawn(*fake_args) as fake:
        app = install(fake, tmp / "budget", SCANARR_RATE_LIMIT=str(BUDGET),
                      SCANARR_RATE_WINDOW="1", SCANARR_WORKERS=str(workers))
        make_movies(app.roots[0], movies, tagged=False, seed=2)
        line, wall = app.scan("--mode", "full")
        stats = fake.stats(window=1.0)
        span = fetch_span(fake.requests())
        counts = app.counts()
    requests = stats["api_requests"]
    floor = requests / BUDGET
    print(f"fake: {BUDGET} requests per rolling 1 s, 100 ms latency on every answer"
          f" (+ 0..{jitter_ms:g} ms jitter); SCANARR_WORKERS={workers}")
    print(f"scan summary: {line}")
    print(f"states: {counts}")
    print(f"requests: {requests} API ({stats['by_kind']}), {stats['image_requests']} images")
    print(f"wall time (whole process): {wall:.1f} s")
    print(f"fetch span (first API request -> last answer, server clock): {span:.1f} s")
    print(f"floor = requests / {BUDGET}: {floor:.1f} s")
    print(f"ratio wall / floor: {wall / floor:.3f}x  (goal <= 1.15x)")
    print(f"ratio fetch span / floor: {span / floor:.3f}x")
    print(f"429s: {stats['rate_limited']}  (goal 0)")
    print(f"max API requests in any rolling 1 s: {stats['max_in_window']}  (goal <= {BUDGET})")
    ceiling = BUDGET / (1 + 0.1 + jitter_ms / 2000)
    print(f"design ceiling: a request holds its budget slot from its start until 1 s after its"
          f" answer, so at the mean latency the best sustained rate is {ceiling:.1f}/s"
          f" (ratio {BUDGET / ceiling:.3f}x)")
    print(f"achieved API rate over the fetch span: {requests / span:.1f}/s; max in flight "
          f"{stats['max_in_flight']} API, {stats['max_in_flight_images']} images; "
          f"connections opened {stats['connections_opened']}")


# --- part 3 -------------------------------------------------------------------------------


def part3(tmp: Path, movies: int, worker_counts: list[int]) -> None:
    print(f"\n== 3. Throughput without the budget: {movies} new movies, fake unlimited, "
          "no latency ==")
    with FakeTmdbProcess.spawn("--rate-limit", "0") as fake:
        rows = []
        for workers in worker_counts:
            app = install(fake, tmp / f"free-{workers}", SCANARR_WORKERS=str(workers))
            make_movies(app.roots[0], movies, tagged=False, seed=3)
            fake.reset()
            _, wall = app.scan("--mode", "full")
            span = fetch_span(fake.requests())
            rows.append((workers, f"{wall:.1f}", f"{movies / wall:.1f}", f"{span:.1f}",
                         f"{movies / span:.1f}", str(app.counts())))
        print(table(rows, ("workers", "wall s", "items/s", "fetch s", "items/s (fetch)",
                           "states")))
        app = install(fake, tmp / "profiled")
        make_movies(app.roots[0], movies, tagged=False, seed=4)
        seconds, items, stats = fetchprofile.profiled_scan(app.env())
    print(f"\nin-process, one thread, under cProfile: {items} items in {seconds:.1f} s "
          f"({items / seconds:.1f} items/s with profiler overhead)")
    print(table(fetchprofile.phase_rows(stats, seconds, items),
                ("phase (cumulative; indented = part of the line above)", "s", "share",
                 "ms/item")))
    print("\ntop own-time functions:")
    print(table(fetchprofile.top_own(stats), ("function", "calls", "own s", "cumulative s")))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--movies", type=int, default=2000, help="part 2 library size")
    parser.add_argument("--workers", type=int, default=16, help="part 2 SCANARR_WORKERS")
    parser.add_argument("--jitter-ms", type=float, default=0.0,
                        help="part 2: random extra latency per answer (answers out of order)")
    parser.add_argument("--throughput-movies", type=int, default=1000, help="part 3 size")
    parser.add_argument("--throughput-workers", default="4,16", help="part 3 worker counts")
    parser.add_argument("--parts", default="1,2,3")
    parser.add_argument("--keep", action="store_true", help="keep the temporary libraries")
    args = parser.parse_args(argv)
    parts = {p.strip() for p in args.parts.split(",")}
    with scratch_dir("scanarr-bench-fetch-", keep=args.keep) as tmp:
        if "1" in parts:
            part1(tmp / "p1")
        if "2" in parts:
            part2(tmp / "p2", args.movies, args.workers, args.jitter_ms)
        if "3" in parts:
            workers = [int(w) for w in args.throughput_workers.split(",")]
            part3(tmp / "p3", args.throughput_movies, workers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
