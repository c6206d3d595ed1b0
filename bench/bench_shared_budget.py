"""Shared rate budget figures: several processes, one TMDB budget (35 per 10 s).

    python bench/bench_shared_budget.py [--seconds 30] [--processes 2 3] [--backend file redis]

1. Uncontended ``acquire`` cost of each shared backend, as a ratio of the in-process
   ``TokenBucket`` measured in the same run.
2. Baseline: N processes with their *own* in-process buckets (what Scanarr does without
   ``rate_limit_url``): the most grants any rolling 10 s window sees -- N x 35.
3. N processes sharing one budget through a folder (SQLite) and through Redis (a throwaway
   ``redis-server`` on 127.0.0.1, when installed): max grants in any rolling window
   (must be <= 35) and utilisation (grants in the first whole windows / what they allow).

Only the limiter is exercised (no HTTP); grant times are the ones the shared window
counted (``SharedLimiter.last_grant``).  ``--tmdb URL`` (real requests) is a later step.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sidecar.ratelimit import TokenBucket  # noqa: E402
from sidecar.sharedlimit import shared_limiter  # noqa: E402
from tests.fakes.budget_load import (  # noqa: E402
    hammer_processes,
    max_in_any_window,
    utilisation,
)
from tests.fakes.redis_server import redis_server_binary, running_redis  # noqa: E402

RATE, PER = 35, 10.0


def per_call(fn: Callable[[], object], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n


def acquire_costs(urls: dict[str, str], n: int = 300) -> None:
    base = per_call(TokenBucket(10**9, PER).acquire, n)
    print(f"uncontended acquire: TokenBucket {base * 1e6:8.1f} us (baseline)")
    for name, url in urls.items():
        limiter = shared_limiter(url, 10**9, PER)
        cost = per_call(limiter.acquire, n)
        limiter.close()
        print(f"                     {name:<11} {cost * 1e6:8.1f} us = {cost / base:,.0f}x")


def _own_bucket(seconds: float, barrier: Any, results: Any) -> None:
    last = [0.0]

    def clock() -> float:  # the wall clock, so processes share a timeline
        last[0] = time.time()
        return last[0]

    bucket = TokenBucket(RATE, PER, clock=clock)
    grants: list[float] = []
    barrier.wait(timeout=60)
    deadline = time.time() + seconds
    while time.time() < deadline:
        bucket.acquire()
        grants.append(last[0])
    results.put(grants)


def baseline(processes: int, seconds: float) -> None:
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(processes + 1), ctx.Queue()
    procs = [ctx.Process(target=_own_bucket, args=(seconds, barrier, results))
             for _ in range(processes)]
    for proc in procs:
        proc.start()
    barrier.wait(timeout=60)
    grants = [g for _ in procs for g in results.get(timeout=seconds + 60)]
    for proc in procs:
        proc.join()
    print(f"own bucket each  x{processes}: {len(grants):4d} grants, max in any {PER:g} s "
          f"window = {max_in_any_window(grants, PER):3d} (budget {RATE}) <- TMDB would throttle")


def shared(name: str, url: str, processes: int, seconds: float) -> None:
    windows = int(seconds // PER)
    run = hammer_processes(url, processes=processes, rate=RATE, per=PER,
                           seconds=windows * PER + 1.0)
    share = ", ".join(str(len(p)) for p in run.per_process)
    print(f"{name:<11}      x{processes}: {len(run.grants):4d} grants ({share}), max in any "
          f"{PER:g} s window = {max_in_any_window(run.grants, PER):3d} (budget {RATE}), "
          f"utilisation {utilisation(run.grants, RATE, PER, windows):.1%} over {windows} windows")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="per run (whole windows)")
    parser.add_argument("--processes", type=int, nargs="+", default=[2, 3])
    parser.add_argument("--backend", nargs="+", choices=["file", "redis"],
                        default=["file", "redis"])
    args = parser.parse_args()
    if "redis" in args.backend and redis_server_binary() is None:
        print("redis-server not installed: skipping the redis backend")
        args.backend.remove("redis")
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="scanarr-bench-")))
        redis_url = stack.enter_context(running_redis()) if "redis" in args.backend else ""

        def url(backend: str, run: str) -> str:
            """A fresh folder or key prefix per run: no stamps left over from the last one."""
            if backend == "redis":
                return f"{redis_url}?prefix=bench-{run}"
            (folder / run).mkdir()
            return f"file://{folder / run}"

        acquire_costs({name: url(name, "cost") for name in args.backend})
        baseline(max(args.processes), args.seconds)
        for name in args.backend:
            for processes in args.processes:
                shared(f"shared {name}", url(name, f"x{processes}"), processes, args.seconds)


if __name__ == "__main__":
    main()
