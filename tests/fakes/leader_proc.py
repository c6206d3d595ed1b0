"""A leader in another process, to be killed: does its lease outlive it, and for how long?

    proc, ready = start_leader(url, "scan", ttl=0.5)   # returns once it holds the lease
    proc.kill()                                         # dies without releasing
"""

from __future__ import annotations

import multiprocessing as mp
import time
from typing import Any

from sidecar.leader import Leadership


def _lead(url: str, name: str, ttl: float, owner: str, ready: Any) -> None:
    leadership = Leadership(url, name, ttl, owner_id=owner)
    while not leadership.try_acquire():
        time.sleep(0.01)
    ready.set()
    while True:  # renew on every "tick" until killed
        time.sleep(ttl / 4)
        leadership.try_acquire()


def start_leader(url: str, name: str, ttl: float, owner: str) -> Any:
    """A spawned process that holds (and keeps renewing) the lease; returned once it does."""
    ctx = mp.get_context("spawn")
    ready = ctx.Event()
    proc = ctx.Process(target=_lead, args=(url, name, ttl, owner, ready), daemon=True)
    proc.start()
    if not ready.wait(timeout=30):
        proc.kill()
        raise RuntimeError("the leader process never took the lease")
    return proc
