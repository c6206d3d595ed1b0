"""Group waiting items into jobs, so one TMDB fetch serves every file that needs it.

Episodes of one show folder become one show job (a season of 20 episodes is one show
fetch, not 20); the parts and versions of one movie in one folder become one movie job.
The state table is the source of truth: the queue is always rebuilt from it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sidecar.lifecycle import Lifecycle
from sidecar.state import Item
from sidecar.workqueue import Kind, Priority

PRIORITY_OF_STATE = {
    Lifecycle.NEW: Priority.HIGH,
    Lifecycle.CHANGED: Priority.MEDIUM,
    Lifecycle.STALE: Priority.LOW,
    Lifecycle.ERROR: Priority.LOW,
    Lifecycle.INDEXED: Priority.VERY_LOW,
}


@dataclass(frozen=True)
class Planned:
    kind: Kind
    key: tuple[str, str]
    paths: tuple[str, ...]
    priority: Priority


def job_key(item: Item) -> tuple[Kind, str]:
    """Items with the same key share one fetch."""
    if item.media_type == "episode":
        return ("tv", item.show_dir or item.parent_path)
    if item.tmdb_id:
        return ("movie", f"{item.parent_path}|tmdb:{item.tmdb_id}")
    return ("movie", f"{item.parent_path}|{item.title.casefold()}|{item.year or ''}")


def plan(items: Iterable[Item], priority: Priority | None = None) -> list[Planned]:
    """Jobs for ``items``; each job takes the most urgent priority among its items."""
    groups: dict[tuple[Kind, str], list[Item]] = defaultdict(list)
    for item in items:
        groups[job_key(item)].append(item)
    jobs = []
    for key, members in groups.items():
        urgency = priority if priority is not None else min(
            PRIORITY_OF_STATE.get(m.state, Priority.LOW) for m in members)
        jobs.append(Planned(key[0], key, tuple(sorted(m.path for m in members)), urgency))
    jobs.sort(key=lambda job: (job.priority, job.key))
    return jobs
