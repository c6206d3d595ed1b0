"""End to end: ``scanarr serve`` as a real process between a fake TMDB and a fake host.

Everything talks real HTTP on 127.0.0.1: the test posts webhooks the way Plex and the
Jellyfin plugin do, the sidecar calls the fake host back to resolve the item, fetches
from the fake TMDB, writes files beside the media, and asks the fake host to rescan.
Then SIGTERM: exit code 0 and nothing left PROCESSING in the database.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e_kit import ServeProcess, child_env, states, wait_until
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

SECRET = "e2e-webhook-secret-0123456789"
# No scan of its own while the test runs: only webhooks bring work.
SERVE_ENV = {"SCANARR_WEBHOOK_SECRET": SECRET, "SCANARR_SETTLE_SECONDS": "3600",
             "SCANARR_SCAN_INTERVAL": "1440", "SCANARR_LOG_LEVEL": "INFO"}
wait_for = partial(wait_until, timeout=30.0, tick=0.05)


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\0" * 1024)
    return path


def processing(served: ServeProcess) -> int:
    return states(served.db)["PROCESSING"]


@pytest.fixture
def tmdb() -> Iterator[FakeTmdb]:
    with running_fake_tmdb(rate_limit=0) as fake:
        yield fake


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[[dict[str, str]], ServeProcess]]:
    started: list[ServeProcess] = []

    def start(env: dict[str, str]) -> ServeProcess:
        served = ServeProcess(child_env(tmp_path / "data", **{**SERVE_ENV, **env}),
                              tmp_path / "serve.log", timeout=20)
        started.append(served)
        return served

    yield start
    for served in started:
        served.close()


def api_requests(tmdb: FakeTmdb, prefix: str) -> list[dict[str, Any]]:
    return [r for r in tmdb.requests() if r["path"].startswith(prefix)]


def test_plex_webhooks_with_mapped_and_plain_paths(tmp_path: Path, tmdb: FakeTmdb,
                                                   serve: Callable[..., ServeProcess]) -> None:
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
            assert served.stop() == 0, served.log()
            assert processing(served) == 0
            # Rescans are debounced (5 s); whatever had not gone out is flushed on shutdown.
            assert (1, "/data/movies/Heat (1995)") in plex.refreshes, "mapped back to Plex's path"
            assert (2, str(show)) in plex.refreshes, "one scan of the show folder"
        except BaseException:
            print(served.log())
            raise


def _plex_movie_through_mapping(served: ServeProcess, plex: FakePlex, tmdb: FakeTmdb,
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


def _plex_season_burst(served: ServeProcess, plex: FakePlex, tmdb: FakeTmdb, tv: Path) -> Path:
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


def _plex_hostile_input(served: ServeProcess, plex: FakePlex, movies: Path) -> None:
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
                                                        serve: Callable[..., ServeProcess]) -> None:
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


def _jellyfin_movies(served: ServeProcess, jellyfin: FakeJellyfin,
                     movies: Path) -> tuple[Path, Path]:
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


def _shutdown_mid_fetch(served: ServeProcess, jellyfin: FakeJellyfin, tmdb: FakeTmdb,
                        movies: Path) -> None:
    tmdb.configure(latency_ms=400)
    for n in range(4):
        video = touch(movies / f"Slow Movie {n} (2001)" / f"Slow Movie {n} (2001).mkv")
        jellyfin.add_item(f"{n:032x}", str(video), name=f"Slow Movie {n}")
        post_jellyfin(served.url, jellyfin_template(f"{n:032x}", name=f"Slow Movie {n}"),
                      token=SECRET)
    wait_for(lambda: processing(served) > 0, "a fetch in flight")
    assert served.stop() == 0, served.log()
    assert processing(served) == 0
    counts = states(served.db)
    assert set(counts) <= {"INDEXED", "NEW"}, counts


def test_sigint_also_stops_cleanly_without_host_or_key(tmp_path: Path,
                                                       serve: Callable[..., ServeProcess]) -> None:
    library = tmp_path / "lib"
    touch(library / "Heat (1995)" / "Heat (1995).mkv")
    served = serve({"SCANARR_LIBRARIES": str(library)})
    health = requests.get(served.url + "/healthz", timeout=5).json()
    assert health["status"] == "ok"
    answer = post_plex(served.url, plex_payload("library.new", 1), token=SECRET)
    assert answer.status_code == 409, "no media server configured: say so"
    assert served.stop(signal.SIGINT, timeout=30) == 0, served.log()
