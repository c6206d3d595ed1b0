"""Several real processes hammering one shared rate budget, for the shared-limiter tests.

    run = hammer_processes(url, processes=3, rate=20, per=1.0, seconds=2.6)
    max_in_any_window(run.grants, 1.0) <= 20

Each process (``spawn``, so nothing is inherited but the arguments) builds its own limiter
on ``url``, waits at a barrier so all start together, then calls ``acquire()`` as fast as
it is allowed for ``seconds``.  It records :meth:`SharedLimiter.last_grant` -- the time
the shared window counted, on the store's clock -- so the bound is checked exactly, free
of scheduling noise between the grant and the caller seeing it.  In process 0 a second thread
may call ``penalize(pause)`` at a set offset, recording the wall time just before and after.
"""

from __future__ import annotations

import multiprocessing as mp
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sidecar.sharedlimit import shared_limiter


@dataclass
class Run:
    grants: list[float] = field(default_factory=list)         # every grant, all processes
    per_process: list[list[float]] = field(default_factory=list)
    penalty: tuple[float, float, float] | None = None          # (before, pause, after)
    started: float = 0.0                                        # wall time the run started


def max_in_any_window(stamps: Sequence[float], per: float) -> int:
    """Most stamps inside any half-open window [t, t + per) (two pointers over sorted stamps)."""
    ordered, best, lo = sorted(stamps), 0, 0
    for hi, stamp in enumerate(ordered):
        while ordered[lo] <= stamp - per:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def utilisation(stamps: Sequence[float], rate: int, per: float, windows: int) -> float:
    """Grants in the first ``windows`` whole windows from the first grant / what they allow."""
    first = min(stamps)
    used = sum(1 for s in stamps if s < first + windows * per)
    return used / (rate * windows)


def _hammer(url: str, rate: int, per: float, seconds: float, penalize_at: float | None,
            pause: float, barrier: Any, results: Any, index: int) -> None:
    limiter = shared_limiter(url, rate, per, jitter=per * 0.005)
    grants: list[float] = []
    penalty: list[tuple[float, float, float]] = []

    def penalize() -> None:  # another worker thread of this process sees a 429
        before = time.time()
        got = limiter.penalize(pause)
        penalty.append((before, got, time.time()))

    def work() -> None:
        while True:
            limiter.acquire()
            granted = limiter.last_grant()
            assert granted is not None
            grants.append(granted)
            limiter.complete()  # the "request" is answered at once

    barrier.wait(timeout=60)
    started = time.time()
    if penalize_at is not None:
        threading.Timer(penalize_at, penalize).start()
    # At the deadline the worker is usually asleep until the next window: leave it there
    # (daemon thread; the process exits) rather than wait for it.
    threading.Thread(target=work, daemon=True).start()
    time.sleep(seconds)
    results.put((index, list(grants), penalty[0] if penalty else None, started))


def hammer_processes(url: str, *, processes: int, rate: int, per: float, seconds: float,
                     penalize_at: float | None = None, pause: float = 0.0) -> Run:
    """Run ``processes`` hammering processes; process 0 penalizes at ``penalize_at`` s."""
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(processes + 1), ctx.Queue()
    procs = [
        ctx.Process(target=_hammer, args=(url, rate, per, seconds,
                                          penalize_at if i == 0 else None, pause,
                                          barrier, results, i), daemon=True)
        for i in range(processes)
    ]
    for proc in procs:
        proc.start()
    run = Run(per_process=[[] for _ in procs])
    try:
        barrier.wait(timeout=60)
        for _ in procs:
            index, grants, penalty, started = results.get(timeout=seconds + 30)
            run.per_process[index] = grants
            run.grants += grants
            run.penalty = penalty or run.penalty
            run.started = max(run.started, started)
    finally:
        for proc in procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.kill()
    return run
