"""Shared helpers for the process-level tests (crash safety, fault matrix, ``serve`` end to
end, the browser journey) and the soak bench.

Everything here drives ``python -m sidecar`` as a real child process and judges the result
from the outside only: the state database (read-only), the files on disk and the fake
TMDB's request log.  Nothing imports the sidecar's internals except the metadata schema
check, which is the contract the files must meet.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from sidecar.metadata import validate_document

REPO = Path(__file__).resolve().parent.parent
OLD = 1_600_000_000  # file mtimes well before any settle window
TEMP_GLOB = ".scanarr-*.tmp"
RETRYABLE = frozenset({"unavailable", "bad_response", "write_failed", "internal"})
FINAL = frozenset({"INDEXED", "ERROR"})
JPEG_START, JPEG_END = b"\xff\xd8\xff", b"\xff\xd9"

_FIRST = ("Silent", "Golden", "Crimson", "Hidden", "Frozen", "Burning", "Distant", "Electric",
          "Hollow", "Iron", "Midnight", "Northern", "Quiet", "Restless", "Savage", "Wandering")
_SECOND = ("Harbor", "Kingdom", "Lantern", "Orchard", "Compass", "Frontier", "Canyon",
           "Falcon", "Cipher", "Voyage", "Requiem", "Beacon", "Labyrinth", "Station",
           "Meadow", "Citadel", "Archive", "Monsoon", "Glacier")
_SHOWS = ("Northern Lights Inn", "The Copper Mile", "Harbor Patrol Unit", "Dust and Thunder",
          "Glass Orchard", "The Long Watch", "Lantern Street", "Stone Valley Station")


@dataclass(frozen=True)
class Library:
    """A generated library: its two roots and every video in it."""

    root: Path
    movies: Path
    tv: Path
    videos: tuple[Path, ...]

    @property
    def roots(self) -> tuple[Path, Path]:
        return self.movies, self.tv


def movie_titles(count: int) -> list[str]:
    """``count`` distinct "Word Word (Year)" titles (up to 304)."""
    pairs = [(a, b) for b in _SECOND for a in _FIRST]
    if count > len(pairs):
        raise ValueError(f"at most {len(pairs)} movies")
    return [f"{a} {b} ({1950 + (i * 7) % 70})" for i, (a, b) in enumerate(pairs[:count])]


def make_library(root: Path, *, movies: int, shows: int = 0, seasons: int = 2,
                 episodes: int = 4) -> Library:
    """Movies in their own folders; shows as ``Show (Year)/Season NN/Show - SxxEyy.mkv``."""
    videos: list[Path] = []
    for title in movie_titles(movies):
        videos.append(root / "Movies" / title / f"{title}.mkv")
    for n, show in enumerate(_SHOWS[:shows]):
        folder = root / "TV" / f"{show} ({2001 + n})"
        videos += [folder / f"Season {s:02d}" / f"{show} - S{s:02d}E{e:02d}.mkv"
                   for s in range(1, seasons + 1) for e in range(1, episodes + 1)]
    for path in videos:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\0" * 1024)
        os.utime(path, (OLD, OLD))
    (root / "Movies").mkdir(parents=True, exist_ok=True)
    (root / "TV").mkdir(parents=True, exist_ok=True)
    return Library(root, root / "Movies", root / "TV", tuple(videos))


# --- running scanarr ---------------------------------------------------------------------


def child_env(data: Path, **extra: str) -> dict[str, str]:
    """The environment of a ``scanarr`` child: clean of the caller's SCANARR_* (a developer's
    own settings must not leak into a test), this checkout importable, its data in ``data``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCANARR_")}
    env.update({"PYTHONPATH": str(REPO), "SCANARR_DATA_DIR": str(data), **extra})
    return env


def scan_env(data: Path, api_url: str, api_key: str, roots: Iterable[Path],
             **extra: str) -> dict[str, str]:
    """A ``child_env`` for scanning ``roots`` against the TMDB at ``api_url``, small budget."""
    return child_env(data, **{
        "SCANARR_LIBRARIES": os.pathsep.join(str(r) for r in roots),
        "SCANARR_TMDB_API_URL": api_url,
        "SCANARR_TMDB_API_KEY": api_key,
        "SCANARR_RATE_LIMIT": "10",
        "SCANARR_RATE_WINDOW": "1",
        "SCANARR_WORKERS": "4",
        **extra,
    })


def run_scanarr(env: Mapping[str, str], *args: str,
                timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sidecar", *args], env=dict(env), cwd=REPO,
                          capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def start_scanarr(env: Mapping[str, str], *args: str, log: Path) -> subprocess.Popen[bytes]:
    """A ``scanarr`` child in the background, its output in ``log``."""
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "sidecar", *args], env=dict(env),
                                cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)


def wait_until(check: Callable[[], Any], what: str, timeout: float = 60.0,
               tick: float = 0.01) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(tick)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def free_port() -> int:
    """A loopback port nobody listens on right now (the OS picks it; a race is unlikely)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServeProcess:
    """``scanarr serve`` as a child on a free loopback port, its output in ``log``.

    Constructed healthy or not at all: it waits for ``/healthz`` and, should the child die
    first, fails with the child's log.  Use it as a context manager (or call ``close``) so a
    failing test never leaves a server behind.
    """

    def __init__(self, env: Mapping[str, str], log: Path, *, timeout: float = 30.0) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log
        self.db = Path(env["SCANARR_DATA_DIR"]) / "scanarr.db"
        self.proc = start_scanarr(env, "serve", "--host", "127.0.0.1", "--port",
                                  str(self.port), log=log)
        try:
            wait_until(self.healthy, "scanarr serve to answer /healthz", timeout, tick=0.05)
        except BaseException:
            self.close()
            raise

    def healthy(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"scanarr serve exited early:\n{self.log()}")
        try:
            return requests.get(self.url + "/healthz", timeout=1).status_code == 200
        except requests.ConnectionError:
            return False

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 40.0) -> int:
        """Ask the server to stop (``sig``) and return its exit code: 0 is a clean stop."""
        self.proc.send_signal(sig)
        return self.proc.wait(timeout)

    def close(self, grace: float = 30.0) -> None:
        """Make sure the child is gone: SIGTERM, then SIGKILL after ``grace`` seconds."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def __enter__(self) -> ServeProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def status(env: Mapping[str, str]) -> dict[str, Any]:
    result = run_scanarr(env, "status", "--json")
    assert result.returncode == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


# --- the state database, read from outside -------------------------------------------------


def db_rows(db: Path, sql: str = "SELECT * FROM media_scan_state",
            params: Iterable[Any] = ()) -> list[sqlite3.Row]:
    """Rows from the live database without taking any write lock (empty if not there yet)."""
    if not db.exists():
        return []
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    conn.row_factory = sqlite3.Row
    try:
        return list(conn.execute(sql, list(params)).fetchall())
    except sqlite3.OperationalError:  # the schema is not created yet
        return []
    finally:
        conn.close()


def states(db: Path) -> Counter[str]:
    return Counter({r[0]: r[1] for r in db_rows(
        db, "SELECT scan_state, COUNT(*) FROM media_scan_state GROUP BY 1")})


def make_retries_due(db: Path) -> None:
    """Pretend the retry cool-down has passed (what a later scheduled scan would see)."""
    with sqlite3.connect(db, timeout=30) as conn:
        conn.execute("UPDATE media_scan_state SET next_retry_after = "
                     "'2000-01-01T00:00:00.000000Z' WHERE next_retry_after IS NOT NULL")
    conn.close()


# --- what must hold on disk ------------------------------------------------------------------


def temp_files(root: Path) -> list[Path]:
    return sorted(root.rglob(TEMP_GLOB))


def check_files_whole(root: Path) -> Counter[str]:
    """Every metadata document parses and validates; every JPEG is whole (an image that is
    not a JPEG at all is the user's own placeholder, counted as ``foreign_images``)."""
    seen: Counter[str] = Counter()
    for path in root.rglob("*"):
        if not path.is_file():
            continue
        if path.name.endswith("metadata.json"):
            validate_document(json.loads(path.read_text(encoding="utf-8")))
            seen["metadata"] += 1
        elif path.suffix == ".jpg":
            data = path.read_bytes()
            if not data.startswith(JPEG_START):
                seen["foreign_images"] += 1  # the user's own placeholder artwork, kept
                continue
            assert data.endswith(JPEG_END), f"half image {path}"
            seen["images"] += 1
    return seen


def metadata_of(video: Path) -> Path | None:
    """The metadata document written for ``video`` (own-folder or stem name), if any."""
    for candidate in (video.with_name(f"{video.stem}.metadata.json"),
                      video.parent / "metadata.json"):
        if candidate.is_file():
            return candidate
    return None


def check_outcome(lib: Library, db: Path, *, reasons: Iterable[str] = ()) -> Counter[str]:
    """The end state every scan must reach, whatever went wrong on the way.

    Every item INDEXED or in ERROR (never PROCESSING, never left NEW); an ERROR only for an
    expected reason, with a retry time when a retry can help; an INDEXED item really has its
    valid metadata on disk (with its TMDB id); nothing half-written; no temp file left.
    Returns counts by state and by error reason.
    """
    allowed = set(reasons)
    outcome: Counter[str] = Counter()
    rows = db_rows(db)
    assert len(rows) == len(lib.videos), (len(rows), len(lib.videos))
    for row in rows:
        state, path = row["scan_state"], row["media_path"]
        assert state in FINAL, f"{path} is {state}"
        outcome[state] += 1
        if state == "ERROR":
            reason = row["error_reason"]
            outcome[f"reason:{reason}"] += 1
            assert reason in allowed, f"{path}: unexpected {reason}: {row['last_error']}"
            if reason in RETRYABLE:
                assert row["next_retry_after"], f"{path}: {reason} without a retry time"
            continue
        doc_path = metadata_of(Path(path))
        assert doc_path is not None, f"{path} INDEXED without metadata beside it"
        doc = json.loads(doc_path.read_text(encoding="utf-8"))
        if row["media_type"] == "movie":
            assert doc["tmdb_id"] == row["tmdb_id"], path
    check_files_whole(lib.root)
    assert not temp_files(lib.root), temp_files(lib.root)
    return outcome


# --- the fake's request log ----------------------------------------------------------------


def detail_requests(records: Iterable[Mapping[str, Any]]) -> Counter[tuple[str, int]]:
    """How often each ``(movie|tv, tmdb id)`` was fetched (answered or not)."""
    found: Counter[tuple[str, int]] = Counter()
    for record in records:
        if record["kind"] in ("movie", "tv"):
            tail = record["path"].removeprefix("/3/").split("/")
            if len(tail) >= 2 and tail[1].isdigit():
                found[(record["kind"], int(tail[1]))] += 1
    return found
