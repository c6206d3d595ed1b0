"""Soak benchmark: repeated ``scanarr scan`` runs against a faulty fake TMDB, bounded in time.

    python bench/bench_soak.py [--seconds 60] [--files 150] [--seed 1] [--keep]

A generated library (bench/genlib.py: scene names, parts, versions, extras, junk), the fake
TMDB in its own process with the fault matrix mixed in -- 10% 5xx, slow answers beyond the
client's read timeout, garbage bodies, truncated images, and a 429 storm (alternately with
and without Retry-After) or a short outage every ``--storm-every`` seconds -- and
``scanarr scan`` run again and again until the time is up: a quick scan, then alternately
a full scan and a quick scan that retries what failed (retry times made due).  A scan
still running at the deadline is killed with SIGKILL, which the next soak (or user) run
must recover from, so the end state is checked too.

Prints per scan and in total: items finished per second, 429s the fake sent, client
retries (from the sidecar's own log), requests, faults, and the final states by reason.
Budgets are scaled (fake: 24 per rolling 1 s; Scanarr: 20 per 1 s, 4 workers) so a minute
covers several scans; budget/limit stays near production's 35/40.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import genlib  # noqa: E402
from scratch import scratch_dir  # noqa: E402

from tests.e2e_kit import (  # noqa: E402
    check_files_whole,
    db_rows,
    make_retries_due,
    scan_env,
    start_scanarr,
    states,
    temp_files,
)
from tests.fakes.tmdb_process import FakeTmdbProcess  # noqa: E402
from tests.fakes.tmdb_traffic import max_in_window  # noqa: E402

FAULTS = {"error_rate": 0.1, "slow_rate": 0.05, "slow_s": 2.0, "garbage_rate": 0.02,
          "image_truncate_rate": 0.02, "latency_ms": 20.0, "jitter_ms": 30.0}
RETRY_LINE = re.compile(r"sidecar\.tmdb: .*, retry \d+ in ")


@dataclass
class ScanFigures:
    mode: str
    seconds: float
    finished: int  # items brought to INDEXED or ERROR by this scan
    retries: int
    retries_429: int
    exit: int | None
    max_window: int = 0  # most API requests the fake saw in any 1 s while this scan ran

    def line(self) -> str:
        rate = self.finished / self.seconds if self.seconds else 0.0
        code = "killed at deadline" if self.exit is None or self.exit < 0 else f"exit {self.exit}"
        return (f"  {self.mode:5s} {self.seconds:6.1f} s  {self.finished:4d} items "
                f"{rate:5.2f} items/s  retries {self.retries:3d} (429: {self.retries_429})  "
                f"max/1 s {self.max_window:2d}  {code}")


@dataclass
class Storms:
    """Every ``every`` seconds: a 2 s 429 storm (Retry-After on, then off) or an outage."""

    fake: FakeTmdbProcess
    every: float
    count: Counter[str] = field(default_factory=Counter)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        kinds = ("429+retry-after", "429", "outage")
        n = 0
        while not self.stop.wait(self.every):
            kind = kinds[n % len(kinds)]
            n += 1
            if kind == "outage":
                self.fake.configure(down_for=2.0)
            else:
                self.fake.configure(retry_after_header=kind != "429", force_429_for=2.0)
            self.count[kind] += 1


def finished_since(db: Path, since_iso: str) -> int:
    rows = db_rows(db, "SELECT COUNT(*) FROM media_scan_state WHERE last_scanned_at >= ?",
                   [since_iso])
    return int(rows[0][0]) if rows else 0


def now_iso() -> str:
    """Now in the state database's timestamp format (``sidecar.state.iso``)."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def one_scan(fake: FakeTmdbProcess, env: dict[str, str], db: Path, mode: str, log: Path,
             deadline: float, grace: float) -> ScanFigures:
    """One ``scanarr -v scan``; SIGKILL if it is still running ``grace`` s past the deadline."""
    if mode == "retry":
        make_retries_due(db)
    since, started = now_iso(), time.monotonic()
    mark = len(fake_requests(fake))
    log.write_bytes(b"")
    proc = start_scanarr(env, "-v", "scan", *(["--mode", "full"] if mode == "full" else []),
                         log=log)
    try:
        proc.wait(max(1.0, deadline + grace - time.monotonic()))
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    text = log.read_text(errors="replace")
    retries = [line for line in text.splitlines() if RETRY_LINE.search(line)]
    code = proc.returncode if proc.returncode >= 0 else None
    api = [r["t"] for r in fake_requests(fake, mark) if r["kind"] != "image"]
    return ScanFigures(mode, time.monotonic() - started, finished_since(db, since),
                       len(retries), sum("HTTP 429" in line for line in retries), code,
                       max_in_window(api, 1.0))


def soak(args: argparse.Namespace, work: Path) -> None:
    stats = genlib.generate(work / "lib", args.files, args.seed)
    print(f"library: {stats.videos} videos ({stats.ignored_videos} ignored videos, "
          f"{stats.other_files} other files) in {stats.dirs} folders")
    roots = (work / "lib" / "Movies", work / "lib" / "TV")
    fake = FakeTmdbProcess.spawn("--rate-limit", str(args.fake_limit), "--rate-window", "1",
                                 "--seed", str(args.seed))
    storms = Storms(fake, args.storm_every)
    drain = threading.Thread(target=lambda: fake.proc.stderr and fake.proc.stderr.read(),
                             daemon=True)  # its log must never fill the pipe and stall it
    drain.start()
    try:
        fake.configure(**FAULTS)
        env = scan_env(work / "data", fake.url, fake.api_key, roots, SCANARR_SETTLE_SECONDS="0",
                       SCANARR_HTTP_TIMEOUT="1", SCANARR_WORKERS=str(args.workers),
                       SCANARR_RATE_LIMIT=str(args.budget))
        db = work / "data" / "scanarr.db"
        threading.Thread(target=storms.run, daemon=True).start()
        started = time.monotonic()
        deadline = started + args.seconds
        scans: list[ScanFigures] = []
        modes = ["quick"] + ["full", "retry"] * 1000
        while time.monotonic() < deadline - 2:
            scans.append(one_scan(fake, env, db, modes[len(scans)], work / "scan.log", deadline,
                                  args.grace))
            print(scans[-1].line(), flush=True)
        elapsed = time.monotonic() - started
        storms.stop.set()
        report(scans, elapsed, fake, storms, db, work / "lib")
    finally:
        storms.stop.set()
        fake.stop()


def fake_stats(fake: FakeTmdbProcess) -> dict[str, Any]:
    """The fake's figures; its control port is closed while an outage lasts."""
    return dict(_patient(fake.stats))


def fake_requests(fake: FakeTmdbProcess, since: int = 0) -> list[dict[str, Any]]:
    return list(_patient(lambda: fake.requests(since)))


def _patient(call: Callable[[], Any]) -> Any:
    for _ in range(50):
        try:
            return call()
        except OSError:
            time.sleep(0.2)
    return call()


def report(scans: list[ScanFigures], elapsed: float, fake: FakeTmdbProcess, storms: Storms,
           db: Path, lib: Path) -> None:
    fstats = fake_stats(fake)
    finished = sum(s.finished for s in scans)
    reasons = Counter({r[0] or "?": r[1] for r in db_rows(
        db, "SELECT error_reason, COUNT(*) FROM media_scan_state WHERE scan_state = 'ERROR' "
        "GROUP BY 1")})
    print(f"\nsoak: {elapsed:.0f} s, {len(scans)} scans, {finished} items finished, "
          f"{finished / elapsed:.2f} items/s overall")
    print(f"fake TMDB: {fstats['api_requests']} API + {fstats['image_requests']} image requests, "
          f"429s sent: {fstats['rate_limited']}; most API requests in any 1 s: "
          f"{max(s.max_window for s in scans)} within one scan, {fstats['max_in_window']} across "
          "scans (a new process does not know its predecessor's last second)")
    print(f"faults injected: {dict(sorted(fstats['faults'].items()))}; "
          f"events: {dict(storms.count)}")
    print(f"client retries: {sum(s.retries for s in scans)} "
          f"(after 429: {sum(s.retries_429 for s in scans)})")
    print(f"final states: {dict(states(db))}; errors by reason: {dict(reasons)}")
    whole = check_files_whole(lib)
    print(f"on disk: {whole['metadata']} metadata documents valid, {whole['images']} images whole,"
          f" {len(temp_files(lib))} temp files")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="soak duration (default 60)")
    parser.add_argument("--files", type=int, default=150, help="media videos (default 150)")
    parser.add_argument("--budget", type=int, default=20,
                        help="SCANARR_RATE_LIMIT per 1 s window (default 20)")
    parser.add_argument("--fake-limit", type=int, default=24,
                        help="the fake's limit per rolling 1 s (default 24)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--storm-every", type=float, default=12.0,
                        help="seconds between 429 storms / outages (default 12)")
    parser.add_argument("--grace", type=float, default=10.0,
                        help="seconds a scan may overrun the deadline before SIGKILL")
    parser.add_argument("--keep", action="store_true", help="keep the library and database")
    args = parser.parse_args(argv)
    with scratch_dir("scanarr-soak-", keep=args.keep) as work:
        soak(args, work)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
