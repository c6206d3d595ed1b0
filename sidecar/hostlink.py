"""The service's link to the media server: adapter, path mapper, Plex alert listener.

One object that can be rebuilt when the host settings change, so intake, host refresh
and the scan runner always ask ``link.target()`` for the *current* pair instead of
holding an adapter that the settings page has since replaced.  A host that cannot be
built (bad URL, unknown plugin) leaves ``error`` set and ``host`` None: the service
keeps serving the pages where the user fixes it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

from sidecar.config import Settings
from sidecar.errors import ScanarrError
from sidecar.host import Host, HostEvent, load_host
from sidecar.pathmap import PathMapper

log = logging.getLogger(__name__)


def make_host(settings: Settings) -> tuple[Host | None, str | None]:
    """The configured adapter (paths as the host sees them), or (None, why not)."""
    if settings.host == "none":
        return None, None
    if not settings.host_url:
        return None, f"host_url: is required when the media server is {settings.host}"
    try:
        return load_host(settings.host, url=settings.host_url, token=settings.host_token), None
    except ScanarrError as exc:
        log.error("media server adapter unavailable: %s", exc)
        return None, str(exc)


class HostLink:
    """Current ``(host, mapper)``; rebuilt by :meth:`configure`."""

    def __init__(self, settings: Settings, roots: Sequence[str]) -> None:
        self._lock = threading.Lock()
        self.host: Host | None = None
        self.error: str | None = None
        self.mapper = PathMapper((), roots)
        self.alerts: Any = None
        self._alerts_wanted = False
        self.configure(settings, roots)

    def configure(self, settings: Settings, roots: Sequence[str]) -> None:
        """Build the adapter and mapper for ``settings`` (stops a running alert listener)."""
        self.stop_alerts()
        host, error = make_host(settings)
        with self._lock:
            self.host, self.error = host, error
            self.mapper = PathMapper(settings.path_map, roots)
            self._alerts_wanted = bool(settings.plex_alerts and host and host.name == "plex")

    def target(self) -> tuple[Host, PathMapper] | None:
        with self._lock:
            return (self.host, self.mapper) if self.host is not None else None

    @property
    def name(self) -> str | None:
        host = self.host
        return host.name if host is not None else None

    def active_sessions(self) -> int:
        host = self.host
        return host.active_sessions() if host is not None else 0

    def start_alerts(self, on_event: Callable[[HostEvent], None],
                     on_reconnect: Callable[[], object]) -> None:
        """Plex without Plex Pass: websocket alerts as a second event source (if enabled)."""
        factory = getattr(self.host, "alert_source", None)
        if not self._alerts_wanted or factory is None:
            return
        self.alerts = factory(on_event, on_reconnect=on_reconnect)
        self.alerts.start()
        log.info("listening to Plex alerts")

    def stop_alerts(self) -> None:
        alerts, self.alerts = self.alerts, None
        if alerts is not None:
            alerts.stop()
