"""Leader election: one leader at a time, and a dead leader is replaced after its lease.

The file backend runs on a fake clock (instant); Redis expires keys on its own clock, so
its tests use real, short TTLs.  The ``e2e`` tests kill a real leader process.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sidecar.errors import ConfigError
from sidecar.leader import Leadership
from tests.e2e_kit import free_port
from tests.fakes.fake_clock import FakeClock
from tests.fakes.leader_proc import start_leader


@pytest.fixture(params=["file", "redis"])
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "file":
        return str(tmp_path)
    url: str = request.getfixturevalue("redis_url")
    return f"{url}?prefix={request.node.name.replace('[', '-').rstrip(']')}"


Make = Callable[..., Leadership]


@pytest.fixture
def make() -> Iterator[Make]:
    made: list[Leadership] = []

    def build(url: str | None, owner: str, ttl: float = 10.0,
              clock: Callable[[], float] = time.time) -> Leadership:
        leadership = Leadership(url, "scan", ttl, owner_id=owner, clock=clock)
        made.append(leadership)
        return leadership

    yield build
    for leadership in made:
        leadership.close()


def test_without_a_shared_backend_every_instance_leads(make: Make) -> None:
    a, b = make(None, "a"), make("", "b")
    assert a.try_acquire() and b.try_acquire()
    assert a.holder() == "a" and a.is_leader


def test_file_lease_expires_unless_renewed(tmp_path: Path, make: Make) -> None:
    clock = FakeClock()
    a, b = make(str(tmp_path), "a", clock=clock), make(str(tmp_path), "b", clock=clock)
    assert a.try_acquire() and not b.try_acquire()
    clock.now += 6.0
    assert a.try_acquire()  # renewed: now valid until 1016
    clock.now += 6.0
    assert not b.try_acquire() and b.holder() == "a"
    clock.now += 4.0  # a stopped renewing; its lease ended at 1016
    assert b.holder() is None
    assert b.try_acquire() and b.holder() == "b"
    assert not a.try_acquire() and not a.is_leader


def test_redis_lease_expires_unless_renewed(redis_url: str, make: Make) -> None:
    url = f"{redis_url}?prefix=expiry"
    a, b = make(url, "a", ttl=0.4), make(url, "b", ttl=0.4)
    assert a.try_acquire() and not b.try_acquire()
    time.sleep(0.25)
    assert a.try_acquire()  # renewed for another 0.4 s
    time.sleep(0.25)
    assert not b.try_acquire() and b.holder() == "a"
    time.sleep(0.25)  # a stopped renewing
    assert b.try_acquire() and not a.try_acquire()


def test_release_hands_over_at_once(backend_url: str, make: Make) -> None:
    a, b = make(backend_url, "a"), make(backend_url, "b")
    assert a.try_acquire()
    b.release()  # not the holder: must not remove a's lease
    assert not b.try_acquire()
    a.release()
    assert not a.is_leader and b.try_acquire()


def contend(instances: list[Leadership]) -> list[Leadership]:
    """All ask at the same moment (one thread each); the ones told they lead."""
    start = threading.Barrier(len(instances))
    wins: list[Leadership] = []

    def ask(leadership: Leadership) -> None:
        start.wait(timeout=10)
        if leadership.try_acquire():
            wins.append(leadership)

    threads = [threading.Thread(target=ask, args=(x,)) for x in instances]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    return wins


def test_only_one_leader_when_all_ask_at_once(backend_url: str, make: Make) -> None:
    instances = [make(backend_url, f"i{n}") for n in range(4)]
    for _ in range(5):
        wins = contend(instances)
        assert len(wins) == 1
        wins[0].release()


def test_unreachable_backend_means_not_leader(make: Make) -> None:
    lonely = make(f"redis://127.0.0.1:{free_port()}/0", "a")
    assert not lonely.try_acquire()


def test_bad_settings() -> None:
    with pytest.raises(ConfigError):
        Leadership("ftp://nowhere", "scan", 10.0)
    with pytest.raises(ValueError):
        Leadership(None, "scan", 0.0)


@pytest.mark.e2e
def test_a_killed_leader_is_replaced_after_its_lease(backend_url: str, make: Make) -> None:
    ttl, tick = 0.6, 0.05
    proc = start_leader(backend_url, "scan", ttl, "doomed")
    follower = make(backend_url, "follower", ttl=ttl)
    try:
        assert not follower.try_acquire()
        proc.kill()  # no release, no renewals: only the lease's expiry can free it
        proc.join(timeout=10)
        died = time.monotonic()
        while not follower.try_acquire():
            assert time.monotonic() - died < ttl + 2.0, "nobody took over"
            time.sleep(tick)
        assert time.monotonic() - died <= ttl + tick + 0.5
    finally:
        if proc.is_alive():
            proc.kill()
