"""Webhook figures: webhook -> metadata.json latency, and a burst of 1,000 webhooks.

    python bench/bench_webhooks.py [--events 50] [--burst-items 500]

Everything is real HTTP on 127.0.0.1: ``scanarr serve`` runs as a child process, the fake
TMDB as another (50 ms added to every API and image answer), the fake Jellyfin in this
process (it answers the item lookups and records the rescans).

1. **Latency**: one new movie at a time -- create the file, register it with the host,
   POST the webhook (as the Jellyfin plugin would, with ``Provider_tmdb``), and time until
   its ``metadata.json`` is on disk.  p50/p95/max over ``--events`` movies (after one
   warm-up that also fetches ``/configuration``).  Goal: p95 <= 2 s.  The intake debounce
   (1 s of quiet, so bursts coalesce) is part of the figure on purpose.
2. **Burst**: ``--burst-items`` new items (60 % movies, 40 % episodes of 4 shows), each
   webhook sent twice as Jellyfin 10.11 does, shuffled, from 16 client threads.  Reports
   how fast all were answered, whether every item got its files (none lost), how many
   stored events were duplicates, and the TMDB request count against the minimum (one
   detail request per movie, one search + one detail per show, one /configuration).
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.e2e_kit import ServeProcess, child_env, db_rows
from tests.fakes.fake_jellyfin import FakeJellyfin
from tests.fakes.tmdb_process import FakeTmdbProcess
from tests.test_serve_e2e import SECRET, SERVE_ENV, touch, wait_for
from tests.webhook_payloads import jellyfin_template


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def serve(tmp: Path, tmdb: FakeTmdbProcess, jellyfin: FakeJellyfin,
          **env: str) -> ServeProcess:
    """``scanarr serve`` on the library ``tmp/lib``, its data in ``tmp/data``."""
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "lib").mkdir(exist_ok=True)
    return ServeProcess(child_env(tmp / "data", **{
        **SERVE_ENV, "SCANARR_LIBRARIES": str(tmp / "lib"), "SCANARR_TMDB_API_URL": tmdb.url,
        "SCANARR_TMDB_API_KEY": tmdb.api_key, "SCANARR_HOST": "jellyfin",
        "SCANARR_HOST_URL": jellyfin.url, "SCANARR_HOST_TOKEN": "jf-key",
        "SCANARR_LOG_LEVEL": "WARNING", **env}), tmp / "serve.log", timeout=20)


def post(session: requests.Session, url: str, body: bytes) -> tuple[int, float]:
    started = time.perf_counter()
    answer = session.post(f"{url}/webhooks/jellyfin", data=body, timeout=30,
                          headers={"Content-Type": "text/plain", "X-Scanarr-Token": SECRET})
    return answer.status_code, time.perf_counter() - started


# -- 1. latency ---------------------------------------------------------------------------


def one_movie(served: ServeProcess, lib: Path, jellyfin: FakeJellyfin,
              session: requests.Session, n: int) -> tuple[float, float]:
    video = touch(lib / f"New Movie {n} (2024)" / f"New Movie {n} (2024).mkv")
    item_id = f"{n:032x}"
    jellyfin.add_item(item_id, str(video), name=f"New Movie {n}")
    started = time.perf_counter()
    status, answered = post(session, served.url,
                            jellyfin_template(item_id, name=f"New Movie {n}", year=2024,
                                              tmdb=str(700000 + n)))
    assert status == 202, status
    target = video.parent / "metadata.json"
    wait_for(target.exists, f"metadata for movie {n}", timeout=60)
    return time.perf_counter() - started, answered


def bench_latency(tmp: Path, tmdb: FakeTmdbProcess, jellyfin: FakeJellyfin,
                  events: int) -> None:
    served = serve(tmp, tmdb, jellyfin)
    session = requests.Session()
    try:
        warm, _ = one_movie(served, tmp / "lib", jellyfin, session, 0)
        results = [one_movie(served, tmp / "lib", jellyfin, session, n)
                   for n in range(1, events + 1)]
    finally:
        print("  server exit code on SIGTERM:", served.stop())
    totals = [r[0] for r in results]
    answers = [r[1] * 1000 for r in results]
    print(f"1. webhook -> metadata.json, {events} new movies one at a time, TMDB +50 ms")
    print(f"   warm-up (also fetches /configuration): {warm:.3f} s")
    print(f"   p50 {pct(totals, 0.5):.3f} s   p95 {pct(totals, 0.95):.3f} s   "
          f"max {max(totals):.3f} s   mean {statistics.mean(totals):.3f} s   (goal p95 <= 2 s)")
    print(f"   webhook answered (202) in: p50 {pct(answers, 0.5):.1f} ms, "
          f"p95 {pct(answers, 0.95):.1f} ms")


# -- 2. burst -------------------------------------------------------------------------------


def burst_items(lib: Path, jellyfin: FakeJellyfin, count: int) -> list[tuple[Path, bytes]]:
    """(file whose metadata must appear, webhook body) for ``count`` new items."""
    items = []
    movies = count * 6 // 10
    for n in range(movies):
        video = touch(lib / f"Burst Movie {n} (2023)" / f"Burst Movie {n} (2023).mkv")
        item_id = f"b{n:031x}"
        jellyfin.add_item(item_id, str(video))
        body = jellyfin_template(item_id, name=f"Burst Movie {n}", year=2023, tmdb=str(800000 + n))
        items.append((video.parent / "metadata.json", body))
    episodes = count - movies
    for n in range(episodes):
        show, season, ep = n % 4, 1 + (n // 4) % 2, 1 + n // 8
        video = touch(lib / f"Burst Show {show} (2021)" / f"Season {season:02d}"
                      / f"Burst Show {show} - S{season:02d}E{ep:02d}.mkv")
        item_id = f"e{n:031x}"
        jellyfin.add_item(item_id, str(video), type="Episode")
        body = jellyfin_template(item_id, item_type="Episode", name=f"Ep {ep}",
                                 series=f"Burst Show {show}", season=season, episode=ep)
        items.append((video.with_suffix(".metadata.json"), body))
    return items


def intake_counters(served: ServeProcess) -> dict[str, float]:
    text = requests.get(served.url + "/metrics", timeout=10).text
    found = re.findall(r"^scanarr_webhook_intake_(\w+?)(?:_total)?(?:\{[^}]*\})? ([0-9.e+-]+)$",
                       text, re.MULTILINE)
    return {name: float(value) for name, value in found}


def bench_burst(tmp: Path, tmdb: FakeTmdbProcess, jellyfin: FakeJellyfin, count: int) -> None:
    served = serve(tmp, tmdb, jellyfin, SCANARR_WORKERS="4", SCANARR_RATE_LIMIT="1000")
    items = burst_items(tmp / "lib", jellyfin, count)
    bodies = [body for _, body in items] * 2
    random.Random(7).shuffle(bodies)
    tmdb.reset()
    tmdb.configure(latency_ms=50, rate_limit=0)
    sessions: dict[int, requests.Session] = {}

    def send(body: bytes) -> tuple[int, float]:
        import threading

        session = sessions.setdefault(threading.get_ident(), requests.Session())
        return post(session, served.url, body)

    started = time.perf_counter()
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(send, bodies))
    answered_in = time.perf_counter() - started
    missing = [p for p, _ in items]
    deadline = time.monotonic() + 180
    while missing and time.monotonic() < deadline:
        missing = [p for p in missing if not p.exists()]
        time.sleep(0.1)
    done_in = time.perf_counter() - started
    counters = intake_counters(served)
    stats = tmdb.stats()
    pending = db_rows(served.db, "SELECT COUNT(*) FROM pending_events")[0][0]
    code = served.stop()
    _report_burst(len(bodies), count, answers, answered_in, done_in, missing, pending, counters,
                  stats, code)


def _report_burst(sent: int, count: int, answers: list[tuple[int, float]], answered_in: float,
                  done_in: float, missing: list[Path], pending: int, counters: dict[str, float],
                  stats: dict[str, Any], code: int) -> None:
    codes = sorted({status for status, _ in answers})
    times = [t * 1000 for _, t in answers]
    movies = count * 6 // 10
    minimum = movies + 4 * 2 + 1
    print(f"2. burst: {sent} webhooks ({count} new items, each sent twice), 16 client threads")
    print(f"   all answered in {answered_in:.2f} s ({sent / answered_in:.0f}/s), status codes "
          f"{codes}; answer p50 {pct(times, 0.5):.1f} ms, p95 {pct(times, 0.95):.1f} ms, "
          f"max {max(times):.1f} ms")
    print(f"   every item's metadata on disk after {done_in:.1f} s: "
          f"{'yes' if not missing else f'NO, {len(missing)} missing'}; "
          f"stored events left: {pending}")
    print(f"   intake: {counters.get('submitted', 0):.0f} stored, "
          f"{counters.get('duplicates', 0):.0f} duplicates coalesced, "
          f"{counters.get('resolved', 0):.0f} resolved, "
          f"{counters.get('items_queued', 0):.0f} items queued, "
          f"{counters.get('retried', 0):.0f} retried")
    print(f"   TMDB API requests: {stats['api_requests']} (minimum {minimum}: {movies} movies, "
          f"4 x search + details for shows, 1 configuration); by kind {stats['by_kind']}; "
          f"images {stats['image_requests']}; 429s {stats['rate_limited']}")
    print(f"   server exit code on SIGTERM: {code}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument("--burst-items", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, \
            FakeTmdbProcess.spawn("--rate-limit", "0", "--latency-ms", "50") as tmdb, \
            FakeJellyfin(token="jf-key") as jellyfin:
        bench_latency(Path(tmp) / "latency", tmdb, jellyfin, args.events)
        bench_burst(Path(tmp) / "burst", tmdb, jellyfin, args.burst_items)


if __name__ == "__main__":
    main()
