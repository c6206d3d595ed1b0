"""Host events at rest and their ids: how intake stores a HostEvent and uses its ids.

An accepted webhook is stored (``pending_events``) before it is answered, so the event
must round-trip through JSON; and the ids a host sends (Plex ``Guid``, Jellyfin
``Provider_*``) are worth keeping, because with a TMDB id the worker skips the search
entirely.  Small timing helper :class:`Latencies` lives here too: it measures the
webhook path end to end.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import asdict
from typing import Any

from sidecar.host import HostEvent
from sidecar.lifecycle import Lifecycle
from sidecar.state import Item, StateStore

HOST_ID_SOURCE = "host"


class Latencies:
    """The last ``size`` durations, for p50/p95 on the status page and in metrics."""

    def __init__(self, size: int = 1000) -> None:
        self._values: deque[float] = deque(maxlen=size)
        self._lock = threading.Lock()
        self.count = 0

    def add(self, seconds: float) -> None:
        with self._lock:
            self._values.append(seconds)
            self.count += 1

    def summary(self) -> dict[str, float | int | None]:
        with self._lock:
            values = sorted(self._values)
        if not values:
            return {"count": self.count, "p50": None, "p95": None, "max": None}
        pick = lambda q: round(values[min(len(values) - 1, int(q * len(values)))], 4)  # noqa: E731
        return {"count": self.count, "p50": pick(0.5), "p95": pick(0.95),
                "max": round(values[-1], 4)}


def event_payload(event: HostEvent) -> dict[str, Any]:
    """What is stored for an event (host and item id have their own columns)."""
    data = asdict(event)
    data["ids"] = dict(event.ids)
    return {k: v for k, v in data.items() if k not in ("host", "item_id")}


def event_of(row: dict[str, Any]) -> HostEvent:
    payload = row["payload"]
    return HostEvent(host=row["host"], kind=payload.get("kind", "added"), item_id=row["item_id"],
                     item_type=payload.get("item_type", "other"), title=payload.get("title", ""),
                     ids=dict(payload.get("ids") or {}), event=payload.get("event", ""))



def with_host_ids(store: StateStore, event: HostEvent, item: Item) -> Item:
    """NEW items without an id take the host's: a movie's own id, a show's id for its
    episodes (an episode event's ids are the episode's, useless for the show)."""
    tmdb = str(event.ids.get("tmdb", ""))
    usable = (event.item_type == "movie" and item.media_type == "movie") or (
        event.item_type == "show" and item.media_type == "episode")
    if not (usable and tmdb.isdigit() and item.state == Lifecycle.NEW and not item.tmdb_id):
        return item
    fields: dict[str, Any] = {"tmdb_id": int(tmdb), "id_source": HOST_ID_SOURCE}
    if event.item_type == "movie" and event.ids.get("imdb") and not item.imdb_id:
        fields["imdb_id"] = str(event.ids["imdb"])
    store.update_fields(item.path, **fields)
    return store.get(item.path) or item
