"""The service's link to the media server: built from settings, rebuilt live, alerts wired."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from sidecar import hostlink
from sidecar.config import load_settings
from sidecar.host import ADDED, HostEvent
from sidecar.hostlink import HostLink


class FakeAlerts:
    def __init__(self, on_event: Callable[[HostEvent], None], on_reconnect: Any) -> None:
        self.on_event, self.on_reconnect = on_event, on_reconnect
        self.started = self.stopped = False

    def start(self) -> None:
        self.started = True

    def stop(self) -> None:
        self.stopped = True


class FakePlexHost:
    name = "plex"

    def __init__(self) -> None:
        self.alerts: list[FakeAlerts] = []

    def alert_source(self, on_event: Callable[[HostEvent], None], on_reconnect: Any) -> FakeAlerts:
        self.alerts.append(FakeAlerts(on_event, on_reconnect))
        return self.alerts[-1]

    def active_sessions(self) -> int:
        return 2


def settings(**env: str) -> Any:
    return load_settings({}, {f"SCANARR_{k.upper()}": v for k, v in env.items()})


def test_no_host_and_missing_url() -> None:
    link = HostLink(settings(), ["/media"])
    assert (link.host, link.error, link.target(), link.active_sessions()) == (None, None, None, 0)
    link.configure(settings(host="jellyfin"), ["/media"])
    assert link.host is None and "host_url" in (link.error or "")


def test_real_adapters_are_built_lazily(tmp_path: Any) -> None:
    link = HostLink(settings(host="plex", host_url="http://127.0.0.1:9", host_token="t",
                             path_map="/data=/media"), ["/media"])
    assert link.name == "plex"
    target = link.target()
    assert target is not None and target[1].to_local("/data/x.mkv") == "/media/x.mkv"


def test_alerts_start_only_when_enabled_and_stop_on_reconfigure(
        monkeypatch: pytest.MonkeyPatch) -> None:
    host = FakePlexHost()
    monkeypatch.setattr(hostlink, "make_host", lambda s: (host, None))
    events: list[HostEvent] = []
    link = HostLink(settings(host="plex", host_url="http://p"), ["/media"])
    link.start_alerts(events.append, lambda: None)
    assert host.alerts == [], "plex_alerts is off by default"
    link.configure(settings(host="plex", host_url="http://p", plex_alerts="true"), ["/media"])
    link.start_alerts(events.append, lambda: None)
    [alerts] = host.alerts
    assert alerts.started
    alerts.on_event(HostEvent("plex", ADDED, "5", "movie"))
    assert events[0].item_id == "5"
    assert link.active_sessions() == 2
    link.configure(settings(), ["/media"])
    assert alerts.stopped and link.alerts is None
