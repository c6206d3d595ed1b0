"""Walker benchmark: full and fast walks against ``find`` on the same tree, in the same run.

    python bench/bench_walk.py [--root DIR] [--files 100000] [--seed 1] [--rounds 5] [--keep]

Without ``--root`` it generates a synthetic library (bench/genlib.py) under /tmp and deletes
it afterwards.  Every scenario runs in its own subprocess, so each peak RSS (ru_maxrss) is
isolated, and scenarios are interleaved round by round so a noisy neighbour hurts all alike:

* ``find``        find ROOT -type f -printf '%p %T@ %s\\n' > /dev/null  (the baseline)
* ``full``        walk(mode="full"): list every folder, stat every video, signatures
* ``fast``        walk(known=...) of the unchanged tree: one stat per folder, no listing
* ``floor-full``  the least any CPython walker pays for the same listing + video stats
* ``floor-fast``  the least any CPython walker pays for one stat per folder

Both walks get the ``known`` records of a previous full walk as one dict (the scanner streams
the same records from its database a page at a time: see bench_memory.py); the ``known``
scenario measures the RSS of just loading that dict (find's RSS is not shown).  Timings are
warm-cache.  On a generated tree the run ends with correctness checks (media count, in-place
rewrites seen by full mode only, new files seen by fast mode).
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from genlib import MiB, generate, touch_fraction  # a sibling script module

from sidecar.walker import (
    RACY_WINDOW_NS,
    VIDEO_EXTENSIONS,
    DirListed,
    DirRecord,
    DirUnchanged,
    walk,
)

SCENARIOS = ("find", "full", "fast", "floor-full", "floor-fast")
Known = dict[str, DirRecord]


# --- scenarios (each runs in a fresh subprocess) ---------------------------------------------


def _find(root: str, known: Known) -> int:
    command = ["find", root, "-type", "f", "-printf", "%p %T@ %s\n"]
    subprocess.run(command, stdout=subprocess.DEVNULL, check=True)
    return 0


def _full(root: str, known: Known) -> int:
    events = walk(root, known=known, mode="full")
    return sum(len(e.files) for e in events if isinstance(e, DirListed))


def _fast(root: str, known: Known) -> int:
    return sum(1 for _ in walk(root, known=known))


def _floor_full(root: str, known: Known) -> int:
    """scandir every folder and stat every video-extension file, with no rules at all."""
    stack, count = [root], 0
    while stack:
        path = stack.pop()
        os.stat(path)
        with os.scandir(path) as entries:
            for entry in entries:
                if entry.is_dir():
                    stack.append(entry.path)
                elif entry.name[entry.name.rfind(".") :].lower() in VIDEO_EXTENSIONS:
                    entry.stat()
                    count += 1
    return count


def _floor_fast(root: str, known: Known) -> int:
    for path in known:
        os.stat(path)
    return len(known)


RUNNERS: dict[str, Callable[[str, Known], int]] = {
    "find": _find, "full": _full, "fast": _fast, "floor-full": _floor_full,
    "floor-fast": _floor_fast, "idle": lambda root, known: 0, "known": lambda root, known: 0,
}  # fmt: skip


def run_scenario(name: str, root: str, known_path: str) -> None:
    """Subprocess side: time one scenario, print JSON with seconds, count and peak RSS."""
    known: Known = {}
    if name != "idle":
        with open(known_path, "rb") as handle:
            known = pickle.load(handle)
    started = time.perf_counter()
    count = RUNNERS[name](root, known)
    seconds = time.perf_counter() - started
    rss_kb = peak_rss_kb()
    print(json.dumps({"seconds": seconds, "count": count, "rss_kb": rss_kb}))


def peak_rss_kb() -> int:
    """This process's peak RSS.  VmHWM belongs to the current program image; ru_maxrss would
    include the parent's RSS at fork time, because Linux carries it over exec()."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def spawn(name: str, root: str, known_path: str) -> dict[str, float]:
    command = [sys.executable, __file__, "--scenario", name, "--root", root, "--known", known_path]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    row: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    return row


# --- driver --------------------------------------------------------------------------------------


def prepare(args: argparse.Namespace) -> tuple[str, int | None, bool]:
    """The tree to measure: --root as given, or a freshly generated one (expected count)."""
    if args.root:
        return str(Path(args.root).resolve()), None, False
    root = tempfile.mkdtemp(prefix="scanarr-bench-", dir="/tmp")
    stats = generate(Path(root), args.files, args.seed)
    print(
        f"generated {stats.videos} media videos, {stats.ignored_videos} ignorable videos, "
        f"{stats.other_files} other files, {stats.dirs} folders "
        f"({stats.apparent_bytes / 1e12:.0f} TB apparent, sparse) in {stats.seconds:.1f} s"
    )
    time.sleep(RACY_WINDOW_NS / 1e9)  # let the newest folders' mtimes become trustworthy
    return root, stats.videos, True


def full_known(root: str) -> tuple[Known, int]:
    known: Known = {}
    media = 0
    for event in walk(root, mode="full"):
        if isinstance(event, DirListed):
            known[event.path] = event.record()
            media += len(event.files)
    return known, media


def measure(root: str, known_path: str, rounds: int) -> dict[str, list[dict[str, float]]]:
    results: dict[str, list[dict[str, float]]] = {name: [] for name in SCENARIOS}
    for name in SCENARIOS:  # warm-up: page cache, dentries, pyc files
        spawn(name, root, known_path)
    for _ in range(rounds):
        for name in SCENARIOS:
            results[name].append(spawn(name, root, known_path))
    return results


def report(results: dict[str, list[dict[str, float]]], idle_kb: float, known_kb: float) -> None:
    find_median = statistics.median(r["seconds"] for r in results["find"])
    find_min = min(r["seconds"] for r in results["find"])
    print(f"\n{'scenario':<12}{'median s':>10}{'min s':>9}{'x find':>8}{'x find(min)':>12}"
          f"{'peak RSS':>11}{'over known':>12}")  # fmt: skip
    for name, rows in results.items():
        median = statistics.median(r["seconds"] for r in rows)
        fastest = min(r["seconds"] for r in rows)
        rss = max(r["rss_kb"] for r in rows) / 1024
        memory = f"{rss:>8.1f} MB{rss - known_kb / 1024:>9.1f} MB" if name != "find" else ""
        print(f"{name:<12}{median:>10.3f}{fastest:>9.3f}{median / find_median:>8.2f}"
              f"{fastest / find_min:>12.2f}{memory}")  # fmt: skip
    print(f"(RSS of python + walker import: {idle_kb / 1024:.1f} MB; "
          f"+ the loaded known map: {known_kb / 1024:.1f} MB)")  # fmt: skip


def check(label: str, ok: bool, detail: str) -> bool:
    print(f"  [{'PASS' if ok else 'FAIL'}] {label}: {detail}")
    return ok


def correctness(root: str, known: Known, expected: int | None, media: int) -> bool:
    """On a generated tree: counts, in-place rewrites (full only) and new files (fast)."""
    print("\ncorrectness")
    ok = True
    if expected is not None:
        ok &= check("media yielded", media == expected, f"{media} of {expected}")
    touched = touch_fraction(Path(root), 0.01, seed=7)
    dirs = {os.path.dirname(p) for p in touched}
    fast = list(walk(root, known=known))
    blind = all(isinstance(e, DirUnchanged) for e in fast)
    ok &= check("fast mode blind to in-place rewrites (by design)", blind,
                f"{len(touched)} files rewritten")  # fmt: skip
    changed = {e.path for e in walk(root, known=known, mode="full")
               if isinstance(e, DirListed) and not e.unchanged}  # fmt: skip
    ok &= check("full mode finds every rewritten folder", changed == dirs,
                f"{len(changed)} changed folders, expected {len(dirs)}")  # fmt: skip
    added = sorted(dirs)[:50]
    for folder in added:
        with open(os.path.join(folder, "Added Later (2024).mkv"), "wb") as handle:
            handle.truncate(900 * MiB)
    listed = {e.path for e in walk(root, known=known) if isinstance(e, DirListed)}
    ok &= check("fast mode lists exactly the folders that gained files", listed == set(added),
                f"{len(listed)} listed, {len(added)} expected")  # fmt: skip
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root")
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the generated tree")
    parser.add_argument("--scenario", choices=[*RUNNERS], help=argparse.SUPPRESS)
    parser.add_argument("--known", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.scenario:
        run_scenario(args.scenario, args.root, args.known)
        return 0
    root, expected, generated = prepare(args)
    try:
        known, media = full_known(root)
        known_path = os.path.join(tempfile.gettempdir(), f"scanarr-known-{os.getpid()}.pkl")
        with open(known_path, "wb") as handle:
            pickle.dump(known, handle)
        print(f"tree: {root}: {len(known)} folders, {media} media files; {args.rounds} rounds")
        results = measure(root, known_path, args.rounds)
        idle = spawn("idle", root, known_path)["rss_kb"]
        known_rss = spawn("known", root, known_path)["rss_kb"]
        report(results, idle, known_rss)
        ok = correctness(root, known, expected, media) if generated else True
        os.unlink(known_path)
    finally:
        if generated and not args.keep:
            shutil.rmtree(root)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
