"""The exception tree.

Every layer raises one of these, and each class says what the *caller* should do,
not what went wrong deep inside: the worker turns them into lifecycle states in one
place (``worker.py``), the web layer turns them into 4xx answers.  ``reason`` is the
short machine word stored with an item in ERROR; ``retryable`` says whether trying
the same item again later can help.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class ScanarrError(Exception):
    """Root of everything Scanarr raises on purpose."""

    reason: str = "error"
    retryable: bool = False


class ConfigError(ScanarrError):
    """A setting is missing or invalid; names the setting so the user can fix it."""

    reason = "config"

    def __init__(self, setting: str, problem: str) -> None:
        super().__init__(f"{setting}: {problem}")
        self.setting = setting
        self.problem = problem


class IllegalTransition(ScanarrError):
    """A lifecycle move the state machine does not allow: a bug, never user input."""

    reason = "illegal_transition"


# --- identification and matching -------------------------------------------------


class IdentifyError(ScanarrError):
    """The path could not be turned into a title: the file name needs fixing."""

    reason = "unidentified"


class MatchError(ScanarrError):
    """TMDB had no single convincing answer; the candidates are kept for a manual match."""

    def __init__(
        self, reason: str, message: str, candidates: Sequence[dict[str, Any]] = ()
    ) -> None:
        super().__init__(message)
        self.reason = reason  # "not_found" | "ambiguous"
        self.candidates = list(candidates)


# --- TMDB -------------------------------------------------------------------------


class TmdbError(ScanarrError):
    """Anything the TMDB client could not turn into data."""

    reason = "tmdb"


class TmdbAuthError(TmdbError):
    """401: the key is missing, invalid or suspended. Stops all fetching, not one item."""

    reason = "auth"


class TmdbNotFound(TmdbError):
    """404 for an id: the id is wrong (a bad tag or NFO), retrying will not help."""

    reason = "not_found"


class TmdbUnavailable(TmdbError):
    """TMDB is down, throttling or timing out after every retry: try the item later."""

    reason = "unavailable"
    retryable = True


class TmdbBadResponse(TmdbError):
    """TMDB answered 2xx with something that is not the expected JSON."""

    reason = "bad_response"
    retryable = True


class NoApiKey(TmdbAuthError):
    """No TMDB key configured: walking and identifying work, fetching waits for a key."""

    reason = "no_api_key"


# --- writing and paths --------------------------------------------------------------


class WriteError(ScanarrError):
    """A file beside the media could not be written (read-only folder, disk full, ...)."""

    reason = "write_failed"
    retryable = True

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


class OutsideRoots(WriteError):
    """A path resolves outside every configured library root: refused, never written."""

    reason = "outside_roots"
    retryable = False


# --- hosts and webhooks ---------------------------------------------------------------


class HostError(ScanarrError):
    """The media server could not be reached or did not know the item."""

    reason = "host"
    retryable = True


class BadRequest(ScanarrError):
    """Malformed input from outside (webhook body, form, API call): answer 4xx with this text."""

    reason = "bad_request"

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status
