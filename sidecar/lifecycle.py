"""The content lifecycle: states, the moves between them, and the timing rules.

Pure policy with no I/O, so the whole state machine is readable in one screen and
testable without a database.  ``sidecar.state`` enforces ``ALLOWED`` on every write.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum


class Lifecycle(StrEnum):
    NEW = "NEW"                # file seen, no metadata yet
    PROCESSING = "PROCESSING"  # claimed by a worker right now
    INDEXED = "INDEXED"        # metadata on disk and current
    STALE = "STALE"            # metadata older than its refresh age
    CHANGED = "CHANGED"        # file size or mtime differ from what was indexed
    MISSING = "MISSING"        # file gone from disk
    ERROR = "ERROR"            # last attempt failed; see error_reason / next_retry_after


L = Lifecycle

# Where each state may go.  Everything not listed is a bug and raises IllegalTransition.
ALLOWED: dict[Lifecycle, frozenset[Lifecycle]] = {
    L.NEW: frozenset({L.PROCESSING, L.INDEXED, L.ERROR, L.MISSING, L.CHANGED}),
    # PROCESSING goes back to where it came from when released (shutdown, crash recovery).
    L.PROCESSING: frozenset({L.INDEXED, L.ERROR, L.NEW, L.CHANGED, L.STALE, L.MISSING}),
    L.INDEXED: frozenset({L.PROCESSING, L.STALE, L.CHANGED, L.MISSING}),
    L.STALE: frozenset({L.PROCESSING, L.CHANGED, L.MISSING, L.INDEXED}),
    L.CHANGED: frozenset({L.PROCESSING, L.MISSING, L.ERROR, L.INDEXED}),
    L.MISSING: frozenset({L.NEW, L.CHANGED}),
    L.ERROR: frozenset({L.PROCESSING, L.CHANGED, L.MISSING, L.NEW}),
}

# States a row may be born in: unseen files, files adopted with valid metadata beside them,
# and files whose names cannot be identified at all.
INITIAL = frozenset({L.NEW, L.INDEXED, L.ERROR})
# States a worker may claim: the work to do.
CLAIMABLE = frozenset({L.NEW, L.CHANGED, L.STALE, L.ERROR})
# States whose file is expected on disk (MISSING excluded).
PRESENT = frozenset(set(Lifecycle) - {L.MISSING})


def allowed(source: Lifecycle, target: Lifecycle) -> bool:
    return target in ALLOWED[source]


RETRY_BASE_S = 60.0
RETRY_MAX_S = 86_400.0


def retry_delay(error_count: int) -> float:
    """Seconds before an item in ERROR is tried again: 1 min doubling up to 24 h (brief §5.3).

    ``error_count`` counts failures including this one, so the first failure waits 1 min.
    """
    exponent = min(max(0, error_count - 1), 20)
    return min(RETRY_MAX_S, RETRY_BASE_S * 2**exponent)


def refresh_days(release: dt.date | None, today: dt.date) -> int:
    """How long metadata stays fresh (brief §5.2): new releases change fast, classics rarely."""
    if release is None:
        return 30
    age = (today - release).days
    if age < 30:
        return 3
    if age < 180:
        return 14
    if age < 365:
        return 30
    if age < 1825:
        return 90
    return 180


def parse_date(text: str | None) -> dt.date | None:
    """TMDB dates are ``YYYY-MM-DD``, ``""`` or null; anything else counts as unknown."""
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        return None
