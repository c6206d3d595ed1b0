"""The host boundary: what the core knows about Plex and Jellyfin.

The core never speaks a host API.  Adapters in ``plugin/<name>.py`` turn raw webhook
payloads into :class:`HostEvent` and answer the few questions the core asks
(:class:`Host`).  :func:`load_host` finds an adapter by name, so adding a host is
adding one module with a ``create(**settings)`` factory.

Resolution is asynchronous: the webhook route answers 202 as soon as
:meth:`Host.parse_webhook` returned, and a worker calls :meth:`Host.resolve_paths`
later.  So an unknown item is not a 404 to the host (it already got its answer) but a
:class:`~sidecar.errors.HostError` the worker logs; only malformed webhook input is a
:class:`~sidecar.errors.BadRequest` (4xx).
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from sidecar.errors import BadRequest, ConfigError
from sidecar.pathmap import PathMapper

ADDED = "added"
IGNORED = "ignored"
ITEM_TYPES = frozenset({"movie", "episode", "show", "season", "other"})
MAX_WEBHOOK_BYTES = 16 * 1024 * 1024  # a Plex payload with its thumb is a few hundred KB


@dataclass(frozen=True)
class HostEvent:
    """One webhook/alert, reduced to what the core acts on.

    ``kind`` is ``"added"`` when the core should look at the item, else ``"ignored"``
    (playback, backups, music...).  ``ids`` are the item's *own* provider ids
    (``tmdb``/``imdb``/``tvdb``; for an episode the episode's ids, not the show's).
    """

    host: str
    kind: str
    item_id: str
    item_type: str
    title: str = ""
    ids: Mapping[str, str] = field(default_factory=dict, hash=False)
    event: str = ""

    @property
    def added(self) -> bool:
        """True when this event should trigger work."""
        return self.kind == ADDED


@runtime_checkable
class Host(Protocol):
    """What the core asks a media server; every method may raise HostError, none BadRequest
    except :meth:`parse_webhook`."""

    @property
    def name(self) -> str:
        """``"plex"`` | ``"jellyfin"``: also the plugin module name."""
        ...

    def parse_webhook(
        self, body: bytes, content_type: str, form: Mapping[str, str] | None = None
    ) -> HostEvent:
        """Raw webhook -> HostEvent; BadRequest (with a reason for the 4xx) on malformed input."""
        ...

    def resolve_paths(self, event: HostEvent) -> list[str]:
        """Host-side paths of the item: files (movie/episode) or folders (show/season).

        Unknown item or unreachable host -> HostError (the webhook was answered already).
        """
        ...

    def refresh(self, paths: Sequence[str]) -> None:
        """Ask the host to pick up new files in these folders (one batch, best effort)."""
        ...

    def active_sessions(self) -> int:
        """Playback sessions right now, for resource-aware scheduling; 0 when unknown."""
        ...

    def test_connection(self) -> str:
        """Short human message for the settings page 'Test' button; HostError on failure."""
        ...


class MappedHost:
    """A Host seen through a PathMapper: the core deals in its own paths only.

    ``resolve_paths`` returns sidecar paths (OutsideRoots for anything outside the
    library roots); ``refresh`` takes sidecar paths and hands host paths to the host.
    """

    def __init__(self, host: Host, mapper: PathMapper) -> None:
        self.host = host
        self.mapper = mapper

    @property
    def name(self) -> str:
        return self.host.name

    def parse_webhook(
        self, body: bytes, content_type: str, form: Mapping[str, str] | None = None
    ) -> HostEvent:
        return self.host.parse_webhook(body, content_type, form)

    def resolve_paths(self, event: HostEvent) -> list[str]:
        return [self.mapper.to_local(p) for p in self.host.resolve_paths(event)]

    def refresh(self, paths: Sequence[str]) -> None:
        self.host.refresh(list(dict.fromkeys(self.mapper.to_host(p) for p in paths)))

    def active_sessions(self) -> int:
        return self.host.active_sessions()

    def test_connection(self) -> str:
        return self.host.test_connection()


def load_host(name: str, **settings: Any) -> Host:
    """Import ``plugin.<name>`` and return ``create(**settings)``; ConfigError when unknown."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name or ""):
        raise ConfigError("host", f"not a host plugin name: {name!r}")
    module_name = f"plugin.{name}"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name not in (module_name, "plugin"):
            raise  # the plugin exists but one of its dependencies is missing: say so
        raise ConfigError("host", f"no host plugin named {name!r}") from None
    create = getattr(module, "create", None)
    if not callable(create):
        raise ConfigError("host", f"plugin {module_name} has no create() factory")
    host = create(**settings)
    if not isinstance(host, Host):
        raise ConfigError("host", f"{module_name}.create() did not return a Host")
    return host


def json_object(raw: bytes | str, source: str) -> dict[str, Any]:
    """Decode a JSON object from outside; BadRequest naming ``source`` when it is not one."""
    if len(raw) > MAX_WEBHOOK_BYTES:
        raise BadRequest(f"{source} is larger than {MAX_WEBHOOK_BYTES} bytes", status=413)
    try:
        text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw
        data = json.loads(text)
    except (UnicodeDecodeError, ValueError):
        raise BadRequest(f"{source} is not valid JSON") from None
    if not isinstance(data, dict):
        raise BadRequest(f"{source} must be a JSON object, got {type(data).__name__}")
    return data


def text_of(value: Any) -> str:
    """A payload scalar as a stripped string ('' for null/objects): ids come as str or int."""
    if isinstance(value, bool) or value is None or isinstance(value, dict | list):
        return ""
    return str(value).strip()
