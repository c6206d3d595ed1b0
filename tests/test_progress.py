"""Progress output: a redrawn bar with ETA on a terminal, an occasional plain line otherwise."""

from __future__ import annotations

import io

import pytest

from sidecar.progress import PLAIN_EVERY_S, ProgressBar, eta_text
from tests.corekit import Clock


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("done", "total", "elapsed", "expected"), [
    (0, 10, 5.0, "?"),          # no rate yet
    (5, 10, 0.0, "?"),
    (5, 10, 10.0, "0:10"),
    (1, 100, 10.0, "16:30"),
    (1, 1000, 10.0, "2:46:30"),
    (10, 10, 3.0, "0:00"),      # finished
    (12, 10, 3.0, "0:00"),
    (0, 0, 0.0, "0:00"),
])
def test_eta_text(done: int, total: int, elapsed: float, expected: str) -> None:
    assert eta_text(done, total, elapsed) == expected


def test_terminal_bar_redraws_in_place() -> None:
    clock = Clock(100.0)
    out = Tty()
    bar = ProgressBar(out, clock=clock)
    assert bar.tty
    bar.start(4)
    clock.advance(2)
    bar.update(1)
    bar.update(9)  # never past the total
    text = out.getvalue()
    assert text.startswith("\r\x1b[Kfetching [------------------------------] 0/4 items  ETA ?")
    assert "\r\x1b[Kfetching [#######-----------------------] 1/4 items  ETA 0:06" in text
    assert "[##############################] 4/4 items  ETA 0:00" in text
    assert "\n" not in text
    bar.clear()
    assert out.getvalue().endswith("\r\x1b[K")


def test_plain_stream_prints_a_line_now_and_then() -> None:
    clock = Clock(1000.0)
    out = io.StringIO()
    bar = ProgressBar(out, clock=clock)
    assert not bar.tty
    bar.walking(10, 2)
    bar.walking(20, 4)  # too soon: dropped
    clock.advance(PLAIN_EVERY_S)
    bar.start(3)
    bar.clear()  # nothing to clear on a plain stream
    assert out.getvalue().splitlines() == [
        "walking: 10 files in 2 folders",
        "fetching [------------------------------] 0/3 items  ETA ?",
    ]


def test_zero_total_draws_a_full_bar() -> None:
    out = Tty()
    bar = ProgressBar(out, clock=Clock())
    bar.start(0)
    assert "[##############################] 0/0 items  ETA 0:00" in out.getvalue()
