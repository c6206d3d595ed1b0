"""Webhook intake: stored events -> resolved, mapped, recorded, queued (or dropped, with why).

A real state store and scanner over a temporary library; the host is a fake that maps
item ids to host paths (``/data/...``), seen by Scanarr under the library folder.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from sidecar.errors import HostError
from sidecar.host import ADDED, HostEvent
from sidecar.intake import Intake
from sidecar.lifecycle import Lifecycle
from sidecar.pathmap import PathMapper
from sidecar.scanner import Scanner
from sidecar.state import Item, StateStore
from tests.fakes.fake_clock import FakeClock


class FakeHost:
    name = "plex"

    def __init__(self) -> None:
        self.paths: dict[str, list[str]] = {}
        self.down = False
        self.lookups: list[str] = []

    def parse_webhook(self, body: bytes, content_type: str, form: object = None) -> HostEvent:
        raise NotImplementedError

    def resolve_paths(self, event: HostEvent) -> list[str]:
        self.lookups.append(event.item_id)
        if self.down:
            raise HostError("Plex unreachable at http://plex:32400: ConnectionError")
        if event.item_id not in self.paths:
            raise HostError(f"unknown item: Plex has no ratingKey {event.item_id}")
        return self.paths[event.item_id]

    def refresh(self, paths: Sequence[str]) -> None:
        pass

    def active_sessions(self) -> int:
        return 0

    def test_connection(self) -> str:
        return "ok"


class Harness:
    def __init__(self, tmp: Path) -> None:
        self.lib = tmp / "lib"
        self.lib.mkdir()
        self.store = StateStore(tmp / "db.sqlite")
        self.scanner = Scanner(self.store, [str(self.lib)], settle_seconds=3600)
        self.host = FakeHost()
        self.mapper = PathMapper([("/data", str(self.lib))], roots=[str(self.lib)])
        self.clock = FakeClock(500.0)
        self.recorded: list[list[str]] = []
        self.queued: list[list[Item]] = []
        self.echoes: set[str] = set()
        self.intake = self.make_intake()

    def make_intake(self) -> Intake:
        return Intake(self.store, lambda: (self.host, self.mapper), record=self.record,
                      enqueue=self.enqueue, echo=lambda p: any(p.startswith(e)
                                                               for e in self.echoes),
                      clock=self.clock, retry_delays=(5, 15))

    def record(self, folders: Sequence[str]) -> None:
        self.recorded.append(list(folders))
        self.scanner.scan("quick", folders)

    def enqueue(self, items: list[Item]) -> int:
        self.queued.append(items)
        return len(items)

    def video(self, relative: str) -> str:
        path = self.lib / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\0" * 100)
        return str(path)

    def event(self, item_id: str, item_type: str = "movie", **ids: str) -> int:
        return self.intake.submit(HostEvent("plex", ADDED, item_id, item_type, ids=ids,
                                            event="library.new"))

    def pending(self) -> list[dict[str, Any]]:
        return self.store.pending_events()


@pytest.fixture
def h(tmp_path: Path) -> Harness:
    return Harness(tmp_path)


def test_movie_event_is_recorded_with_the_hosts_ids_and_queued(h: Harness) -> None:
    path = h.video("Heat (1995)/Heat (1995).mkv")
    h.host.paths["1001"] = ["/data/Heat (1995)/Heat (1995).mkv"]
    h.event("1001", tmdb="949", imdb="tt0113277")
    outcome = h.intake.process_due()
    assert outcome["resolved"] == 1 and outcome["items_queued"] == 1
    [[item]] = h.queued
    assert item.path == path
    assert (item.tmdb_id, item.imdb_id, item.id_source) == (949, "tt0113277", "host")
    assert item.state == Lifecycle.NEW, "queued although it is inside the settle window"
    assert h.pending() == []
    assert h.intake.latency.summary()["count"] == 1


def test_a_season_burst_is_one_scan_and_one_enqueue(h: Harness) -> None:
    for n in range(1, 21):
        h.video(f"Show (2020)/Season 01/Show - S01E{n:02d}.mkv")
        h.host.paths[str(n)] = [f"/data/Show (2020)/Season 01/Show - S01E{n:02d}.mkv"]
        h.event(str(n), "episode", tmdb=str(5000 + n))
    h.intake.process_due()
    assert len(h.recorded) == 1
    assert h.recorded[0] == [str(h.lib / "Show (2020)" / "Season 01")]
    [items] = h.queued
    assert len(items) == 20
    assert all(i.tmdb_id is None for i in items), "an episode's own tmdb id is not its show's"


def test_duplicates_in_a_batch_are_one_lookup(h: Harness) -> None:
    h.video("Heat (1995)/Heat (1995).mkv")
    h.host.paths["1001"] = ["/data/Heat (1995)/Heat (1995).mkv"]
    for _ in range(3):
        h.event("1001")
    outcome = h.intake.process_due()
    assert outcome["duplicates"] == 2
    assert h.host.lookups == ["1001"]
    assert h.pending() == []


def test_show_event_gives_the_show_id_to_its_new_episodes(h: Harness) -> None:
    for n in (1, 2):
        h.video(f"Show (2020)/Season 01/Show - S01E0{n}.mkv")
    h.host.paths["77"] = ["/data/Show (2020)"]
    h.event("77", "show", tmdb="1399")
    h.intake.process_due()
    [items] = h.queued
    assert [i.tmdb_id for i in items] == [1399, 1399]


@pytest.mark.parametrize("host_path", [
    "/data/../../etc/passwd.mkv",
    "/data/Heat/../../../outside/Movie (2000).mkv",
    "/elsewhere/Movie (2000)/Movie (2000).mkv",
    "C:\\Movies\\Movie (2000).mkv",
])
def test_paths_outside_the_roots_are_dropped_never_scanned(h: Harness, host_path: str,
                                                           caplog: pytest.LogCaptureFixture
                                                           ) -> None:
    h.host.paths["6"] = [host_path]
    h.event("6")
    outcome = h.intake.process_due()
    assert outcome["dropped_outside_roots"] == 1
    assert h.recorded == [] and h.queued == []
    assert h.pending() == []
    assert "dropped" in caplog.text


def test_unknown_item_is_retried_with_backoff_then_dropped(h: Harness,
                                                           caplog: pytest.LogCaptureFixture
                                                           ) -> None:
    h.event("404")
    assert h.intake.process_due()["retried"] == 1
    assert h.pending()[0]["attempts"] == 1
    assert "no ratingKey 404" in h.pending()[0]["last_error"]
    assert h.intake.process_due() == {}, "not due before its backoff"
    assert h.intake.wait_time() == pytest.approx(5)
    h.clock.now += 5
    assert h.intake.process_due()["retried"] == 1
    h.clock.now += 15
    assert h.intake.process_due()["dropped_failed"] == 1
    assert h.pending() == []
    assert "dropped after 3 attempts" in caplog.text
    assert h.host.lookups == ["404"] * 3


def test_host_down_does_not_block_the_next_events(h: Harness) -> None:
    h.video("Heat (1995)/Heat (1995).mkv")
    h.host.paths["1001"] = ["/data/Heat (1995)/Heat (1995).mkv"]
    h.host.down = True
    h.event("1001")
    h.intake.process_due()
    h.host.down = False
    h.clock.now += 5
    assert h.intake.process_due()["resolved"] == 1


def test_file_the_sidecar_cannot_see_is_retried_with_a_hint(h: Harness) -> None:
    h.host.paths["1001"] = ["/data/Missing (2000)/Missing (2000).mkv"]
    h.event("1001")
    assert h.intake.process_due()["retried"] == 1
    assert "path_map" in h.pending()[0]["last_error"]


def test_no_host_configured(h: Harness) -> None:
    intake = Intake(h.store, lambda: None, record=h.record, enqueue=h.enqueue, clock=h.clock)
    intake.submit(HostEvent("plex", ADDED, "1", "movie"))
    assert intake.process_due()["retried"] == 1
    assert "no media server" in h.pending()[0]["last_error"]


def test_events_survive_a_restart(h: Harness) -> None:
    h.video("Heat (1995)/Heat (1995).mkv")
    h.host.paths["1001"] = ["/data/Heat (1995)/Heat (1995).mkv"]
    h.event("1001", tmdb="949")
    fresh = h.make_intake()  # a new process: only the database remembers
    assert fresh.process_due()["resolved"] == 1
    assert h.queued[0][0].tmdb_id == 949


def test_echo_of_our_own_write_is_ignored(h: Harness) -> None:
    path = h.video("Heat (1995)/Heat (1995).mkv")
    h.host.paths["1001"] = ["/data/Heat (1995)/Heat (1995).mkv"]
    h.scanner.scan("quick", [str(h.lib)])
    h.store.claim(path)
    h.store.mark_indexed(path)
    h.echoes.add(str(h.lib / "Heat (1995)"))
    h.event("1001")
    outcome = h.intake.process_due()
    assert outcome["echoes_ignored"] == 1
    assert h.recorded == [] and h.queued == []


def test_indexed_items_are_not_queued_again(h: Harness) -> None:
    path = h.video("Heat (1995)/Heat (1995).mkv")
    h.host.paths["1001"] = ["/data/Heat (1995)/Heat (1995).mkv"]
    h.scanner.scan("quick", [str(h.lib)])
    h.store.claim(path)
    h.store.mark_indexed(path)
    h.event("1001")
    assert h.intake.process_due()["resolved"] == 1
    assert h.queued == []


def test_scan_failure_keeps_the_events(h: Harness) -> None:
    h.video("Heat (1995)/Heat (1995).mkv")
    h.host.paths["1001"] = ["/data/Heat (1995)/Heat (1995).mkv"]

    def broken(folders: Sequence[str]) -> None:
        raise OSError("database is locked")

    intake = Intake(h.store, lambda: (h.host, h.mapper), record=broken, enqueue=h.enqueue,
                    clock=h.clock)
    intake.submit(HostEvent("plex", ADDED, "1001", "movie"))
    assert intake.process_due()["retried"] == 1
    assert len(h.pending()) == 1


def test_debounce_batches_a_burst(h: Harness) -> None:
    h.intake.debounce, h.intake.max_delay = 1.0, 3.0
    assert h.intake.wait_time() == 1.0, "idle: poll once a second"
    h.event("1")
    h.clock.now += 0.5
    h.event("2")
    assert h.intake.wait_time() == pytest.approx(1.0)
    for _ in range(10):
        h.clock.now += 0.5
        h.event("3")
    assert h.intake.wait_time() == 0, "a steady trickle cannot postpone the batch forever"


def test_a_backlog_bigger_than_one_batch_is_drained_without_new_events(
        h: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    import sidecar.intake

    monkeypatch.setattr(sidecar.intake, "BATCH_LIMIT", 3)
    for n in range(7):
        h.video(f"Film {n} (2000)/Film {n} (2000).mkv")
        h.host.paths[str(n)] = [f"/data/Film {n} (2000)/Film {n} (2000).mkv"]
        h.event(str(n))
    assert h.intake.process_due()["resolved"] == 3
    assert h.intake.wait_time() == 0, "the rest is due at once"
    h.intake.process_due()
    h.intake.process_due()
    assert h.pending() == []
    assert sum(len(batch) for batch in h.queued) == 7
    assert h.intake.snapshot()["pending"] == 0


def test_a_late_duplicate_of_a_resolved_item_is_dropped(h: Harness) -> None:
    h.video("Heat (1995)/Heat (1995).mkv")
    h.host.paths["1001"] = ["/data/Heat (1995)/Heat (1995).mkv"]
    h.event("1001")
    h.intake.process_due()
    h.clock.now += 10
    h.event("1001")
    assert h.intake.process_due()["duplicates"] == 1
    assert h.host.lookups == ["1001"]
    h.clock.now += 61
    h.event("1001")
    assert h.intake.process_due()["resolved"] == 1, "a re-import later is looked at again"
