"""Plex adapter: webhook parsing, ratingKey -> paths, partial-scan refresh (plexapi).

The only module of Scanarr that imports plexapi.  The ``PlexServer`` is created
lazily (the sidecar must start while PMS is still booting) and dropped again after a
connection or auth failure, so the next call reconnects.  Every plexapi/requests
failure leaves here as :class:`~sidecar.errors.HostError` with a short message that
never contains the token.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any
from xml.etree.ElementTree import ParseError

import requests
from plexapi.exceptions import NotFound, PlexApiException, Unauthorized
from plexapi.library import Library, LibrarySection
from plexapi.server import PlexServer

from plugin import plex_webhook
from plugin.plex_alerts import PlexAlertSource
from sidecar.errors import HostError
from sidecar.host import Host, HostEvent, MappedHost
from sidecar.pathmap import PathMapper, host_path, is_within

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 15.0
__all__ = ["DEFAULT_TIMEOUT", "PlexAlertSource", "PlexHost", "create"]


class PlexHost:
    """:class:`sidecar.host.Host` for Plex Media Server (paths are as PMS sees them)."""

    name = "plex"

    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        session: requests.Session | None = None,
        server_factory: Callable[[], PlexServer] | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self._token = token
        self.timeout = timeout
        self._session = session
        self._factory = server_factory or self._connect
        self._server: PlexServer | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"PlexHost({self.url!r})"  # never the token

    # --- Host protocol ---------------------------------------------------------------

    def parse_webhook(
        self, body: bytes, content_type: str, form: Mapping[str, str] | None = None
    ) -> HostEvent:
        return plex_webhook.parse_webhook(body, content_type, form)

    def resolve_paths(self, event: HostEvent) -> list[str]:
        """Files of a movie/episode, folders of a show, episode folders of a season."""
        if not event.item_id.isdigit():
            raise HostError(f"not a Plex ratingKey: {event.item_id[:40]!r}")
        with self._errors(f"looking up item {event.item_id}"):
            try:
                item = self.server().fetchItem(int(event.item_id))
            except NotFound:
                raise HostError(f"unknown item: Plex has no ratingKey {event.item_id}") from None
            paths = _item_locations(item)
        if not paths:
            raise HostError(f"Plex item {event.item_id} has no files")
        return paths

    def refresh(self, paths: Sequence[str]) -> None:
        """One partial scan per distinct folder, in the section whose location holds it."""
        folders = list(dict.fromkeys(p for p in paths if p))
        if not folders:
            return
        unmatched = []
        with self._errors("asking for a partial scan"):
            sections = self._sections()
            for folder in folders:
                section = section_for(sections, folder)
                if section is None:
                    unmatched.append(folder)
                    continue
                log.info("plex: partial scan of %r in section %s", folder, section.key)
                section.update(path=folder)
        if unmatched:
            raise HostError(f"not inside any Plex library location: {', '.join(unmatched)}")

    def active_sessions(self) -> int:
        try:
            with self._errors("counting sessions"):
                data = self.server().query("/status/sessions")
        except HostError as err:
            log.debug("plex: session count unknown: %s", err)
            return 0
        return 0 if data is None else len(list(data))

    def test_connection(self) -> str:
        with self._lock:
            self._server = None  # the Test button must really connect
        with self._errors("connecting"):
            server = self.server()
            return f"Plex {server.friendlyName} {server.version}"

    def alert_source(
        self,
        on_event: Callable[[HostEvent], None],
        on_reconnect: Callable[[], None] | None = None,
        **options: Any,
    ) -> PlexAlertSource:
        """A websocket alert source on this server (for owners without Plex Pass); not started."""
        return PlexAlertSource(self.server, on_event, on_reconnect=on_reconnect, **options)

    # --- plumbing --------------------------------------------------------------------

    def server(self) -> PlexServer:
        """The connected PlexServer, created on first use (PlexServer() fetches ``/``)."""
        with self._lock:
            if self._server is None:
                self._server = self._factory()
            return self._server

    def _connect(self) -> PlexServer:
        return PlexServer(self.url, self._token, session=self._session, timeout=self.timeout)

    def _sections(self) -> list[LibrarySection]:
        """Sections read fresh on every refresh batch: locations change rarely, but do."""
        server = self.server()
        return list(Library(server, server.query(Library.key)).sections())

    def _forget_server(self) -> None:
        with self._lock:
            self._server = None

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Map plexapi/requests failures to HostError (short, token-free messages)."""
        try:
            yield
        except Unauthorized:
            self._forget_server()
            raise HostError(f"Plex rejected the token while {action} (401)") from None
        except requests.RequestException as err:
            self._forget_server()
            raise HostError(
                f"Plex unreachable at {self.url} while {action}: {type(err).__name__}"
            ) from None
        except NotFound as err:
            raise HostError(f"Plex: not found while {action}: {_short(err)}") from None
        except (PlexApiException, ParseError) as err:
            raise HostError(f"Plex error while {action}: {_short(err)}") from None


def _short(err: Exception) -> str:
    return str(err).splitlines()[0][:200] if str(err) else type(err).__name__


def _item_locations(item: Any) -> list[str]:
    """plexapi item -> host paths; a season has no Location, so use its episodes' folders."""
    if getattr(item, "type", None) == "season":
        folders = [str(host_path(p).parent) for ep in item.episodes() for p in ep.locations]
        return list(dict.fromkeys(folders)) or list(item.show().locations)
    return [str(p) for p in item.locations if p]


def section_for(sections: Sequence[LibrarySection], folder: str) -> LibrarySection | None:
    """The section with the longest location containing ``folder`` (component-wise)."""
    target = host_path(folder)
    best: tuple[int, LibrarySection] | None = None
    for section in sections:
        for location in section.locations:
            loc = host_path(location)
            if is_within(target, loc) and (best is None or len(loc.parts) > best[0]):
                best = (len(loc.parts), section)
    return best[1] if best else None


def create(
    url: str,
    token: str,
    path_map: PathMapper | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    session: requests.Session | None = None,
) -> Host:
    """Factory used by :func:`sidecar.host.load_host`; with ``path_map`` paths are local."""
    host = PlexHost(url, token, timeout=timeout, session=session)
    return MappedHost(host, path_map) if path_map is not None else host
