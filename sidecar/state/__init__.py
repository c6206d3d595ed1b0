"""The state store: the only package that speaks SQL (through sqlite-utils).

``StateStore`` is one object over one database, assembled from one class per table so
each stays small: items and their lifecycle, folders, shows, scan runs, pending events.
"""

from __future__ import annotations

from sidecar.state.base import TABLE, WORK_STATES, DirRow, Item, iso, retry_locked
from sidecar.state.events import EventStore
from sidecar.state.folders import FolderStore
from sidecar.state.items import ItemStore
from sidecar.state.runs import RunStore
from sidecar.state.shows import ShowStore

__all__ = ["TABLE", "WORK_STATES", "DirRow", "Item", "StateStore", "iso", "retry_locked"]


class StateStore(ItemStore, FolderStore, ShowStore, RunStore, EventStore):
    """Thread-safe access to the database: one connection per thread, WAL, busy timeout."""
