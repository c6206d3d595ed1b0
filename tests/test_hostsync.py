"""Host refresh batching: debounce, outermost folders, host paths, failures never block."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import pytest

from sidecar.errors import HostError
from sidecar.host import Host, HostEvent
from sidecar.hostsync import HostSync, outermost, within
from sidecar.pathmap import PathMapper
from tests.fakes.fake_clock import FakeClock


class RecordingHost:
    """Just enough of the Host protocol; ``down`` makes refresh fail like a dead server."""

    name = "fake"

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.down = False

    def parse_webhook(self, body: bytes, content_type: str, form: object = None) -> HostEvent:
        raise NotImplementedError

    def resolve_paths(self, event: HostEvent) -> list[str]:
        raise NotImplementedError

    def refresh(self, paths: Sequence[str]) -> None:
        if self.down:
            raise HostError("Plex unreachable at http://plex:32400")
        self.calls.append(list(paths))

    def active_sessions(self) -> int:
        return 0

    def test_connection(self) -> str:
        return "ok"


@pytest.fixture
def host() -> RecordingHost:
    return RecordingHost()


def make_sync(host: RecordingHost | None, clock: FakeClock, **kw: Any) -> HostSync:
    mapper = PathMapper([("/data/tv", "/media/tv")], roots=["/media"])
    target: Host | None = host
    return HostSync(lambda: (target, mapper) if target is not None else None, clock=clock,
                    **kw)


def test_outermost_keeps_the_show_folder_only() -> None:
    folders = ["/m/tv/Show/Season 01", "/m/tv/Show", "/m/tv/Show/Season 02", "/m/tv/Showtime",
               "/m/movies/Heat (1995)", "/m/tv/Show"]
    assert outermost(folders) == ["/m/tv/Show", "/m/tv/Showtime", "/m/movies/Heat (1995)"]
    assert within("/m/tv/Show/x.mkv", "/m/tv/Show")
    assert not within("/m/tv/Showtime", "/m/tv/Show")


def test_a_burst_becomes_one_refresh_in_host_paths(host: RecordingHost) -> None:
    clock = FakeClock()
    sync = make_sync(host, clock, debounce=5, max_delay=30)
    for _ in range(20):
        sync.add(["/media/tv/Show/Season 01", "/media/tv/Show"])
        clock.now += 0.5
    assert sync.due_in() == pytest.approx(4.5)
    clock.now += 5
    assert sync.due_in() == 0
    assert sync.flush() == 1
    assert host.calls == [["/data/tv/Show"]]
    assert sync.due_in() is None


def test_recently_written_folders_are_echoes(host: RecordingHost) -> None:
    clock = FakeClock()
    sync = make_sync(host, clock, echo_seconds=300)
    sync.add(["/media/tv/Show"])
    sync.flush()
    assert sync.recently_written("/media/tv/Show/Season 01/Show - S01E01.mkv")
    assert not sync.recently_written("/media/tv/Other/x.mkv")
    clock.now += 301
    assert not sync.recently_written("/media/tv/Show/Season 01/Show - S01E01.mkv")


def test_host_down_is_retried_then_dropped(host: RecordingHost,
                                           caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    sync = make_sync(host, clock, retries=2)
    host.down = True
    sync.add(["/media/tv/Show"])
    for _ in range(3):
        assert sync.flush() == 0
    assert sync.due_in() is None, "given up after the retries"
    assert sync.stats["refresh_failures"] == 3
    assert sync.stats["folders_dropped"] == 1
    assert "gave up" in caplog.text
    host.down = False
    sync.add(["/media/tv/Other"])
    assert sync.flush() == 1


def test_host_back_before_the_retries_run_out(host: RecordingHost) -> None:
    sync = make_sync(host, FakeClock(), retries=2)
    host.down = True
    sync.add(["/media/tv/Show"])
    sync.flush()
    host.down = False
    assert sync.flush() == 1
    assert host.calls == [["/data/tv/Show"]]


def test_no_host_configured_drops_quietly() -> None:
    sync = make_sync(None, FakeClock())
    sync.add(["/media/tv/Show"])
    assert sync.flush() == 0
    assert sync.stats["dropped_no_host"] == 1


def test_unexpected_adapter_errors_are_contained(host: RecordingHost) -> None:
    def explode(paths: Sequence[str]) -> None:
        raise RuntimeError("plexapi blew up")

    host.refresh = explode  # type: ignore[method-assign]
    sync = make_sync(host, FakeClock(), retries=0)
    sync.add(["/media/tv/Show"])
    assert sync.flush() == 0


def test_thread_sends_the_batch_and_stop_flushes_the_rest(host: RecordingHost) -> None:
    sync = make_sync(host, time.monotonic, debounce=0.05, max_delay=0.2)  # type: ignore[arg-type]
    sync.start()
    try:
        sync.add(["/media/tv/A"])
        deadline = time.monotonic() + 5
        while not host.calls and time.monotonic() < deadline:
            time.sleep(0.01)
        assert host.calls == [["/data/tv/A"]]
        sync.debounce = sync.max_delay = 60
        sync.add(["/media/tv/B"])
    finally:
        sync.stop(flush=True)
    assert host.calls[-1] == ["/data/tv/B"]
