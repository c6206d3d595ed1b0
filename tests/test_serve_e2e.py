"""End to end: ``scanarr serve`` as a real process between a fake TMDB and a fake host.

Everything talks real HTTP on 127.0.0.1: the test posts webhooks the way Plex and the
Jellyfin plugin do, the sidecar calls the fake host back to resolve the item, fetches
from the fake TMDB, writes files beside the media, and asks the fake host to rescan.
Then SIGTERM: exit code 0 and nothing left PROCESSING in the database.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.fakes.fake_jellyfin import FakeJellyfin
from tests.fakes.fake_plex import FakePlex
from tests.fakes.fake_tmdb import FakeTmdb, running_fake_tmdb
from tests.webhook_payloads import (
    jellyfin_all_properties,
    jellyfin_template,
    plex_payload,
    post_jellyfin,
    post_plex,
)

REPO = Path(__file__).resolve().parents[1]
SECRET = "e2e-webhook-secret-0123456789"
TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(check: Callable[[], Any], what: str, timeout: float = TIMEOUT) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\0" * 1024)
    return path


class Served:
    """``python -m sidecar serve`` in a subprocess, with its log kept for failures."""

    def __init__(self, tmp: Path, env: dict[str, str]) -> None:
        self.data = tmp / "data"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp / "serve.log"
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("SCANARR_")}
        full_env.update({"SCANARR_DATA_DIR": str(self.data), "SCANARR_WEBHOOK_SECRET": SECRET,
                         "SCANARR_SETTLE_SECONDS": "3600", "SCANARR_SCAN_INTERVAL": "1440",
                         "SCANARR_LOG_LEVEL": "INFO", "PYTHONPATH": str(REPO), **env})
        self._log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sidecar", "serve", "--host", "127.0.0.1",
             "--port", str(self.port)], env=full_env, cwd=REPO, stdout=self._log,
            stderr=subprocess.STDOUT)
        wait_for(self._healthy, "the server to answer /healthz", timeout=20)

    def _healthy(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"serve exited early:\n{self.log()}")
        try:
            return requests.get(self.url + "/healthz", timeout=1).status_code == 200
        except requests.ConnectionError:
            return False

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def db(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with sqlite3.connect(f"file:{self.data / 'scanarr.db'}?mode=ro", uri=True) as conn:
            return list(conn.execute(sql, params).fetchall())

    def processing(self) -> int:
        return int(self.db("SELECT COUNT(*) FROM media_scan_state "
                           "WHERE scan_state = 'PROCESSING'")[0][0])

    def terminate(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=40)
        finally:
            self._log.close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self._log.close()


@pytest.fixture
def tmdb() -> Iterator[FakeTmdb]:
    with running_fake_tmdb(rate_limit=0) as fake:
        yield fake


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[[dict[str, str]], Served]]:
    started: list[Served] = []

    def start(env: dict[str, str]) -> Served:
        served = Served(tmp_path, env)
        started.append(served)
        return served

    yield start
    for served in started:
        served.kill()


def api_requests(tmdb: FakeTmdb, prefix: str) -> list[dict[str, Any]]:
    return [r for r in tmdb.requests() if r["path"].startswith(prefix)]


def test_plex_webhooks_with_mapped_and_plain_paths(tmp_path: Path, tmdb: FakeTmdb,
                                                   serve: Callable[..., Served]) -> None:
    movies, tv = tmp_path / "lib" / "movies", tmp_path / "lib" / "tv"
    movies.mkdir(parents=True)
    tv.mkdir(parents=True)
    with FakePlex(token="plex-token") as plex:
        plex.add_section(1, "movie", "Movies", ["/data/movies"])  # Plex sees another path
        plex.add_section(2, "show", "TV Shows", [str(tv)])        # ... and here the same one
        served = serve({"SCANARR_LIBRARIES": f"{movies}{os.pathsep}{tv}",
                        "SCANARR_PATH_MAP": f"/data/movies={movies}",
                        "SCANARR_TMDB_API_URL": tmdb.url, "SCANARR_TMDB_API_KEY": tmdb.api_key,
                        "SCANARR_HOST": "plex", "SCANARR_HOST_URL": plex.url,
                        "SCANARR_HOST_TOKEN": "plex-token"})
        try:
            _plex_movie_through_mapping(served, plex, tmdb, movies)
            show = _plex_season_burst(served, plex, tmdb, tv)
            _plex_hostile_input(served, plex, movies)
            assert served.terminate() == 0, served.log()
            assert served.processing() == 0
            # Rescans are debounced (5 s); whatever had not gone out is flushed on shutdown.
            assert (1, "/data/movies/Heat (1995)") in plex.refreshes, "mapped back to Plex's path"
            assert (2, str(show)) in plex.refreshes, "one scan of the show folder"
        except BaseException:
            print(served.log())
            raise


def _plex_movie_through_mapping(served: Served, plex: FakePlex, tmdb: FakeTmdb,
                                movies: Path) -> None:
    video = touch(movies / "Heat (1995)" / "Heat (1995).mkv")
    plex.add_movie(1001, "/data/movies/Heat (1995)/Heat (1995).mkv",
                   guids=["imdb://tt0113277", "tmdb://949"], title="Heat", year=1995)
    answer = post_plex(served.url, plex_payload("library.new", 1001,
                                                guids=("imdb://tt0113277", "tmdb://949")),
                       token=SECRET)
    assert answer.status_code == 202, answer.text
    assert answer.json()["status"] == "accepted"
    doc = wait_for(lambda: (video.parent / "metadata.json").exists(), "Heat's metadata.json")
    assert doc
    assert '"tmdb_id": 949' in (video.parent / "metadata.json").read_text()
    assert not api_requests(tmdb, "/3/search/movie"), "the host's tmdb id makes a search moot"


def _plex_season_burst(served: Served, plex: FakePlex, tmdb: FakeTmdb, tv: Path) -> Path:
    show = tv / "Severance (2022)"
    files = [touch(show / "Season 01" / f"Severance - S01E{n:02d}.mkv") for n in range(1, 7)]
    for n, path in enumerate(files, start=1):
        plex.add_episode(2100 + n, str(path), season=1, episode=n, guids=[f"tmdb://{900 + n}"])
    for n in range(1, len(files) + 1):
        payload = plex_payload("library.new", 2100 + n, kind="episode", title=f"Ep {n}",
                               guids=(f"tmdb://{900 + n}",))
        assert post_plex(served.url, payload, token=SECRET, thumb=False).status_code == 202
    for path in files:
        wait_for(path.with_suffix(".metadata.json").exists, f"{path.name} json")
    assert (show / "metadata.json").exists()
    assert len(api_requests(tmdb, "/3/search/tv")) == 1
    assert len([r for r in api_requests(tmdb, "/3/tv/") if "/season/" not in r["path"]]) == 1, \
        "six webhooks for one season are one show fetch"
    return show


def _plex_hostile_input(served: Served, plex: FakePlex, movies: Path) -> None:
    url = served.url + "/webhooks/plex"
    new = plex_payload("library.new", 1001)
    cases: list[tuple[dict[str, Any], int]] = [
        ({"params": {"token": "wrong"}, "files": {"payload": (None, "{}")}}, 401),
        ({"files": {"payload": (None, "{}")}}, 401),
        ({"params": {"token": SECRET}, "files": {"payload": (None, "{not json")}}, 400),
        ({"params": {"token": SECRET}, "files": {"other": (None, "x")}}, 400),
        ({"params": {"token": SECRET}, "files": {"payload": (None, "[1, 2]")}}, 400),
        ({"params": {"token": SECRET}, "files": {
            "payload": (None, '{"event": "library.new", "Metadata": {"ratingKey": "../1"}}')}},
         400),
        ({"params": {"token": SECRET}, "data": b"x" * (2 * 1024 * 1024),
          "headers": {"Content-Type": "application/json"}}, 413),
        ({"params": {"token": SECRET}, "files": {"payload": (None, "x" * (2 * 1024 * 1024))}},
         413),
    ]
    for kwargs, status in cases:
        answer = requests.post(url, timeout=10, **kwargs)
        assert answer.status_code == status, (kwargs.get("params"), answer.text)
        assert answer.json()["error"], "every refusal says why"
    ignored = post_plex(served.url, plex_payload("media.play", 1001), token=SECRET)
    assert ignored.status_code == 202 and ignored.json()["status"] == "ignored"
    wrong_host = post_jellyfin(served.url, jellyfin_template("ab" * 16), token=SECRET)
    assert wrong_host.status_code == 409
    assert requests.get(served.url + "/healthz", timeout=5).status_code == 200
    assert new  # the ones below are accepted: the host is asked later, off the request path
    plex.add_movie(1003, "/data/movies/../../../../tmp/evil/Evil (2000).mkv")
    plex.add_movie(1004, "/elsewhere/Outside (2001)/Outside (2001).mkv")
    for key in (1003, 1004, 987654):
        assert post_plex(served.url, plex_payload("library.new", key), token=SECRET).status_code \
            == 202
    wait_for(lambda: "outside the library roots" in served.log(), "the refusal to be logged")
    wait_for(lambda: "Plex has no ratingKey 987654" in served.log(), "the unknown item retried")
    assert not Path("/tmp/evil").exists()
    assert requests.get(served.url + "/healthz", timeout=5).status_code == 200


def test_jellyfin_webhooks_and_clean_shutdown_mid_fetch(tmp_path: Path, tmdb: FakeTmdb,
                                                        serve: Callable[..., Served]) -> None:
    movies = tmp_path / "lib" / "movies"
    movies.mkdir(parents=True)
    with FakeJellyfin(token="jf-key") as jellyfin:
        served = serve({"SCANARR_LIBRARIES": str(movies), "SCANARR_TMDB_API_URL": tmdb.url,
                        "SCANARR_TMDB_API_KEY": tmdb.api_key, "SCANARR_HOST": "jellyfin",
                        "SCANARR_HOST_URL": jellyfin.url, "SCANARR_HOST_TOKEN": "jf-key",
                        "SCANARR_WORKERS": "2"})
        try:
            heat, alien = _jellyfin_movies(served, jellyfin, movies)
            _shutdown_mid_fetch(served, jellyfin, tmdb, movies)
            updated = {u["Path"] for b in jellyfin.media_updates for u in b["Updates"]}
            assert {str(heat.parent), str(alien.parent)} <= updated, \
                "POST /Library/Media/Updated (debounced, flushed on shutdown at the latest)"
        except BaseException:
            print(served.log())
            raise


def _jellyfin_movies(served: Served, jellyfin: FakeJellyfin, movies: Path) -> tuple[Path, Path]:
    heat = touch(movies / "Heat (1995)" / "Heat (1995).mkv")
    alien = touch(movies / "Alien (1979)" / "Alien (1979).mkv")
    jellyfin.add_item("a" * 32, str(heat), name="Heat")
    jellyfin.add_item("b" * 32, str(alien), name="Alien")
    template = post_jellyfin(served.url, jellyfin_template("a" * 32, tmdb="949"), token=SECRET)
    everything = post_jellyfin(served.url, jellyfin_all_properties("b" * 32, name="Alien",
                                                                   year=1979, tmdb="348"),
                               token=SECRET)
    assert (template.status_code, everything.status_code) == (202, 202)
    for video in (heat, alien):
        wait_for((video.parent / "metadata.json").exists, f"{video.name} json")
    playback = post_jellyfin(served.url, jellyfin_template("a" * 32, event="PlaybackStart"),
                             token=SECRET)
    assert playback.status_code == 202 and playback.json()["status"] == "ignored"
    assert post_jellyfin(served.url, b"{broken", token=SECRET).status_code == 400
    return heat, alien


def _shutdown_mid_fetch(served: Served, jellyfin: FakeJellyfin, tmdb: FakeTmdb,
                        movies: Path) -> None:
    tmdb.configure(latency_ms=400)
    for n in range(4):
        video = touch(movies / f"Slow Movie {n} (2001)" / f"Slow Movie {n} (2001).mkv")
        jellyfin.add_item(f"{n:032x}", str(video), name=f"Slow Movie {n}")
        post_jellyfin(served.url, jellyfin_template(f"{n:032x}", name=f"Slow Movie {n}"),
                      token=SECRET)
    wait_for(lambda: served.processing() > 0, "a fetch in flight")
    assert served.terminate() == 0, served.log()
    assert served.processing() == 0
    states = dict(served.db("SELECT scan_state, COUNT(*) FROM media_scan_state GROUP BY 1"))
    assert set(states) <= {"INDEXED", "NEW"}, states


def test_sigint_also_stops_cleanly_without_host_or_key(tmp_path: Path,
                                                       serve: Callable[..., Served]) -> None:
    library = tmp_path / "lib"
    touch(library / "Heat (1995)" / "Heat (1995).mkv")
    served = serve({"SCANARR_LIBRARIES": str(library)})
    health = requests.get(served.url + "/healthz", timeout=5).json()
    assert health["status"] == "ok"
    answer = post_plex(served.url, plex_payload("library.new", 1), token=SECRET)
    assert answer.status_code == 409, "no media server configured: say so"
    served.proc.send_signal(signal.SIGINT)
    assert served.proc.wait(timeout=30) == 0, served.log()
