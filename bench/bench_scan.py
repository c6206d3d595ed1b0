"""Quick-scan benchmark: the real Scanner against ``find`` on the same tree, in the same run.

    python bench/bench_scan.py [--files 100000] [--seed 1] [--root DIR] [--keep]

Generates a synthetic library (bench/genlib.py), runs a first scan (every file NEW and
identified), marks everything INDEXED (an indexed library), then measures, each scenario in
its own subprocess so its peak RSS is its own:

* ``find``            find ROOT -type f -printf '%p %T@ %s\\n' > /dev/null   (the baseline)
* ``quick-fast``      quick scan of the unchanged library, folder-mtime fast path
* ``quick-stat-pass`` quick scan of the unchanged library with the periodic full-stat pass
                      (every ``full_stat_hours``): the fast walk, then one stat per known file
* ``quick-listing``   quick scan that lists every folder and stats every video
                      (``trust_folder_mtimes=False``, and the walk of ``--mode full``)
* ``added-1%``        a new version beside 1% of the videos, quick scan (fast path: the
                      folder mtimes moved)
* ``touched-1%``      1% of the files rewritten in place, quick scan with the stat pass

Times are the scan call itself (imports and process start excluded) and, for reference, the
whole process.  Ratios are against ``find`` measured in the same run (median of rounds).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import genlib  # noqa: E402

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {repo!r})
from sidecar.scanner import Scanner
from sidecar.state import StateStore
store = StateStore({db!r})
scanner = Scanner(store, {roots!r}, settle_seconds=0, full_stat_hours={hours},
                  trust_folder_mtimes={trust})
started = time.perf_counter()
summary = scanner.scan("quick")
seconds = time.perf_counter() - started
if {index_all}:
    store.db.execute("UPDATE media_scan_state SET scan_state = 'INDEXED' "
                     "WHERE scan_state != 'ERROR'")
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"seconds": seconds, "rss_mb": rss, "counts": dict(summary.counts)}}))
"""


def run_scan(db: str, roots: list[str], *, full_stat: bool, index_all: bool = False,
             trust: bool = True) -> dict:
    code = CHILD.format(
        repo=str(HERE.parent),
        db=db,
        roots=roots,
        hours=0 if full_stat else 10**6,
        index_all=index_all,
        trust=trust,
    )
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    result: dict = json.loads(out.stdout.strip().splitlines()[-1])
    result["process_seconds"] = time.perf_counter() - started
    return result


def run_find(root: str) -> float:
    started = time.perf_counter()
    subprocess.run(
        ["find", root, "-type", "f", "-printf", "%p %T@ %s\n"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--root", help="existing generated library (else a temp one)")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    work = Path(args.root) if args.root else Path(tempfile.mkdtemp(prefix="scanarr-bench-"))
    lib = work / "library"
    if not lib.exists():
        started = time.perf_counter()
        genlib.generate(lib, args.files, args.seed)
        print(f"generated {args.files} videos in {time.perf_counter() - started:.1f}s")
    roots = [str(p) for p in sorted(lib.iterdir()) if p.is_dir()]
    db = str(work / "bench.db")
    for suffix in ("", "-wal", "-shm"):
        Path(db + suffix).unlink(missing_ok=True)
    try:
        report(lib, roots, db, args)
    finally:
        if not args.keep and not args.root:
            shutil.rmtree(work, ignore_errors=True)
    return 0


def report(lib: Path, roots: list[str], db: str, args: argparse.Namespace) -> None:
    first = run_scan(db, roots, full_stat=True, index_all=True)
    files = first["counts"].get("files", 0)
    print(
        f"first scan: {files} files, {first['counts'].get('new', 0)} new, "
        f"{first['seconds']:.1f}s ({files / max(first['seconds'], 1e-9):.0f} files/s incl. "
        f"identify), peak RSS {first['rss_mb']:.0f} MB"
    )
    finds, fast, full, listing = [], [], [], []
    for _ in range(args.rounds):
        finds.append(run_find(str(lib)))
        fast.append(run_scan(db, roots, full_stat=False))
        full.append(run_scan(db, roots, full_stat=True))
        listing.append(run_scan(db, roots, full_stat=False, trust=False))
    base = statistics.median(finds)
    print(f"find baseline: {base:.3f}s (median of {args.rounds})")
    scenarios = (("quick-fast", fast), ("quick-stat-pass", full), ("quick-listing", listing))
    for name, runs in scenarios:
        secs = statistics.median(r["seconds"] for r in runs)
        proc = statistics.median(r["process_seconds"] for r in runs)
        rss = max(r["rss_mb"] for r in runs)
        changed = runs[-1]["counts"].get("new", 0) + runs[-1]["counts"].get("changed", 0)
        print(
            f"{name:16s} scan {secs:.3f}s = {secs / base:.2f}x find  (process {proc:.2f}s = "
            f"{proc / base:.2f}x)  peak RSS {rss:.0f} MB  new+changed {changed}"
        )
    added = len(genlib.add_fraction(lib, 0.01, args.seed))
    find_again = run_find(str(lib))
    result = run_scan(db, roots, full_stat=False, index_all=True)
    print(
        f"added-1%         {added} versions added: scan {result['seconds']:.3f}s = "
        f"{result['seconds'] / find_again:.2f}x find, new {result['counts'].get('new', 0)}, "
        f"peak RSS {result['rss_mb']:.0f} MB"
    )
    touched = genlib.touch_fraction(lib, 0.01, args.seed)
    result = run_scan(db, roots, full_stat=True, index_all=True)
    print(
        f"touched-1%       {len(touched)} files rewritten: stat-pass scan {result['seconds']:.3f}s"
        f" = {result['seconds'] / find_again:.2f}x find, changed "
        f"{result['counts'].get('changed', 0)}"
    )


if __name__ == "__main__":
    sys.exit(main())
