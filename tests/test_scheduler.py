"""Scheduled scans on a private ``schedule.Scheduler``, driven by a fake wall clock.

``schedule`` reads ``datetime.datetime.now()``; the fixture swaps the module's
``datetime`` for one whose ``now()`` is ours, so a day passes in microseconds.
"""

from __future__ import annotations

import datetime as real_datetime
import types
from collections.abc import Iterator

import pytest
import schedule

from sidecar.scheduler import Scheduler


class FakeNow:
    def __init__(self) -> None:
        self.now = real_datetime.datetime(2026, 1, 10, 12, 0, 0)

    def advance(self, **delta: float) -> None:
        self.now += real_datetime.timedelta(**delta)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeNow]:
    fake = FakeNow()

    class FrozenDateTime(real_datetime.datetime):
        @classmethod
        def now(cls, tz: real_datetime.tzinfo | None = None) -> FrozenDateTime:
            return fake.now  # type: ignore[return-value]

    shim = types.SimpleNamespace(**{k: getattr(real_datetime, k) for k in dir(real_datetime)
                                    if not k.startswith("__")})
    shim.datetime = FrozenDateTime
    monkeypatch.setattr(schedule, "datetime", shim)
    yield fake


class Runs:
    """run_scan double: records calls; ``busy`` modes report "still running"."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.busy: set[str] = set()

    def __call__(self, mode: str, trigger: str) -> bool:
        self.calls.append((mode, trigger))
        return mode not in self.busy


def test_quick_scan_every_interval(clock: FakeNow) -> None:
    runs = Runs()
    sched = Scheduler(runs, interval_minutes=15, refresh_time="03:00")
    sched.tick()
    assert runs.calls == []
    clock.advance(minutes=15)
    sched.tick()
    clock.advance(minutes=15)
    sched.tick()
    assert runs.calls == [("quick", "schedule")] * 2


def test_refresh_daily_at_the_configured_time(clock: FakeNow) -> None:
    runs = Runs()
    sched = Scheduler(runs, interval_minutes=1440, refresh_time="03:00")
    assert sched.next_runs()["refresh"] == "2026-01-11T03:00:00"
    clock.advance(hours=14, minutes=59)  # 02:59 next day
    sched.tick()
    assert runs.calls == []
    clock.advance(minutes=1)
    sched.tick()
    assert runs.calls == [("refresh", "schedule")]


def test_a_run_still_going_skips_the_tick(clock: FakeNow) -> None:
    runs = Runs()
    runs.busy.add("quick")
    sched = Scheduler(runs, interval_minutes=15)
    clock.advance(minutes=15)
    sched.tick()
    assert sched.stats["quick_skipped"] == 1
    runs.busy.clear()
    clock.advance(minutes=15)
    sched.tick()
    assert sched.stats["quick_started"] == 1
    assert sched.next_runs()["quick"] == "2026-01-10T12:45:00", "no catch-up burst"


def test_reschedule_applies_without_restart(clock: FakeNow) -> None:
    runs = Runs()
    sched = Scheduler(runs, interval_minutes=15, refresh_time="03:00")
    sched.reschedule(5, "04:30")
    assert sched.next_runs() == {"quick": "2026-01-10T12:05:00",
                                 "refresh": "2026-01-11T04:30:00"}
    clock.advance(minutes=5)
    sched.tick()
    assert runs.calls == [("quick", "schedule")]
    assert sched.snapshot()["interval_minutes"] == 5


def test_only_the_leader_scans(clock: FakeNow) -> None:
    runs = Runs()
    leader = {"is": False}
    sched = Scheduler(runs, interval_minutes=15, leader=lambda: leader["is"])
    clock.advance(minutes=15)
    sched.tick()
    assert runs.calls == [] and sched.stats["quick_not_leader"] == 1
    leader["is"] = True
    clock.advance(minutes=15)
    sched.tick()
    assert runs.calls == [("quick", "schedule")]


def test_a_failing_run_never_kills_the_scheduler(clock: FakeNow) -> None:
    def broken(mode: str, trigger: str) -> bool:
        raise RuntimeError("database is locked")

    sched = Scheduler(broken, interval_minutes=15)
    clock.advance(minutes=15)
    sched.tick()
    assert sched.stats["quick_failed"] == 1
    assert sched.fire("refresh") is False


def test_own_scheduler_instance_not_the_module_default(clock: FakeNow) -> None:
    Scheduler(Runs(), interval_minutes=15)
    assert schedule.get_jobs() == []


def test_thread_runs_the_startup_scan_and_stops(clock: FakeNow) -> None:
    runs = Runs()
    sched = Scheduler(runs, interval_minutes=15, tick_seconds=0.01)
    sched.start()
    try:
        import time

        deadline = time.monotonic() + 5
        while not runs.calls and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        sched.stop()
    assert runs.calls[0] == ("quick", "schedule")
