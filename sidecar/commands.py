"""What each CLI command does, as plain functions (the CLI only parses arguments)."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from sidecar.app import AUTH_ERROR_KEY, App, build_app, elapsed_ms, open_store, startup_recovery
from sidecar.errors import IllegalTransition
from sidecar.lifecycle import Lifecycle
from sidecar.progress import ProgressBar
from sidecar.scanner import ScanSummary
from sidecar.scanrun import interrupted_full_scan
from sidecar.workqueue import Priority

SCAN_STATES = {
    "quick": (Lifecycle.NEW, Lifecycle.CHANGED, Lifecycle.ERROR),
    "refresh": (Lifecycle.STALE, Lifecycle.ERROR),
}
OUTAGE_WAIT_S = 600.0  # how long a one-shot scan waits for TMDB to come back
SCAN_PRIORITY = {"quick": None, "refresh": Priority.LOW, "full": Priority.CRITICAL}


def scan(mode: str, paths: list[str]) -> int:
    """One scan to completion: walk, record, fetch what needs fetching, print a summary."""
    store, settings = open_store()
    startup_recovery(store)
    resume = interrupted_full_scan(store) if mode == "full" and not paths else None
    if resume:
        print(f"resuming the full scan started {resume} (cut short): items it already "
              "refreshed are not fetched again", file=sys.stderr)
    app = build_app(settings, store)
    started = time.monotonic()
    run_id = store.start_run(mode, trigger="cli", paths=paths)
    bar = ProgressBar(sys.stderr)
    summary = app.scanner.scan(mode, paths, progress=lambda c: bar.walking(c["files"], c["dirs"]))
    bar.clear()
    fetched = _fetch(app, mode, bar, resume)
    counts = {**summary.counts, **{f"fetch_{k}": v for k, v in fetched.items()}}
    store.finish_run(run_id, counts, duration_ms=elapsed_ms(started))
    summary.seconds = time.monotonic() - started
    _print_summary(summary, fetched, app)
    return 0


def _fetch(app: App, mode: str, bar: ProgressBar, resume: str | None = None) -> Counter[str]:
    """Run the workers over the queued work until it is done (or fetching is stopped)."""
    before = app.store.counts()
    if not app.settings.has_tmdb_key:
        return Counter(waiting=_waiting(app))
    engine = app.engine
    if mode == "full":
        jobs = engine.enqueue_all(Priority.CRITICAL, done_since=resume)
    else:
        jobs = engine.enqueue_pending(states=SCAN_STATES[mode], priority=SCAN_PRIORITY[mode])
    if mode == "refresh":
        engine.size = 1  # background freshness work: conservative, one request at a time
    if jobs:
        base = app.worker.items_done
        bar.start(jobs)
        engine.start()
        engine.wait_idle(tick=lambda: bar.update(app.worker.items_done - base))
        wait_out_outage(app, OUTAGE_WAIT_S)
        engine.stop()
        bar.clear()
    app.record_auth_error()
    after = app.store.counts()
    return Counter({
        "indexed": max(0, after[Lifecycle.INDEXED] - before[Lifecycle.INDEXED]),
        "errors": max(0, after[Lifecycle.ERROR] - before[Lifecycle.ERROR]),
        "waiting": _waiting(app),
    })


def wait_out_outage(app: App, budget_s: float, *, sleep: Callable[[float], None] = time.sleep,
                    clock: Callable[[], float] = time.time) -> int:
    """TMDB down (or throttling) past every retry leaves items in ERROR ``unavailable`` with a
    retry time.  A one-shot scan waits for those times, within ``budget_s``, and fetches them
    again, so an outage of a few minutes ends in a finished scan; returns the rounds waited."""
    deadline, rounds = clock() + budget_s, 0
    while app.worker.auth_error is None:
        due = app.store.earliest_retry("unavailable")
        if due is None or due > deadline:
            return rounds
        sleep(max(0.0, due - clock()))
        rounds += 1
        app.engine.enqueue_pending(states=(Lifecycle.ERROR,))
        app.engine.wait_idle()
    return rounds


def _waiting(app: App) -> int:
    return app.store.count_work(settle_before_ns=app.scanner.settle_before_ns())


def _print_summary(summary: ScanSummary, fetched: Counter[str], app: App) -> None:
    for error in summary.errors[:20]:
        print(f"  error: {error}", file=sys.stderr)
    if len(summary.errors) > 20:
        print(f"  ... and {len(summary.errors) - 20} more errors", file=sys.stderr)
    line = summary.line()
    if not app.settings.has_tmdb_key:
        line += f"; no TMDB key: {fetched['waiting']} item(s) wait for SCANARR_TMDB_API_KEY"
    elif app.worker.auth_error:
        line += f"; TMDB rejected the key, fetching stopped: {app.worker.auth_error}"
    else:
        line += f"; fetched: {fetched['indexed']} indexed, {fetched['errors']} in error"
        if fetched["waiting"]:
            line += f", {fetched['waiting']} waiting"
    print(line, file=sys.stderr)


def status() -> dict[str, Any]:
    """Counts by state, queued work, last scan runs, recent errors, TMDB key state."""
    store, settings = open_store()
    stored = store.stored_settings()
    errors = store.recent_errors(10)
    return {
        "counts": store.counts(),
        "errors_by_reason": store.error_counts(),
        "queue": store.count_work(settle_before_ns=time.time_ns()),
        "tmdb": {"key_configured": settings.has_tmdb_key,
                 "auth_error": stored.get(AUTH_ERROR_KEY) or None},
        "runs": store.runs(5),
        "recent_errors": [{"path": e.path, "reason": e.error_reason, "error": e.last_error,
                           "next_retry_after": e.next_retry_after} for e in errors],
    }


def format_status(report: dict[str, Any]) -> str:
    counts = report["counts"]
    lines = ["items: " + ", ".join(f"{k} {v}" for k, v in counts.items()),
             f"queue: {report['queue']} item(s) waiting to be fetched"]
    tmdb = report["tmdb"]
    if not tmdb["key_configured"]:
        lines.append("TMDB: no API key (set SCANARR_TMDB_API_KEY); fetching is off")
    elif tmdb["auth_error"]:
        lines.append(f"TMDB: key rejected, fetching stopped: {tmdb['auth_error']}")
    if report["errors_by_reason"]:
        lines.append("errors: " + ", ".join(f"{k} {v}" for k, v in
                                            report["errors_by_reason"].items()))
    for run in report["runs"]:
        lines.append(f"run {run['id']}: {run['mode']} {run['status']} started {run['started_at']}"
                     f" ({(run['duration_ms'] or 0) / 1000:.1f}s)")
    for error in report["recent_errors"]:
        lines.append(f"  {error['reason']}: {error['path']}: {error['error']}")
    return "\n".join(lines)


def match(path: str, tmdb_id: int) -> int:
    """Fix a match by hand: the item gets the id and is fetched on the next scan."""
    store, _ = open_store()
    item = store.get(os.path.abspath(path))
    if item is None:
        print(f"scanarr: {path} is not in the library (scan it first)", file=sys.stderr)
        return 1
    # INDEXED and STALE cannot go back to NEW; CHANGED is the state a quick scan fetches.
    done = (Lifecycle.INDEXED, Lifecycle.STALE)
    target = Lifecycle.CHANGED if item.state in done else Lifecycle.NEW
    store.update_fields(item.path, tmdb_id=tmdb_id, id_source="manual")
    with contextlib.suppress(IllegalTransition):  # already NEW/CHANGED: the id is used next
        store.transition(item.path, target)
    print(f"{item.path}: TMDB id {tmdb_id}; it will be fetched on the next scan")
    return 0


def serve(host: str, port: int) -> int:
    from sidecar.serve import run

    return run(host, port)
