"""Quick-scan memory: does it follow the largest folder, or the library?

    python bench/bench_memory.py [--files 100000] [--parts 10] [--seed 1] [--root DIR] [--keep]

Three generated libraries (bench/genlib.py), each given a first scan and marked INDEXED;
then a fast quick scan and a quick scan with the stat pass, each in its own process:

* ``small``        ``files / parts`` videos, as genlib lays them out
* ``large-split``  ``files`` videos as ``parts`` such libraries side by side under one root:
                   ``parts`` times the library, the same largest folder as ``small``
* ``large-flat``   ``files`` videos in one genlib layout: its ``Movies`` root holds a folder
                   per movie, so there the largest folder grows with the library too

Printed per scenario: the peak RSS the scan added over the process after its imports
(``ru_maxrss``), the peak of Python's heap during the scan (``tracemalloc``, a second run)
and the entries of the largest folder.  If memory follows the largest folder, ``large-split``
stays where ``small`` is, and ``large-flat`` is above them by about its largest folder.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import genlib  # noqa: E402

CHILD = r"""
import json, resource, sys, tracemalloc
sys.path.insert(0, {repo!r})
from sidecar.scanner import Scanner
from sidecar.state import StateStore
store = StateStore({db!r})
store.counts()
scanner = Scanner(store, {roots!r}, settle_seconds=0, full_stat_hours={hours})
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
if {trace}:
    tracemalloc.start()
summary = scanner.scan("quick")
if {index_all}:
    store.db.execute("UPDATE media_scan_state SET scan_state = 'INDEXED' "
                     "WHERE scan_state != 'ERROR'")
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
heap = tracemalloc.get_traced_memory()[1] / 2**20 if {trace} else 0.0
print(json.dumps({{"added_mb": peak - before, "rss_mb": peak, "heap_mb": heap,
                  "counts": dict(summary.counts)}}))
"""


def scan(db: str, roots: list[str], *, stat_pass: bool, trace: bool = False,
         index_all: bool = False) -> dict:
    code = CHILD.format(repo=str(HERE.parent), db=db, roots=roots, trace=trace,
                        hours=0 if stat_pass else 10**6, index_all=index_all)
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True)
    result: dict = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def largest_folder(root: Path) -> int:
    """Entries of the fullest folder below ``root``."""
    return max(len(names) + len(dirs) for _, dirs, names in os.walk(root))


def build(work: Path, name: str, files: int, parts: int, seed: int) -> tuple[Path, list[str]]:
    """A library of ``files`` videos in ``parts`` genlib layouts; its roots."""
    lib = work / name
    if not lib.exists():
        started = time.perf_counter()
        if parts == 1:
            genlib.generate(lib, files, seed)
        for part in range(parts if parts > 1 else 0):
            genlib.generate(lib / f"part{part:02d}", files // parts, seed + part)
        print(f"{name}: generated {files} videos in {time.perf_counter() - started:.1f}s")
    roots = [str(p) for p in sorted(lib.iterdir()) if p.is_dir()] if parts == 1 else [str(lib)]
    return lib, roots


def report(work: Path, name: str, files: int, parts: int, seed: int) -> None:
    lib, roots = build(work, name, files, parts, seed)
    db = str(work / f"{name}.db")
    for suffix in ("", "-wal", "-shm"):
        Path(db + suffix).unlink(missing_ok=True)
    scan(db, roots, stat_pass=True, index_all=True)  # the first scan: everything NEW
    largest = largest_folder(lib)
    for label, stat_pass in (("fast", False), ("stat-pass", True)):
        rss = scan(db, roots, stat_pass=stat_pass)
        heap = scan(db, roots, stat_pass=stat_pass, trace=True)
        print(f"{name:12s} {label:9s} {files:7d} videos, largest folder {largest:6d} entries: "
              f"scan adds {rss['added_mb']:5.1f} MB RSS (peak {rss['rss_mb']:.0f} MB), "
              f"Python heap peak {heap['heap_mb']:5.1f} MB")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--parts", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--root", help="folder for the libraries (kept; else a temp one)")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    work = Path(args.root) if args.root else Path(tempfile.mkdtemp(prefix="scanarr-mem-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        report(work, "small", args.files // args.parts, 1, args.seed)
        report(work, "large-split", args.files, args.parts, args.seed)
        report(work, "large-flat", args.files, 1, args.seed)
    finally:
        if not args.keep and not args.root:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
