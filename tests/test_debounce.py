"""The debounced batch thread shared by webhook intake and host refreshes.

The window logic runs on a hand-driven clock through ``run_due`` (no thread).  The thread
tests only check the wiring -- wakes on an arrival, stops at once, survives a failing
batch -- and wait on events, never on how long something took.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from sidecar.debounce import Debouncer, debounce_due
from tests.fakes.fake_clock import FakeClock

WAIT = 5.0  # generous upper bound for a thread to react; passing tests never wait it out


@dataclass
class Window:
    """What an owner of a debouncer offers as its timing."""

    debounce: float = 5.0
    max_delay: float = 30.0


class Batches:
    """A ``fire`` that counts its calls and can be told to fail."""

    def __init__(self) -> None:
        self.calls = 0
        self.failures = 0
        self.fired = threading.Event()

    def __call__(self) -> None:
        self.calls += 1
        if self.failures:
            self.failures -= 1
            raise RuntimeError("batch blew up")
        self.fired.set()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(100.0)


@pytest.fixture
def fire() -> Batches:
    return Batches()


@pytest.fixture
def window() -> Window:
    return Window()


@pytest.fixture
def d(clock: FakeClock, fire: Batches, window: Window) -> Iterator[Debouncer]:
    debouncer = Debouncer(fire, name="test-debounce", timing=window, clock=clock)
    yield debouncer
    debouncer.stop(timeout=WAIT)


def test_debounce_due_waits_for_quiet_but_not_forever() -> None:
    assert debounce_due(first=0, last=0, quiet=5, max_delay=30) == 5
    assert debounce_due(first=0, last=4, quiet=5, max_delay=30) == 9
    assert debounce_due(first=0, last=29, quiet=5, max_delay=30) == 30


def test_nothing_noted_is_nothing_due(d: Debouncer, fire: Batches) -> None:
    assert d.due_in() is None
    assert d.run_due() is False and fire.calls == 0


def test_a_burst_is_one_batch_after_the_quiet(d: Debouncer, clock: FakeClock,
                                              fire: Batches) -> None:
    d.note()
    clock.advance(3)
    d.note()
    assert d.due_in() == pytest.approx(5), "each arrival pushes the end out"
    clock.advance(4.9)
    assert d.run_due() is False and fire.calls == 0
    clock.advance(0.1)
    assert d.run_due() is True and fire.calls == 1
    assert d.due_in() is None, "firing closed the window"
    assert d.run_due() is False and fire.calls == 1


def test_a_steady_trickle_is_cut_off_at_max_delay(d: Debouncer, clock: FakeClock) -> None:
    for _ in range(20):
        d.note()
        clock.advance(2)
    assert d.due_in() == 0


def test_clear_starts_a_new_window_from_the_next_arrival(d: Debouncer,
                                                         clock: FakeClock) -> None:
    d.note()
    clock.advance(25)
    d.clear()
    assert d.due_in() is None
    d.note()
    assert d.due_in() == pytest.approx(5), "the old window's max_delay no longer counts"


def test_due_now_stays_due_until_taken(d: Debouncer, fire: Batches) -> None:
    d.due_now()
    d.note()
    assert d.due_in() == 0
    assert d.run_due() is True and fire.calls == 1
    assert d.due_in() is None


def test_timing_changes_apply_to_the_open_window(d: Debouncer, window: Window) -> None:
    d.note()
    window.debounce = 1
    assert d.due_in() == pytest.approx(1)
    window.debounce, window.max_delay = 60, 10
    assert d.due_in() == pytest.approx(10)


def test_the_owners_own_deadline_counts_too(clock: FakeClock, fire: Batches) -> None:
    retry_at: list[float] = []
    d = Debouncer(fire, name="test-debounce", timing=Window(), clock=clock,
                  also_due=lambda: min(retry_at, default=None))
    retry_at.append(clock.now + 2)
    assert d.due_in() == pytest.approx(2), "a retry alone is something waiting"
    d.note()
    assert d.due_in() == pytest.approx(2), "the sooner of the two"
    clock.advance(3)
    assert d.due_in() == 0, "a deadline in the past is due now, not negative"


# -- the thread ------------------------------------------------------------------------


def threads_named(name: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == name and t.is_alive()]


def test_the_thread_wakes_on_an_arrival_and_fires_once(clock: FakeClock,
                                                       fire: Batches) -> None:
    d = Debouncer(fire, name="test-debounce", timing=Window(0, 0), clock=clock, poll=60)
    d.start()
    try:
        assert d.running
        d.note()  # due at once: only the wake-up can make the thread see it within WAIT
        assert fire.fired.wait(WAIT)
    finally:
        d.stop(timeout=WAIT)
    assert fire.calls == 1
    assert not d.running and threads_named("test-debounce") == []


def test_stop_is_prompt_while_a_window_is_open(d: Debouncer, window: Window) -> None:
    window.debounce = window.max_delay = d.poll = 600  # far longer than stop's timeout
    d.start()
    d.note()  # due in fake seconds that never pass: the thread sleeps
    d.stop(timeout=WAIT)
    assert threads_named("test-debounce") == [], "stop must cut the sleep short"


def test_a_failing_batch_is_logged_and_tried_again(clock: FakeClock, fire: Batches,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    fire.failures = 1
    d = Debouncer(fire, name="test-debounce", timing=Window(0, 0), clock=clock, poll=60,
                  error_pause=0)
    d.start()
    try:
        d.note()
        assert fire.fired.wait(WAIT), "the thread survived the failure and tried again"
    finally:
        d.stop(timeout=WAIT)
    assert fire.calls == 2
    assert "test-debounce: batch failed" in caplog.text and "batch blew up" in caplog.text


def test_the_thread_can_be_restarted(d: Debouncer, fire: Batches, window: Window) -> None:
    window.debounce = window.max_delay = 0
    d.start()
    d.start()  # a no-op while running: still one thread
    assert len(threads_named("test-debounce")) == 1
    d.stop(timeout=WAIT)
    d.start()
    d.note()
    assert fire.fired.wait(WAIT)
