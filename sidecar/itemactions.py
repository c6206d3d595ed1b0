"""What the status page's item buttons do to the state table: retry, fix a match.

Pure state moves (the service queues the returned items): kept apart so each move is
readable next to the lifecycle rules it relies on (``lifecycle.ALLOWED``).
"""

from __future__ import annotations

import os

from sidecar.errors import BadRequest
from sidecar.lifecycle import Lifecycle
from sidecar.state import Item, StateStore

UNTOUCHABLE = (Lifecycle.PROCESSING, Lifecycle.MISSING)


def find(store: StateStore, path: str) -> Item:
    """The item at ``path``; BadRequest 404 when the library does not know it."""
    item = store.get(path) or store.get(os.path.abspath(path))
    if item is None:
        raise BadRequest(f"{path} is not in the library (scan it first)", status=404)
    return item


def retry(store: StateStore, path: str) -> Item:
    """ERROR -> NEW now, whatever its retry time said."""
    item = find(store, path)
    if item.state != Lifecycle.ERROR:
        raise BadRequest(f"{path} is {item.state.value}, not in ERROR", status=409)
    return store.transition(item.path, Lifecycle.NEW, next_retry_after=None)


def fix_match(store: StateStore, path: str, tmdb_id: int) -> list[Item]:
    """Give a file its TMDB id by hand and make it work again; returns what to queue.

    For an episode the id is its show's, so it goes to the show row and every episode
    of that show (the worker takes the show's id from the show row first).
    """
    item = find(store, path)
    if tmdb_id <= 0:
        raise BadRequest("the TMDB id must be a positive number")
    if item.state in UNTOUCHABLE:
        raise BadRequest(f"{path} is {item.state.value}; try again later", status=409)
    targets = [item]
    if item.media_type == "episode" and item.show_dir:
        store.save_show(item.show_dir, tmdb_id=tmdb_id)
        targets = [i for p in store.paths_under(item.show_dir)
                   if (i := store.get(p)) is not None and i.state not in UNTOUCHABLE]
    moved = []
    for target in targets:
        store.update_fields(target.path, tmdb_id=tmdb_id, id_source="manual")
        if target.state in (Lifecycle.INDEXED, Lifecycle.STALE):
            moved.append(store.transition(target.path, Lifecycle.CHANGED))
        elif target.state == Lifecycle.ERROR:
            moved.append(store.transition(target.path, Lifecycle.NEW, next_retry_after=None))
        else:
            moved.append(store.get(target.path) or target)
    return moved
