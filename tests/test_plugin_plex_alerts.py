"""Plex websocket alerts: timeline parsing, dedupe, and the reconnecting supervisor (fakes only)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from plugin.plex_alerts import PlexAlertSource, timeline_events
from sidecar.host import ADDED, HostEvent
from tests.fakes.fake_clock import FakeClock


def timeline(*entries: dict[str, Any]) -> dict[str, Any]:
    """What plexapi hands the callback: ``json['NotificationContainer']``."""
    return {"type": "timeline", "size": len(entries), "TimelineEntry": list(entries)}


def entry(item_id: str = "5711", type: Any = 4, state: Any = 5, **extra: Any) -> dict[str, Any]:
    base = {
        "identifier": "com.plexapp.plugins.library",
        "sectionID": "2",
        "itemID": item_id,
        "parentItemID": "5710",
        "rootItemID": "5700",
        "type": type,
        "title": "Pilot",
        "state": state,
        "updatedAt": 1700000000,
    }
    return base | extra


ACTIVITY = {
    "type": "activity",
    "size": 1,
    "ActivityNotification": [
        {
            "event": "ended",
            "uuid": "6f3c",
            "Activity": {
                "uuid": "6f3c",
                "type": "library.update.section",
                "title": "Scanning TV Shows",
                "progress": 100,
                "Context": {"librarySectionID": "2"},
            },
        }
    ],
}


def test_processed_movie_and_episode_become_added_events() -> None:
    events = list(timeline_events(timeline(entry("5711", 4), entry("88", 1, title="Heat"))))
    assert events == [
        HostEvent("plex", ADDED, "5711", "episode", title="Pilot", event="timeline"),
        HostEvent("plex", ADDED, "88", "movie", title="Heat", event="timeline"),
    ]


@pytest.mark.parametrize(
    "data",
    [
        timeline(entry(state=0)),  # created
        timeline(entry(state=1)),  # progress
        timeline(entry(state=4)),  # processing metadata
        timeline(entry(state=9)),  # deleted
        timeline(entry(type=2)),  # show
        timeline(entry(type=3)),  # season
        timeline(entry(type=10)),  # track
        timeline(entry(identifier="com.plexapp.plugins.other")),
        timeline(entry(mediaState="analyzing")),
        timeline(entry(item_id="")),
        timeline(entry(state="five")),  # junk
        timeline("not a dict"),  # type: ignore[arg-type]
        {"type": "timeline", "TimelineEntry": "junk"},
        ACTIVITY,
        {"type": "playing", "PlaySessionStateNotification": [{"state": "playing"}]},
        {},
    ],
)
def test_everything_else_is_dropped(data: dict[str, Any]) -> None:
    assert list(timeline_events(data)) == []


def test_string_typed_fields_are_accepted() -> None:
    assert [e.item_id for e in timeline_events(timeline(entry("7", type="1", state="5")))] == ["7"]


def test_handle_alert_dedupes_within_the_window() -> None:
    clock, seen = FakeClock(), list[HostEvent]()
    source = PlexAlertSource(lambda: None, seen.append, clock=clock, dedupe_seconds=300)
    source.handle_alert(timeline(entry("1"), entry("1"), entry("2")))
    clock.now += 299
    source.handle_alert(timeline(entry("1")))
    clock.now += 2
    source.handle_alert(timeline(entry("1")))
    assert [e.item_id for e in seen] == ["1", "2", "1"]


def test_handle_alert_never_raises() -> None:
    def boom(event: HostEvent) -> None:
        raise RuntimeError("consumer broke")

    PlexAlertSource(lambda: None, boom).handle_alert(timeline(entry()))  # logged, not raised


# --- supervisor -------------------------------------------------------------------------


class FakeListener:
    """Stands in for plexapi's AlertListener thread: alive for ``life`` checks."""

    def __init__(self, life: int) -> None:
        self.life = life
        self.stopped = False

    def is_alive(self) -> bool:
        return self.life > 0 and not self.stopped

    def stop(self) -> None:
        self.stopped = True


class FakeServer:
    def __init__(self, listener: FakeListener) -> None:
        self.listener = listener
        self.callback: Callable[[dict[str, Any]], None] | None = None

    def startAlertListener(
        self, callback: Callable[[dict[str, Any]], None], callbackError: Callable[[Exception], None]
    ) -> FakeListener:
        self.callback = callback
        return self.listener


class Script:
    """Drives the supervisor: each factory call takes the next step; waits advance time."""

    def __init__(self, steps: list[Any], max_waits: int) -> None:
        self.steps = steps
        self.max_waits = max_waits
        self.waits: list[float] = []
        self.clock = FakeClock()
        self.current: FakeListener | None = None
        self.servers: list[FakeServer] = []

    def factory(self) -> FakeServer:
        step = self.steps.pop(0)
        if isinstance(step, Exception):
            raise step
        self.current = FakeListener(step)
        self.servers.append(FakeServer(self.current))
        return self.servers[-1]

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        self.clock.now += seconds
        if self.current is not None and self.current.life > 0:
            self.current.life -= 1
        return len(self.waits) >= self.max_waits  # True = stopped


def test_supervisor_backs_off_reconnects_and_catches_up() -> None:
    script = Script([ConnectionError("refused"), OSError("boom"), 3, 100], max_waits=10)
    reconnects: list[int] = []
    source = PlexAlertSource(
        script.factory,
        lambda e: None,
        on_reconnect=lambda: reconnects.append(1),
        backoff=(1, 2, 5),
        check_every=5,
        stable_after=60,
        clock=script.clock,
        wait=script.wait,
    )
    source.run()
    # two failed connects back off 1 s then 2 s; listener A lives 3 checks then dies
    # (15 s < stable_after, so the backoff keeps growing: 5 s); listener B stays up.
    assert script.waits == [1, 2, 5, 5, 5, 5, 5, 5, 5, 5]
    assert source.connects == 2 and reconnects == [1]


def test_supervisor_resets_backoff_after_a_stable_connection() -> None:
    script = Script([ConnectionError(), 20, ConnectionError(), 100], max_waits=25)
    source = PlexAlertSource(
        script.factory,
        lambda e: None,
        backoff=(1, 2, 5),
        check_every=5,
        stable_after=60,
        clock=script.clock,
        wait=script.wait,
    )
    source.run()
    assert script.waits[:1] == [1]
    assert script.waits[1:21] == [5] * 20  # listener alive 100 s: counts as stable
    assert script.waits[21:23] == [1, 2]  # fresh outage: backoff restarts at 1 s, then grows
    assert source.connects == 2


def test_listener_callback_reaches_on_event() -> None:
    script = Script([100], max_waits=1)
    seen: list[HostEvent] = []
    source = PlexAlertSource(script.factory, seen.append, clock=script.clock, wait=script.wait)
    source.run()
    callback = script.servers[0].callback
    assert callback is not None
    callback(timeline(entry("42", 1)))
    assert [(e.item_id, e.item_type) for e in seen] == [("42", "movie")]


def test_start_and_stop_with_real_threads() -> None:
    attempts = threading.Event()

    def failing_factory() -> Any:
        attempts.set()
        raise ConnectionError("PMS is down")

    source = PlexAlertSource(failing_factory, lambda e: None, backoff=(0.01,))
    source.start()
    assert attempts.wait(5)
    source.stop(timeout=5)
    assert source._thread is not None and not source._thread.is_alive()


def test_stop_closes_the_listener() -> None:
    listener = FakeListener(10**6)
    source = PlexAlertSource(lambda: FakeServer(listener), lambda e: None, check_every=0.01)
    source.start()
    for _ in range(500):
        if source.connects:
            break
        threading.Event().wait(0.01)
    source.stop(timeout=5)
    assert listener.stopped
    assert source._thread is not None and not source._thread.is_alive()
