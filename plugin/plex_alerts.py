"""Plex websocket alerts as a webhook substitute (servers without Plex Pass).

``PlexServer.startAlertListener`` opens ``/:/websockets/notifications`` in a daemon
thread that simply ends when the socket closes (PMS restart, network blip) and never
reconnects (python-plexapi#836).  :class:`PlexAlertSource` supervises it: when the
listener thread is gone it reconnects with backoff, and after a reconnect it calls
``on_reconnect`` so the caller can run a catch-up scan for what it missed.

Only timeline entries of the library with ``state == 5`` ("processed") for movies
(type 1) and episodes (type 4) become ``added`` events.  PMS also re-sends state 5
after a metadata refresh (including the one Scanarr asks for), so an item id seen in
the last ``dedupe_seconds`` is dropped here; the core's state table handles the rest.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol

from sidecar.host import ADDED, HostEvent, text_of

log = logging.getLogger(__name__)

LIBRARY_IDENTIFIER = "com.plexapp.plugins.library"
STATE_PROCESSED = 5
_TIMELINE_TYPES = {1: "movie", 4: "episode"}


class AlertListener(Protocol):
    """What we use of ``plexapi.alert.AlertListener`` (a Thread)."""

    def is_alive(self) -> bool: ...
    def stop(self) -> None: ...


def timeline_events(data: Mapping[str, Any]) -> Iterator[HostEvent]:
    """``NotificationContainer`` dict -> HostEvents for processed movies and episodes."""
    if data.get("type") != "timeline":
        return
    entries = data.get("TimelineEntry")
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or entry.get("identifier") != LIBRARY_IDENTIFIER:
            continue
        if _int(entry.get("state")) != STATE_PROCESSED or entry.get("mediaState"):
            continue
        item_type = _TIMELINE_TYPES.get(_int(entry.get("type")) or 0)
        item_id = text_of(entry.get("itemID"))
        if item_type and item_id.isdigit():
            yield HostEvent(
                "plex",
                ADDED,
                item_id,
                item_type,
                title=text_of(entry.get("title")),
                event="timeline",
            )


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class PlexAlertSource:
    """Keeps one alert listener alive and forwards processed items to ``on_event``.

    ``server_factory`` returns something with ``startAlertListener(callback,
    callbackError)`` (a ``PlexServer``); ``wait(seconds)`` returns True when stopped
    (defaults to the stop event, so ``stop()`` interrupts every wait).
    """

    def __init__(
        self,
        server_factory: Callable[[], Any],
        on_event: Callable[[HostEvent], None],
        *,
        on_reconnect: Callable[[], None] | None = None,
        backoff: Sequence[float] = (1, 2, 5, 10, 30, 60),
        stable_after: float = 60.0,
        check_every: float = 5.0,
        dedupe_seconds: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
        wait: Callable[[float], bool] | None = None,
    ) -> None:
        self._factory = server_factory
        self._on_event = on_event
        self._on_reconnect = on_reconnect
        self._backoff = tuple(backoff) or (1.0,)
        self._stable_after = stable_after
        self._check_every = check_every
        self._dedupe_seconds = dedupe_seconds
        self._clock = clock
        self._stopped = threading.Event()
        self._wait = wait or self._stopped.wait
        self._seen: dict[str, float] = {}
        self._listener: AlertListener | None = None
        self._thread: threading.Thread | None = None
        self.connects = 0

    def start(self) -> None:
        """Run the supervisor in a daemon thread."""
        self._thread = threading.Thread(target=self.run, name="plex-alerts", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopped.set()
        listener = self._listener
        if listener is not None:
            try:
                listener.stop()
            except Exception as err:  # a listener that never connected has no socket to close
                log.debug("plex alerts: stop: %s", err)
        if self._thread is not None:
            self._thread.join(timeout)

    def run(self) -> None:
        """Supervisor loop: connect, watch the listener thread, back off, reconnect."""
        failures = 0
        while not self._stopped.is_set():
            started = self._clock()
            self._watch_one_listener()
            if self._stopped.is_set():
                break
            if self._clock() - started >= self._stable_after:
                failures = 0  # it ran fine for a while: this is a fresh outage
            delay = self._backoff[min(failures, len(self._backoff) - 1)]
            failures += 1
            log.warning("plex alerts: listener down, reconnecting in %.0f s", delay)
            if self._sleep(delay):
                break

    def _watch_one_listener(self) -> None:
        try:
            self._listener = self._factory().startAlertListener(self.handle_alert, self._on_error)
        except Exception as err:  # any failure to connect is retried after a backoff
            log.warning("plex alerts: cannot start listener: %s", err)
            return
        announced = False
        while self._listener.is_alive():
            if self._sleep(self._check_every):
                return
            if not announced and self._listener.is_alive():
                announced = True
                self._connected()

    def _sleep(self, seconds: float) -> bool:
        """Wait; True (and stopped for good) when the wait was cut short by stop()."""
        if self._wait(seconds):
            self._stopped.set()
        return self._stopped.is_set()

    def _connected(self) -> None:
        """The socket survived one check: count it, and catch up if it is a reconnect."""
        self.connects += 1
        log.info("plex alerts: listening (connection %d)", self.connects)
        if self.connects > 1 and self._on_reconnect is not None:
            try:
                self._on_reconnect()
            except Exception:
                log.exception("plex alerts: on_reconnect failed")

    def handle_alert(self, data: Mapping[str, Any]) -> None:
        """The listener callback: never raises (an exception would only be logged by plexapi)."""
        try:
            for event in timeline_events(data):
                if self._fresh(event.item_id):
                    self._on_event(event)
        except Exception:
            log.exception("plex alerts: cannot handle alert")

    def _fresh(self, item_id: str) -> bool:
        now = self._clock()
        if len(self._seen) > 1000:
            self._seen = {k: t for k, t in self._seen.items() if now - t < self._dedupe_seconds}
        last = self._seen.get(item_id)
        if last is not None and now - last < self._dedupe_seconds:
            return False
        self._seen[item_id] = now
        return True

    @staticmethod
    def _on_error(error: Exception) -> None:
        log.warning("plex alerts: websocket error: %s", error)
