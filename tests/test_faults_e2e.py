"""The fault matrix, end to end: a real ``scanarr scan`` process against a misbehaving TMDB.

Each test breaks one thing -- 429 storms with and without Retry-After, 10% 5xx, slow
answers and timeouts, TMDB refusing connections for a while, garbage bodies and truncated
images, a key revoked mid-scan, a full disk and a read-only folder -- and checks the same
end state (``e2e_kit.check_outcome``): every item INDEXED or in ERROR with the right reason
and, where a retry can help, a retry time; nothing half-written; no temp file left; an
INDEXED item really has its metadata.  Then the fault is lifted and a later scan (retries
made due) finishes the job.  The last test runs ``scanarr serve`` under faults and checks
that it keeps answering ``/healthz``.

Budgets are scaled down so each test takes seconds: the fake allows 12 requests per
rolling second, Scanarr budgets 10 per second with 4 workers.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e_kit import (
    REPO,
    Library,
    ServeProcess,
    check_outcome,
    db_rows,
    detail_requests,
    make_library,
    make_retries_due,
    run_scanarr,
    scan_env,
    start_scanarr,
    states,
    status,
    wait_until,
)
from tests.fakes.fake_tmdb import FakeTmdb, running_fake_tmdb

SHIM = REPO / "tests" / "fakes" / "fs_faults"
WORKERS = 4


@pytest.fixture
def fake() -> Iterator[FakeTmdb]:
    with running_fake_tmdb(rate_limit=12, rate_window=1.0, seed=9) as server:
        yield server


class Rig:
    """One small library (10 movies, a show with 2 seasons of 3) and its database."""

    def __init__(self, tmp: Path, fake: FakeTmdb, **env: str) -> None:
        self.tmp, self.fake = tmp, fake
        self.lib: Library = make_library(tmp / "lib", movies=10, shows=1, seasons=2, episodes=3)
        self.db = tmp / "data" / "scanarr.db"
        self.env = scan_env(tmp / "data", fake.url, fake.api_key, self.lib.roots, **env)
        self.log = tmp / "scan.log"

    def scan(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        result = run_scanarr({**self.env, **env}, "scan", *args)
        assert result.returncode == 0, result.stderr
        return result

    def scan_with(self, fault: Any, after_details: int = 4) -> str:
        """A scan in the background; ``fault()`` is applied once it is fetching."""
        proc = start_scanarr(self.env, "scan", log=self.log)
        wait_until(lambda: sum(detail_requests(self.fake.requests()).values()) >= after_details,
                   "the scan to be fetching", timeout=30)
        fault()
        assert proc.wait(120) == 0, self.log.read_text()
        return self.log.read_text()

    def finish_after_fault(self, **env: str) -> None:
        """The fault is gone and the retries are due: a scan ends with everything INDEXED."""
        self.fake.configure(reset=True)
        make_retries_due(self.db)
        self.scan(**env)
        assert check_outcome(self.lib, self.db)["INDEXED"] == len(self.lib.videos)


def api_statuses(fake: FakeTmdb) -> dict[str, int]:
    return dict(fake.stats()["statuses"])


# --- throttling ---------------------------------------------------------------------------


@pytest.mark.parametrize("retry_after", [True, False], ids=["retry-after", "no-retry-after"])
def test_429_storm_pauses_everyone_and_the_scan_completes(tmp_path: Path, fake: FakeTmdb,
                                                          retry_after: bool) -> None:
    rig = Rig(tmp_path, fake)
    fake.configure(retry_after_header=retry_after)
    rig.scan_with(lambda: fake.force_429(seconds=1.5))
    assert check_outcome(rig.lib, rig.db)["INDEXED"] == len(rig.lib.videos)
    storm = fake.stats()["faults"].get("storm", 0)
    print("429s in the storm:", storm, "statuses:", api_statuses(fake))
    assert storm >= 1
    # One 429 pauses every worker: only requests already on their way meet the storm, then
    # at most one probe per back-off step (1 s, 2 s) without a Retry-After.
    assert storm <= 2 * WORKERS + 2, storm
    assert fake.stats()["faults"].get("rate_limit", 0) == 0, "the budget itself is kept"


def test_ten_percent_5xx_are_retried(tmp_path: Path, fake: FakeTmdb) -> None:
    rig = Rig(tmp_path, fake)
    fake.configure(error_rate=0.1)
    rig.scan()
    assert fake.stats()["faults"].get("error", 0) >= 1
    assert check_outcome(rig.lib, rig.db)["INDEXED"] == len(rig.lib.videos)


def test_slow_answers_and_timeouts(tmp_path: Path, fake: FakeTmdb) -> None:
    """Answers slower than SCANARR_HTTP_TIMEOUT are abandoned and asked again."""
    rig = Rig(tmp_path, fake, SCANARR_HTTP_TIMEOUT="1")
    fake.configure(slow_rate=0.1, slow_s=2.0, latency_ms=50, jitter_ms=100)
    rig.scan()
    assert fake.stats()["faults"].get("slow", 0) >= 1, "some answers took longer than 1 s"
    assert check_outcome(rig.lib, rig.db)["INDEXED"] == len(rig.lib.videos)


def test_tmdb_refusing_connections_for_a_while(tmp_path: Path, fake: FakeTmdb) -> None:
    """Connection refused for 3 s mid-scan: everything waits, then resumes; nothing lost."""
    rig = Rig(tmp_path, fake)
    started = time.monotonic()
    rig.scan_with(lambda: fake.go_down(3.0, "refuse"))
    assert time.monotonic() - started >= 3.0
    assert check_outcome(rig.lib, rig.db)["INDEXED"] == len(rig.lib.videos)
    times = [r["t"] for r in fake.requests()]
    assert max(b - a for a, b in itertools.pairwise(times)) >= 2.5, "a real outage"


# --- broken answers -----------------------------------------------------------------------


def test_garbage_bodies_and_truncated_images(tmp_path: Path, fake: FakeTmdb) -> None:
    rig = Rig(tmp_path, fake)
    fake.configure(garbage_rate=0.2, image_truncate_rate=0.2)
    rig.scan()
    outcome = check_outcome(rig.lib, rig.db, reasons={"bad_response"})
    faults = fake.stats()["faults"]
    print("garbage:", outcome, faults)
    assert any(k.startswith("garbage:") for k in faults) and any(
        k.startswith("truncate:") for k in faults), faults
    assert outcome["reason:bad_response"] >= 1, outcome
    rig.finish_after_fault()


def test_key_revoked_mid_scan_pauses_everything_until_fixed(tmp_path: Path,
                                                            fake: FakeTmdb) -> None:
    rig = Rig(tmp_path, fake)
    log = rig.scan_with(fake.revoke_key)
    assert "TMDB rejected the key" in log
    report = status(rig.env)
    assert report["tmdb"]["auth_error"], report["tmdb"]
    counts = report["counts"]
    assert counts["PROCESSING"] == counts["ERROR"] == 0, "paused, not failed"
    assert counts["NEW"] > 0 and counts["INDEXED"] + counts["NEW"] == len(rig.lib.videos)
    assert api_statuses(fake).get("401", 0) <= WORKERS + 1, "no request per item after a 401"
    fake.restore_key()
    rig.scan()
    assert status(rig.env)["tmdb"]["auth_error"] is None
    assert check_outcome(rig.lib, rig.db)["INDEXED"] == len(rig.lib.videos)


# --- the disk -------------------------------------------------------------------------------


def test_disk_full_read_only_and_blocked_paths(tmp_path: Path, fake: FakeTmdb) -> None:
    """ENOSPC at fsync and EROFS at create come from a sitecustomize shim in the child
    (root ignores chmod; mounts need privileges); a directory where ``metadata.json``
    must go is a real, persistent obstacle."""
    rig = Rig(tmp_path, fake)
    full, read_only, blocked = (v.parent for v in rig.lib.videos[:3])
    season = rig.lib.videos[-1].parent
    (blocked / "metadata.json").mkdir()
    rig.scan(PYTHONPATH=f"{SHIM}{os.pathsep}{REPO}",
             FSFAULT_ENOSPC=f"{full}{os.pathsep}{season}", FSFAULT_EROFS=str(read_only))
    outcome = check_outcome(rig.lib, rig.db, reasons={"write_failed"})
    failed = {r["media_path"] for r in db_rows(rig.db, "SELECT media_path FROM "
                                               "media_scan_state WHERE scan_state = 'ERROR'")}
    in_season = {str(v) for v in rig.lib.videos if v.parent == season}
    assert failed == {str(v) for v in rig.lib.videos[:3]} | in_season, outcome
    why = {r["media_path"]: r["last_error"] for r in db_rows(
        rig.db, "SELECT media_path, last_error FROM media_scan_state WHERE scan_state = 'ERROR'")}
    expected = {full: "No space left on device", read_only: "Read-only file system",
                blocked: "Is a directory", season: "No space left on device"}
    for path, message in why.items():
        assert expected[Path(path).parent] in message, (path, message)
    assert not (full / "metadata.json").exists() and not (read_only / "poster.jpg").exists()

    fake.configure(reset=True)
    make_retries_due(rig.db)
    rig.scan()  # the disk has room again; the directory is still in the way
    outcome = check_outcome(rig.lib, rig.db, reasons={"write_failed"})
    assert outcome["INDEXED"] == len(rig.lib.videos) - 1
    row = db_rows(rig.db, "SELECT error_count, next_retry_after, last_error FROM "
                  "media_scan_state WHERE scan_state = 'ERROR'")[0]
    assert row["error_count"] == 2 and row["next_retry_after"], dict(row)
    assert "Is a directory" in row["last_error"]


# --- the service keeps answering -----------------------------------------------------------


def test_serve_keeps_answering_healthz_under_faults(tmp_path: Path, fake: FakeTmdb) -> None:
    rig = Rig(tmp_path, fake, SCANARR_HTTP_TIMEOUT="1", SCANARR_SCAN_INTERVAL="1440")
    fake.configure(error_rate=0.1, slow_rate=0.05, slow_s=1.5, garbage_rate=0.05)
    with ServeProcess(rig.env, rig.log) as served:
        slowest = _poll_health_until_done(served, rig, fake)
        assert served.stop(timeout=60) == 0, served.log()
    assert slowest < 1.0, f"/healthz took {slowest:.2f} s"
    assert fake.api_key not in rig.log.read_text(), "the key leaked into the log"
    assert states(rig.db)["PROCESSING"] == 0, "a clean stop releases what it held"
    outcome = check_outcome(rig.lib, rig.db, reasons={"bad_response", "unavailable"})
    print("serve under faults:", outcome, fake.stats()["faults"], f"slowest {slowest:.3f} s")


def _poll_health_until_done(served: ServeProcess, rig: Rig, fake: FakeTmdb) -> float:
    """Ask /healthz every 50 ms while the service fetches through the faults (and a 2 s
    outage); every answer must be 200.  Returns the slowest answer's time."""
    slowest, went_down = 0.0, False
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        started = time.monotonic()
        answer = requests.get(served.url + "/healthz", timeout=5)
        slowest = max(slowest, time.monotonic() - started)
        assert answer.status_code == 200, answer.text
        counts = states(rig.db)
        final = counts["INDEXED"] + counts["ERROR"]
        if not went_down and final >= 3:
            fake.go_down(2.0, "refuse")
            went_down = True
        if went_down and final == len(rig.lib.videos):
            return slowest
        time.sleep(0.05)
    raise AssertionError(f"the service did not finish: {states(rig.db)}")


def test_shim_loads_only_when_asked() -> None:
    """The disk-fault shim is inert without its variables (so it cannot leak into others)."""
    code = "import os, sitecustomize; print(os.open is sitecustomize._real_open)"
    env = {**os.environ, "PYTHONPATH": f"{SHIM}{os.pathsep}{REPO}"}
    env.pop("FSFAULT_EROFS", None)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "True"
