"""Crash safety with real processes and real signals: ``kill -9`` a scan, start it again.

A ``scanarr scan`` child runs against the fake TMDB (with network latency, so a scan of a
~200-item library takes a few seconds) and is killed with SIGKILL at chosen moments: right
after start, during the walk, mid-fetch, and at seeded random delays.  After every kill the
files on disk must be whole, and every restart must neither lose work nor redo it (a full
scan killed mid-fetch, in ``scan`` or in ``serve``, goes on at the next start):

- the scan completes (everything INDEXED), nothing stays PROCESSING;
- every ``metadata.json`` parses and validates, every image is whole, at every moment;
- no ``.scanarr-*.tmp`` litter survives: a dead writer's temp file is removed when its
  folder is written again, a live writer's is left alone (``sidecar.tempfiles``);
- an item INDEXED before a kill is never fetched again (the fake's request log per id);
- SQLite busy/locked from another process is waited out, never an item failure.
"""

from __future__ import annotations

import contextlib
import random
import re
import signal
import sqlite3
import subprocess
import sys
import textwrap
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.e2e_kit import (
    REPO,
    Library,
    ServeProcess,
    check_files_whole,
    check_outcome,
    db_rows,
    detail_requests,
    make_library,
    run_scanarr,
    scan_env,
    start_scanarr,
    states,
    temp_files,
    wait_until,
)
from tests.fakes.fake_tmdb import FakeTmdb, running_fake_tmdb

SEED = 20240605
FAST = {"SCANARR_RATE_LIMIT": "1000", "SCANARR_RATE_WINDOW": "1"}  # latency paces the scan


@pytest.fixture
def fake() -> Iterator[FakeTmdb]:
    with running_fake_tmdb(rate_limit=0, latency_ms=30) as server:
        yield server


def done_ids(db: Path) -> set[tuple[str, int]]:
    """What is finished: INDEXED movies, and shows whose every episode is INDEXED."""
    rows = db_rows(db, "SELECT media_type, tmdb_id, show_dir, scan_state FROM media_scan_state")
    movies = {("movie", r["tmdb_id"]) for r in rows
              if r["media_type"] == "movie" and r["scan_state"] == "INDEXED"}
    shows: dict[str, list[sqlite3.Row]] = {}
    for row in rows:
        if row["media_type"] == "episode":
            shows.setdefault(row["show_dir"], []).append(row)
    finished = {("tv", eps[0]["tmdb_id"]) for eps in shows.values()
                if all(r["scan_state"] == "INDEXED" and r["tmdb_id"] for r in eps)}
    return movies | finished


class Crasher:
    """One library, one database, one fake: start scans, kill them, check in between."""

    def __init__(self, tmp: Path, fake: FakeTmdb, lib: Library) -> None:
        self.tmp, self.fake, self.lib = tmp, fake, lib
        self.db = tmp / "data" / "scanarr.db"
        self.env = scan_env(tmp / "data", fake.url, fake.api_key, lib.roots, **FAST)
        self.log = tmp / "scan.log"
        self.done_before: set[tuple[str, int]] = set()
        self.mark = 0  # request log position of the last kill
        self.kills: list[dict[str, object]] = []

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        return start_scanarr(self.env, "scan", *args, log=self.log)

    def details_since_start(self, since: int) -> int:
        return sum(detail_requests(self.fake.requests(since)).values())

    def kill(self, proc: subprocess.Popen[bytes], moment: str) -> None:
        """SIGKILL, then check what must hold at any moment, and remember what was done."""
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        self.check_refetches()
        counts = states(self.db)
        self.kills.append({"moment": moment, "exit": proc.returncode, **counts,
                           "temps": len(temp_files(self.lib.root))})
        check_files_whole(self.lib.root)  # whole files even right after the kill
        self.done_before |= done_ids(self.db)
        self.mark = len(self.fake.requests())

    def check_refetches(self) -> None:
        """Nothing finished before an earlier kill was fetched again since."""
        again = set(detail_requests(self.fake.requests(self.mark))) & self.done_before
        assert not again, f"fetched again after a restart: {sorted(again)[:5]}"



def assert_resumed(fake: FakeTmdb, mark: int, done_before: set[tuple[str, int]], lib: Library,
                   db: Path, started: str) -> None:
    """After a resumed full scan: nothing refreshed before the kill was fetched again, each
    item at most once, and every item is INDEXED and refreshed since the scan began."""
    again = detail_requests(fake.requests(mark))
    assert not set(again) & done_before, "refreshed before the kill, fetched again"
    assert all(n == 1 for n in again.values()), again
    assert check_outcome(lib, db)["INDEXED"] == len(lib.videos)
    stale = db_rows(db, "SELECT media_path FROM media_scan_state "
                    "WHERE metadata_updated_at < ?", [started])
    assert not stale, "the resumed full scan left items unrefreshed"

def test_kill_9_at_any_moment_then_restart_completes(tmp_path: Path, fake: FakeTmdb) -> None:
    lib = make_library(tmp_path / "lib", movies=150, shows=4, seasons=2, episodes=6)
    crash = Crasher(tmp_path, fake, lib)
    rng = random.Random(SEED)

    proc = crash.start()  # right after start: imports, opening the database
    proc_wait(proc, 0.15)
    crash.kill(proc, "right after start")

    proc = crash.start()  # during the walk: the first rows are in, fetching not begun
    wait_until(lambda: db_rows(crash.db, "SELECT 1 FROM media_scan_state LIMIT 1"),
               "the walk to record files", tick=0.002)
    crash.kill(proc, "during the walk")

    for delay in (rng.uniform(1.0, 2.5), rng.uniform(1.5, 3.0)):
        proc = crash.start()  # seeded random moments: walk, fetch or writing files
        proc_wait(proc, delay)
        crash.kill(proc, f"after {delay:.2f} s")

    mark = len(fake.requests())
    proc = crash.start()  # mid-fetch: 40 more items fetched by this run
    wait_until(lambda: crash.details_since_start(mark) >= 40, "40 fetches", timeout=60)
    crash.kill(proc, "mid-fetch")

    final = run_scanarr(crash.env, "scan")
    print("kills:", *crash.kills, sep="\n  ")
    assert final.returncode == 0, final.stderr
    crash.check_refetches()
    assert check_outcome(lib, crash.db)["INDEXED"] == len(lib.videos)
    assert sum(int(str(k.get("PROCESSING", 0))) for k in crash.kills) > 0, \
        "no kill caught an item in flight: the recovery path was not exercised"
    fetched = detail_requests(fake.requests())
    assert all(n <= 1 + len(crash.kills) for n in fetched.values())


def proc_wait(proc: subprocess.Popen[bytes], seconds: float) -> None:
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(seconds)


def test_kill_9_during_a_full_scan_resumes_it(tmp_path: Path, fake: FakeTmdb) -> None:
    lib = make_library(tmp_path / "lib", movies=70, shows=2, seasons=2, episodes=5)
    crash = Crasher(tmp_path, fake, lib)
    assert run_scanarr(crash.env, "scan").returncode == 0
    mark = len(fake.requests())

    proc = crash.start("--mode", "full")
    wait_until(lambda: crash.details_since_start(mark) >= 30, "30 refetches", timeout=60)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    check_files_whole(lib.root)
    first = db_rows(crash.db, "SELECT started_at FROM scan_runs ORDER BY id DESC LIMIT 1")
    started = first[0]["started_at"]
    refreshed = {r["media_path"] for r in db_rows(
        crash.db, "SELECT media_path FROM media_scan_state WHERE scan_state = 'INDEXED' "
        "AND metadata_updated_at >= ?", [started])}
    assert 0 < len(refreshed) < len(lib.videos)
    done_before = done_ids_refreshed(crash.db, started)
    restart_mark = len(fake.requests())

    resumed = run_scanarr(crash.env, "scan", "--mode", "full")
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming the full scan" in resumed.stderr
    assert_resumed(fake, restart_mark, done_before, lib, crash.db, started)
    runs = [r["status"] for r in db_rows(crash.db, "SELECT status FROM scan_runs ORDER BY id")]
    assert runs == ["done", "interrupted", "done"]


def full_runs(db: Path) -> list[tuple[str, str]]:
    return [(r["trigger"], r["status"]) for r in db_rows(
        db, "SELECT trigger, status FROM scan_runs WHERE mode = 'full' ORDER BY id")]


def start_full_scan_from_the_page(served: ServeProcess, password: str) -> None:
    """Log in and press the status page's "Full scan" button (a form POST)."""
    web = requests.Session()
    token = re.compile(r'name="csrf[-_]token" (?:value|content)="([^"]+)"')
    login = token.search(web.get(served.url + "/login", timeout=5).text)
    assert login, "no CSRF token on the login page"
    web.post(served.url + "/login", data={"password": password, "csrf_token": login.group(1)},
             timeout=10)
    page = token.search(web.get(served.url + "/", timeout=5).text)
    assert page, "not logged in"
    answer = web.post(served.url + "/scan", data={"mode": "full", "csrf_token": page.group(1)},
                      timeout=5)
    assert "Full scan started" in answer.text, answer.text


def test_kill_9_of_serve_during_a_full_scan_resumes_it_at_the_next_start(
        tmp_path: Path, fake: FakeTmdb) -> None:
    lib = make_library(tmp_path / "lib", movies=70, shows=2, seasons=2, episodes=5)
    crash = Crasher(tmp_path, fake, lib)
    assert run_scanarr(crash.env, "scan").returncode == 0
    password = "crash-test-password"
    env = {**crash.env, "SCANARR_ADMIN_PASSWORD": password, "SCANARR_SCAN_INTERVAL": "1440"}
    mark = len(fake.requests())

    with ServeProcess(env, crash.log, timeout=20) as served:
        start_full_scan_from_the_page(served, password)
        wait_until(lambda: crash.details_since_start(mark) >= 30, "30 refetches", timeout=60)
        served.proc.send_signal(signal.SIGKILL)
        served.proc.wait(10)
    check_files_whole(lib.root)
    started = db_rows(crash.db, "SELECT started_at FROM scan_runs WHERE mode = 'full'")[0][
        "started_at"]
    done_before = done_ids_refreshed(crash.db, started)
    assert done_before and full_runs(crash.db) == [("web", "running")]
    restart_mark = len(fake.requests())

    with ServeProcess(env, crash.log, timeout=20) as served:
        wait_until(lambda: full_runs(crash.db)[-1][1] == "done", "the resumed full scan",
                   timeout=60)
        assert served.stop() == 0, served.log()
        assert "resuming the full scan started " + started in served.log()
    assert_resumed(fake, restart_mark, done_before, lib, crash.db, started)
    assert full_runs(crash.db) == [("web", "interrupted"), ("resume", "done")]


def done_ids_refreshed(db: Path, since: str) -> set[tuple[str, int]]:
    """Movies refreshed since ``since``, and shows whose every episode was."""
    rows = db_rows(db, "SELECT media_type, tmdb_id, show_dir, metadata_updated_at, scan_state "
                   "FROM media_scan_state")
    fresh = [r for r in rows if r["scan_state"] == "INDEXED" and r["metadata_updated_at"] >= since]
    movies = {("movie", r["tmdb_id"]) for r in fresh if r["media_type"] == "movie"}
    by_show = Counter(r["show_dir"] for r in rows if r["media_type"] == "episode")
    fresh_by_show = Counter(r["show_dir"] for r in fresh if r["media_type"] == "episode")
    tmdb_of = {r["show_dir"]: r["tmdb_id"] for r in rows if r["media_type"] == "episode"}
    return movies | {("tv", tmdb_of[s]) for s, n in by_show.items() if fresh_by_show[s] == n}


# --- temp files of killed writers ----------------------------------------------------------

WRITER = textwrap.dedent("""
    import os, sys, time
    from sidecar import tempfiles
    def stuck(fd):
        print("writing", flush=True)
        time.sleep(120)
    os.fsync = stuck
    tempfiles.atomic_write(sys.argv[1], b"half a poster")
""")


def stuck_writer(target: Path) -> subprocess.Popen[str]:
    """A real process in the middle of an atomic write into ``target``'s folder."""
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(target)], cwd=REPO,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "writing"
    return proc


def test_temp_files_of_killed_writers_are_removed_live_ones_kept(tmp_path: Path,
                                                                 fake: FakeTmdb) -> None:
    lib = make_library(tmp_path / "lib", movies=6)
    dead_folder, live_folder = lib.videos[0].parent, lib.videos[1].parent
    dead = stuck_writer(dead_folder / "poster.jpg")
    dead.send_signal(signal.SIGKILL)
    dead.wait(10)
    live = stuck_writer(live_folder / "poster.jpg")
    try:
        assert len(temp_files(lib.root)) == 2
        env = scan_env(tmp_path / "data", fake.url, fake.api_key, lib.roots, **FAST)
        assert run_scanarr(env, "scan").returncode == 0
        assert states(tmp_path / "data" / "scanarr.db")["INDEXED"] == len(lib.videos)
        left = temp_files(lib.root)
        assert [p.parent for p in left] == [live_folder], "only the live writer's temp stays"
    finally:
        live.send_signal(signal.SIGKILL)
        live.wait(10)
    assert run_scanarr(env, "scan", "--mode", "full").returncode == 0
    assert not temp_files(lib.root)
    assert check_outcome(lib, tmp_path / "data" / "scanarr.db")["INDEXED"] == len(lib.videos)


# --- SQLite busy / locked ------------------------------------------------------------------

LOCKER = textwrap.dedent("""
    import sqlite3, sys, time
    conn = sqlite3.connect(sys.argv[1], timeout=60, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT OR REPLACE INTO settings (key, value) VALUES ('lock_probe', 'x')")
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
    conn.execute("COMMIT")
    print("released", flush=True)
""")


def hold_write_lock(db: Path, seconds: float) -> subprocess.Popen[str]:
    """Another process holding the database's write lock for ``seconds``."""
    proc = subprocess.Popen([sys.executable, "-c", LOCKER, str(db), str(seconds)], cwd=REPO,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


def test_sqlite_lock_held_by_another_process_is_waited_out(tmp_path: Path,
                                                           fake: FakeTmdb) -> None:
    lib = make_library(tmp_path / "lib", movies=50, shows=1, seasons=2, episodes=5)
    db = tmp_path / "data" / "scanarr.db"
    env = scan_env(tmp_path / "data", fake.url, fake.api_key, lib.roots, **FAST)
    proc = start_scanarr(env, "scan", log=tmp_path / "scan.log")
    wait_until(lambda: db_rows(db, "SELECT 1 FROM media_scan_state LIMIT 1"), "the walk",
               tick=0.002)
    holders = [hold_write_lock(db, 1.0)]  # while walking / starting to fetch
    wait_until(lambda: sum(detail_requests(fake.requests()).values()) >= 20, "20 fetches")
    holders.append(hold_write_lock(db, 1.0))  # mid-fetch: claims and marks must wait
    assert proc.wait(120) == 0, (tmp_path / "scan.log").read_text()
    for holder in holders:
        assert holder.wait(10) == 0
        assert holder.stdout is not None and holder.stdout.read().strip() == "released"
    log = (tmp_path / "scan.log").read_text()
    assert "locked" not in log and "busy" not in log, log
    assert check_outcome(lib, db)["INDEXED"] == len(lib.videos), "no item failed on the lock"
