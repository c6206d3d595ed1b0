"""The running Scanarr: everything ``scanarr serve`` keeps alive, behind one object.

``Service`` owns the long-lived pieces -- the App from the composition root (store,
client, scanner, engine), the host adapter and its path mapper, webhook intake, the
host refresh batcher, background scan runs and the scheduler -- and is the only thing
the web layer talks to (``sidecar.web.common.Service`` is the contract).

Settings saved on the settings page apply live: the App (client, limiter, writer,
workers) is rebuilt and swapped when a setting it depends on changes, the host adapter
when the host settings change, the schedule when the interval or refresh time change.
Swapping stops the old workers first (their in-flight jobs finish or are released), so
two engines never run at once; the queue is then refilled from the state table.

Reports (status, metrics, the Test buttons) live in ``sidecar.diagnostics``.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sidecar import diagnostics, itemactions, settingsedit
from sidecar.app import AUTH_ERROR_KEY, App, build_app, open_store, startup_recovery
from sidecar.config import Settings, load_settings
from sidecar.errors import BadRequest, ConfigError
from sidecar.host import Host, HostEvent
from sidecar.hostevents import Latencies
from sidecar.hostlink import HostLink
from sidecar.hostsync import HostSync
from sidecar.intake import Intake
from sidecar.leader import Leadership
from sidecar.scanrun import ScanRunner
from sidecar.scheduler import Scheduler
from sidecar.settingsedit import settable
from sidecar.state import Item, StateStore
from sidecar.workqueue import Priority

log = logging.getLogger(__name__)
HOSTS = ("plex", "jellyfin")
HOST_KEYS = frozenset({"host", "host_url", "host_token", "path_map", "plex_alerts", "libraries"})
SCHEDULE_KEYS = frozenset({"scan_interval", "refresh_time"})
LIVE_KEYS = frozenset({"webhook_secret", "admin_password", "log_level"})  # read per use


class Service:
    """See the module docstring; the web layer's contract is ``sidecar.web.common.Service``."""

    def __init__(self, env: Mapping[str, str] | None = None, *,
                 clock: Callable[[], float] = time.time) -> None:
        self._env = dict(env) if env is not None else None
        self.clock = clock
        self._store, self._settings = open_store(self._env)
        self._lock = threading.RLock()        # guards swaps of app / host
        self.scan_lock = threading.Lock()     # one walk of the library at a time
        self._stopping = threading.Event()
        self.started_at: float | None = None
        self.app: App = build_app(self._settings, self._store, notify=self._written)
        self.link = HostLink(self._settings, self.app.roots)
        self.hostsync = HostSync(self.link.target)
        self.intake = Intake(self._store, self.link.target, record=self._record,
                             enqueue=self._enqueue_urgent, echo=self.hostsync.recently_written)
        self.runner = ScanRunner(self._store, lambda: self.app, self.scan_lock,
                                 sessions=self.link.active_sessions, stopping=self._stopping)
        self.leadership: Leadership | None = None
        self.scheduler = Scheduler(self._scheduled_scan,
                                   interval_minutes=self._settings.scan_interval,
                                   refresh_time=self._settings.refresh_time,
                                   leader=self._leader())
        self.webhook_latency = Latencies()
        self.webhook_counts: dict[str, int] = {}  # "<host>_<status>" -> answers
        self._counts_lock = threading.Lock()

    # -- the contract's read side -----------------------------------------------------------

    @property
    def settings(self) -> Settings:
        return self._settings

    @property
    def store(self) -> StateStore:
        return self._store

    @property
    def host(self) -> Host | None:
        return self.link.host

    @property
    def host_error(self) -> str | None:
        return self.link.error

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Recover, then start workers, intake, host refresh, scheduler (and Plex alerts)."""
        startup_recovery(self._store)
        self._ensure_webhook_secret()
        logging.getLogger().setLevel(self._settings.log_level)
        self.app.engine.start()
        queued = self.app.engine.enqueue_pending()
        log.info("scanarr service starting: %d item(s) queued from the state table", queued)
        # A full scan a crash cut short goes on; before the scheduler's first run, whose
        # row would otherwise read as 'something else was chosen instead of resuming'.
        self.runner.resume_full()
        self.hostsync.start()
        self.intake.start()
        self.scheduler.start()
        self._start_alerts()
        self.started_at = self.clock()

    def stop(self) -> None:
        """Stop taking work; in-flight jobs finish or are released (nothing stays PROCESSING)."""
        self._stopping.set()
        self.scheduler.stop()
        self.link.stop_alerts()
        self.intake.stop()
        with self._lock:
            released = self.app.engine.stop()
        self.runner.join(timeout=5.0)
        self.hostsync.stop(flush=True, timeout=5.0)
        if self.leadership is not None:
            self.leadership.release()
        log.info("scanarr service stopped%s",
                 f" ({released} item(s) released)" if released else "")

    def _ensure_webhook_secret(self) -> None:
        """First start: make the shared webhook secret the settings page shows."""
        if self._settings.webhook_secret:
            return
        self._store.save_settings({"webhook_secret": secrets.token_urlsafe(32)})
        self._settings = load_settings(self._store.stored_settings(), self._env)
        log.info("generated a webhook secret (shown on the settings page)")

    # -- settings ----------------------------------------------------------------------------

    def save_settings(self, values: Mapping[str, str]) -> Settings:
        """Validate (ConfigError names the field), persist, and apply without a restart."""
        with self._lock:
            wanted = settable(self._settings, values)
            new = load_settings({**self._store.stored_settings(), **wanted}, self._env)
            self._store.save_settings(wanted)
            old, self._settings = self._settings, new
            self._apply(old, new)
        return new

    def _apply(self, old: Settings, new: Settings) -> None:
        changed = settingsedit.changed(old, new)
        if not changed:
            return
        log.info("settings changed: %s", ", ".join(sorted(changed)))
        if changed - HOST_KEYS - SCHEDULE_KEYS - LIVE_KEYS or "libraries" in changed:
            self._swap_app(new)
        if changed & HOST_KEYS:
            self._swap_host(new)
        if changed & SCHEDULE_KEYS:
            self.scheduler.reschedule(new.scan_interval, new.refresh_time)
        if "log_level" in changed:
            logging.getLogger().setLevel(new.log_level)

    def _swap_app(self, settings: Settings) -> None:
        """New client/limiter/writer/workers; the old engine stops before the new starts."""
        running = self.started_at is not None and not self._stopping.is_set()
        fresh = build_app(settings, self._store, notify=self._written)
        if running:
            self.app.engine.stop()
        self._store.save_settings({AUTH_ERROR_KEY: None})
        self.app = fresh
        if running:
            fresh.engine.start()
            fresh.engine.enqueue_pending()

    def _swap_host(self, settings: Settings) -> None:
        self.link.configure(settings, self.app.roots)
        if self.started_at is not None and not self._stopping.is_set():
            self._start_alerts()

    # -- scans and items ---------------------------------------------------------------------

    def start_scan(self, mode: str, *, priority: Priority | None = None,
                   paths: Sequence[str] = (), trigger: str = "web") -> bool:
        """Run a scan in the background; False while one of the same mode is still going."""
        return self.runner.start(mode, priority=priority, paths=paths, trigger=trigger)

    def progress(self) -> dict[str, Any]:
        return self.runner.progress()

    def retry(self, path: str) -> None:
        """An item in ERROR is tried again now, at HIGH priority."""
        self._enqueue([itemactions.retry(self._store, path)], Priority.HIGH)

    def fix_match(self, path: str, tmdb_id: int) -> None:
        """Set the TMDB id by hand (an episode's goes to its whole show); refetch at CRITICAL."""
        self._enqueue(itemactions.fix_match(self._store, path, tmdb_id), Priority.CRITICAL)

    def _enqueue(self, items: list[Item], priority: Priority) -> None:
        with self._lock:
            self.app.engine.enqueue_items(items, priority)

    # -- webhooks ------------------------------------------------------------------------------

    def handle_webhook(self, host: str, body: bytes, content_type: str,
                       form: Mapping[str, str]) -> tuple[int, str]:
        """Parse and store one webhook; 202 accepted/ignored or 4xx with a reason, never 500."""
        started = time.monotonic()
        try:
            status, message = self._webhook(host, body, content_type, form)
        except BadRequest as exc:
            status, message = exc.status, str(exc)
        except Exception:
            log.exception("webhook from %s could not be stored", host)
            status, message = 503, "the event could not be stored; please send it again"
        self.webhook_latency.add(time.monotonic() - started)
        with self._counts_lock:
            key = f"{host}_{status}"
            self.webhook_counts[key] = self.webhook_counts.get(key, 0) + 1
        if status >= 400:
            log.info("webhook %s answered %d: %s", host, status, message)
        return status, message

    def _webhook(self, host: str, body: bytes, content_type: str,
                 form: Mapping[str, str]) -> tuple[int, str]:
        if host not in HOSTS:
            return 404, f"no webhook for {host!r}"
        adapter = self.link.host
        if adapter is None or adapter.name != host:
            configured = self._settings.host if adapter else f"{self._settings.host} (not usable)"
            return 409, f"a {host} webhook, but the media server setting is {configured}"
        try:
            event = adapter.parse_webhook(body, content_type, dict(form))
        except BadRequest:
            raise
        except Exception as exc:
            log.warning("unreadable %s webhook: %r", host, exc)
            raise BadRequest(f"unreadable {host} webhook") from None
        if not event.added:
            return 202, f"ignored: {event.event or 'unknown event'} ({event.item_type})"
        self.intake.submit(event)
        return 202, f"accepted: {event.event} {event.item_type} {event.title}".rstrip()

    # -- wiring for intake, runs and the scheduler ------------------------------------------------

    def _written(self, folders: list[str]) -> None:
        """The worker's ``notify``: late-bound, so a rebuilt HostSync is never bypassed."""
        self.hostsync.add(folders)

    def _record(self, folders: Sequence[str]) -> None:
        with self.scan_lock:
            self.app.scanner.scan("quick", folders)

    def _enqueue_urgent(self, items: list[Item]) -> int:
        with self._lock:
            return self.app.engine.enqueue_items(items, Priority.HIGH)

    def _scheduled_scan(self, mode: str, trigger: str) -> bool:
        self._retry_auth()  # a key re-enabled at TMDB is noticed within one interval
        return self.start_scan(mode, trigger=trigger)

    def _retry_auth(self) -> None:
        """Fetching stopped on a 401: take work again (one request tells if it still fails)."""
        with self._lock:
            if self.app.worker.auth_error is not None:
                log.info("retrying TMDB after the earlier auth error")
                self.app.engine.resume_fetching()

    def _leader(self) -> Callable[[], bool] | None:
        """With a shared backend (several Scanarrs, one library) only the leader scans on
        schedule; the lease lasts two intervals and the scheduler renews it every minute."""
        url = self._settings.rate_limit_url
        if not url:
            return None
        self.leadership = Leadership(url, "scanarr-scheduler",
                                     max(300, 2 * 60 * self._settings.scan_interval))
        return self.leadership.try_acquire

    def _start_alerts(self) -> None:
        self.link.start_alerts(self._on_alert,
                               lambda: self.start_scan("quick", trigger="alerts"))

    def _on_alert(self, event: HostEvent) -> None:
        if event.added:
            self.intake.submit(event)

    # -- reports (see sidecar.diagnostics) ------------------------------------------------------

    def webhook_answers(self) -> dict[str, int]:
        with self._counts_lock:
            return dict(self.webhook_counts)

    def status(self) -> dict[str, Any]:
        return diagnostics.status(self)

    def metrics(self) -> dict[str, Any]:
        return diagnostics.metrics(self)

    def test_tmdb(self) -> str:
        """The settings page's Test button; a key that works again resumes fetching."""
        message = diagnostics.test_tmdb(self.settings, self.app.limiter)
        self._retry_auth()
        return message

    def test_host(self) -> str:
        host = self.link.host
        if host is None:
            raise ConfigError("host", self.link.error or "no media server is configured")
        return host.test_connection()

    def test_library(self, path: str) -> str:
        return diagnostics.test_library(path, self.link.mapper)

