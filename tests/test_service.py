"""The Service contract the web layer codes against, in process, with fake TMDB and Jellyfin."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from sidecar.errors import BadRequest, ConfigError, NoApiKey, OutsideRoots, TmdbAuthError
from sidecar.lifecycle import Lifecycle
from sidecar.service import Service
from sidecar.state import StateStore
from sidecar.workqueue import Priority
from tests.e2e_kit import wait_until
from tests.fakes.fake_jellyfin import FakeJellyfin
from tests.fakes.fake_tmdb import FakeTmdb, running_fake_tmdb
from tests.webhook_payloads import jellyfin_template

SECRET = "service-secret-123456"


wait_for = partial(wait_until, timeout=15.0, tick=0.02)


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\0" * 100)
    return path


@pytest.fixture
def tmdb() -> Iterator[FakeTmdb]:
    with running_fake_tmdb(rate_limit=0) as fake:
        yield fake


@pytest.fixture
def jellyfin() -> Iterator[FakeJellyfin]:
    with FakeJellyfin(token="jf-key") as fake:
        yield fake


@pytest.fixture
def library(tmp_path: Path) -> Path:
    path = tmp_path / "library"
    path.mkdir()
    return path


@pytest.fixture
def make(tmp_path: Path, tmdb: FakeTmdb, jellyfin: FakeJellyfin,
         library: Path) -> Iterator[Callable[..., Service]]:
    made: list[Service] = []

    def build(start: bool = True, **extra: str) -> Service:
        env = {"SCANARR_DATA_DIR": str(tmp_path / "data"), "SCANARR_LIBRARIES": str(library),
               "SCANARR_TMDB_API_URL": tmdb.url, "SCANARR_TMDB_API_KEY": tmdb.api_key,
               "SCANARR_HOST": "jellyfin", "SCANARR_HOST_URL": jellyfin.url,
               "SCANARR_HOST_TOKEN": "jf-key", "SCANARR_WEBHOOK_SECRET": SECRET,
               "SCANARR_SETTLE_SECONDS": "3600", "SCANARR_SCAN_INTERVAL": "1440", **extra}
        svc = Service({k: v for k, v in env.items() if v != "-"})
        svc.intake.debounce, svc.intake.max_delay = 0.02, 0.1
        svc.hostsync.debounce, svc.hostsync.max_delay = 0.02, 0.1
        svc.scheduler.run_at_start = False
        if start:
            svc.start()
        made.append(svc)
        return svc

    yield build
    for svc in made:
        if not svc.stopping and svc.started_at is not None:
            svc.stop()


def indexed(svc: Service, path: Path) -> bool:
    item = svc.store.get(str(path))
    return item is not None and item.state == Lifecycle.INDEXED


def test_webhook_to_metadata_to_host_refresh(make: Callable[..., Service], library: Path,
                                             jellyfin: FakeJellyfin) -> None:
    svc = make()
    video = touch(library / "Heat (1995)" / "Heat (1995).mkv")
    jellyfin.add_item("a" * 32, str(video))
    status, message = svc.handle_webhook("jellyfin", jellyfin_template("a" * 32, tmdb="949"),
                                         "text/plain", {})
    assert (status, message.split(":")[0]) == (202, "accepted")
    wait_for(lambda: (video.parent / "metadata.json").exists(), "metadata.json")
    wait_for(lambda: jellyfin.media_updates, "a refresh request")
    assert jellyfin.media_updates[0]["Updates"][0]["Path"] == str(video.parent)
    doc = json.loads((video.parent / "metadata.json").read_text())
    assert doc["tmdb_id"] == 949
    svc.stop()
    assert svc.store.counts()["PROCESSING"] == 0
    assert svc.metrics()["webhooks"]["intake"]["resolved"] == 1


def test_webhook_secret_is_generated_once(make: Callable[..., Service]) -> None:
    svc = make(SCANARR_WEBHOOK_SECRET="-")
    secret = svc.settings.webhook_secret
    assert len(secret) >= 32
    svc.stop()
    again = make(SCANARR_WEBHOOK_SECRET="-")
    assert again.settings.webhook_secret == secret


def test_save_settings_validates_by_name(make: Callable[..., Service]) -> None:
    svc = make(start=False)
    for values, field in [({"scan_interval": "soon"}, "scan_interval"),
                          ({"no_such_thing": "1"}, "no_such_thing"),
                          ({"data_dir": "/tmp/x"}, "data_dir"),
                          ({"tmdb_api_url": "http://elsewhere/3"}, "tmdb_api_url"),
                          ({"refresh_time": "25:00"}, "refresh_time")]:
        with pytest.raises(ConfigError) as caught:
            svc.save_settings(values)
        assert caught.value.setting == field
    svc.save_settings({"tmdb_api_url": svc.settings.tmdb_api_url})  # unchanged pinned value: ok
    assert "scan_interval" not in svc.store.stored_settings()


def test_save_settings_applies_live(make: Callable[..., Service], tmdb: FakeTmdb) -> None:
    svc = make(SCANARR_TMDB_API_KEY="-", SCANARR_WORKERS="-", SCANARR_SCAN_INTERVAL="-")
    old_app = svc.app
    new = svc.save_settings({"workers": "3", "scan_interval": "7", "tmdb_api_key": tmdb.api_key})
    assert (new.workers, new.scan_interval) == (3, 7)
    assert svc.app is not old_app
    assert svc.app.engine.size == 3 and len(svc.app.engine._threads) == 3
    assert not any(t.is_alive() for t in old_app.engine._threads)
    assert svc.scheduler.interval_minutes == 7
    assert svc.store.stored_settings()["workers"] == "3"
    assert svc.test_tmdb().startswith("TMDB at")
    app = svc.app
    svc.save_settings({"scan_interval": "9"})
    assert svc.app is app, "the schedule alone does not rebuild the workers"


def test_host_settings_apply_live(make: Callable[..., Service]) -> None:
    svc = make(SCANARR_HOST="-", SCANARR_HOST_URL="-", SCANARR_HOST_TOKEN="-")
    assert svc.handle_webhook("jellyfin", jellyfin_template("a" * 32), "text/plain", {})[0] == 409
    assert svc.host is None
    with pytest.raises(ConfigError):
        svc.test_host()
    svc.save_settings({"host": "jellyfin"})
    assert svc.host is None and svc.host_error and "host_url" in svc.host_error
    svc.save_settings({"host_url": "http://127.0.0.1:9", "host_token": "k"})
    assert svc.host is not None and svc.host.name == "jellyfin"


def test_full_scan_from_the_web_and_only_one_per_mode(make: Callable[..., Service],
                                                      library: Path, tmdb: FakeTmdb) -> None:
    svc = make(SCANARR_SETTLE_SECONDS="0")
    for n in range(4):
        touch(library / f"Film {n} (200{n})" / f"Film {n} (200{n}).mkv")
    tmdb.configure(latency_ms=100)
    assert svc.start_scan("full", priority=Priority.CRITICAL)
    assert not svc.start_scan("full", priority=Priority.CRITICAL)
    assert svc.progress()["running"] is True
    wait_for(lambda: not svc.progress()["running"], "the scan to finish", timeout=30)
    report = svc.progress()
    assert (report["mode"], report["phase"], report["done"], report["total"]) == (
        "full", "idle", 4, 4)
    assert svc.store.counts()["INDEXED"] == 4
    run = svc.store.runs(1)[0]
    assert (run["mode"], run["trigger"], run["status"]) == ("full", "web", "done")
    assert svc.metrics()["scan_durations_seconds"]["full"]


def written_at(store: StateStore, videos: list[Path]) -> list[str]:
    """When each video's metadata was last written."""
    items = [store.get(str(video)) for video in videos]
    return [item.metadata_updated_at or "" if item else "" for item in items]


def test_start_resumes_a_full_scan_a_crash_cut_short(make: Callable[..., Service],
                                                     library: Path) -> None:
    before = make(SCANARR_SETTLE_SECONDS="0")
    videos = [touch(library / f"Film {n} (200{n})" / f"Film {n} (200{n}).mkv") for n in range(4)]
    assert before.start_scan("quick")
    wait_for(lambda: before.store.counts()["INDEXED"] == 4, "the library indexed")
    before.stop()
    store = before.store
    cut = store.start_run("full", trigger="web")  # left 'running': the process was killed
    started = store.runs(1)[0]["started_at"]
    for video in videos[:2]:  # what it refreshed before the kill
        store.update_fields(str(video), metadata_updated_at=store.now_iso())
    written = written_at(store, videos)

    svc = make(SCANARR_SETTLE_SECONDS="0")  # the next start: recovery, then the resume

    def resumed_run() -> dict[str, Any] | None:  # other runs (the scheduler's) may come too
        return next((r for r in svc.store.runs(10) if r["trigger"] == "resume"
                     and r["status"] == "done"), None)

    resumed = wait_for(resumed_run, "the resumed run")
    runs = {r["id"]: r for r in svc.store.runs(10)}
    assert runs[cut]["status"] == "interrupted"
    assert (resumed["mode"], resumed["paths"]) == ("full", [])
    after = written_at(svc.store, videos)
    assert [a == w for a, w in zip(after, written, strict=True)] == [True, True, False, False]
    assert all(a >= started for a in after), "every item refreshed since the full scan began"
    assert svc.progress()["mode"] == "full"


def test_retry_and_fix_match(make: Callable[..., Service], library: Path) -> None:
    svc = make(start=False)
    movie = touch(library / "Heat (1995)" / "Heat (1995).mkv")
    episode = touch(library / "Show (2020)" / "Season 01" / "Show - S01E01.mkv")
    svc.app.scanner.scan("quick")
    for path in (movie, episode):
        svc.store.claim(str(path))
        svc.store.mark_error(str(path), "not_found", "no match", retryable=False)
    svc.retry(str(movie))
    assert svc.store.get(str(movie)).state == Lifecycle.NEW  # type: ignore[union-attr]
    assert svc.app.engine.queue.depth_by_priority()["HIGH"] == 1
    with pytest.raises(BadRequest) as caught:
        svc.retry(str(movie))
    assert caught.value.status == 409
    with pytest.raises(BadRequest) as caught:
        svc.retry(str(library / "nope.mkv"))
    assert caught.value.status == 404
    svc.fix_match(str(episode), 1399)
    item = svc.store.get(str(episode))
    assert item is not None and (item.tmdb_id, item.id_source, item.state) == (
        1399, "manual", Lifecycle.NEW)
    assert svc.store.show(str(library / "Show (2020)"))["tmdb_id"] == 1399  # type: ignore[index]
    assert svc.app.engine.queue.depth_by_priority()["CRITICAL"] == 1
    with pytest.raises(BadRequest):
        svc.fix_match(str(movie), 0)


def test_fix_match_refetches_an_indexed_movie(make: Callable[..., Service],
                                              library: Path) -> None:
    svc = make(SCANARR_SETTLE_SECONDS="0")
    movie = touch(library / "Heat (1995)" / "Heat (1995).mkv")
    svc.app.scanner.scan("quick")
    svc.app.engine.enqueue_pending()
    wait_for(lambda: indexed(svc, movie), "the first fetch")
    svc.fix_match(str(movie), 4242)
    wait_for(lambda: json.loads((movie.parent / "metadata.json").read_text())["tmdb_id"] == 4242,
             "the refetch with the manual id")


def test_status_and_metrics_shape(make: Callable[..., Service]) -> None:
    svc = make()
    status = svc.status()
    for key in ("counts", "errors_by_reason", "queue", "rate", "tmdb", "runs", "recent_errors",
                "host", "progress", "webhooks", "schedule"):
        assert key in status
    assert set(status["queue"]) == {p.name for p in Priority}
    assert status["host"]["name"] == "jellyfin"
    assert status["progress"]["phase"] == "idle"
    metrics = svc.metrics()
    for key in ("items_by_state", "tmdb_requests", "tmdb_rate_limited", "tmdb_retries",
                "queue_depth", "scan_durations_seconds", "webhooks"):
        assert key in metrics
    json.dumps(status), json.dumps(metrics)


def test_test_buttons(make: Callable[..., Service], library: Path, tmdb: FakeTmdb,
                      tmp_path: Path) -> None:
    svc = make(start=False, SCANARR_PATH_MAP=f"/data/media={library}")
    assert "accepted the key" in svc.test_tmdb()
    assert svc.test_host().startswith("Jellyfin")
    assert "readable and writable" in svc.test_library(str(library))
    touch(library / "Heat (1995)" / "Heat (1995).mkv")
    assert svc.test_library("/data/media/Heat (1995)").startswith("host path /data/media")
    with pytest.raises(OutsideRoots):
        svc.test_library(str(tmp_path))
    with pytest.raises(OutsideRoots, match="does not exist"):
        svc.test_library(str(library / "Gone"))
    tmdb.revoke_key()
    with pytest.raises(TmdbAuthError):
        svc.test_tmdb()


def test_a_key_working_again_resumes_fetching(make: Callable[..., Service], library: Path,
                                              tmdb: FakeTmdb) -> None:
    """A 401 stops fetching; when the key works again (re-enabled at TMDB), the Test button
    (or the next scheduled scan) takes the waiting work again -- no restart needed."""
    svc = make(SCANARR_SETTLE_SECONDS="0")
    for n in range(3):
        touch(library / f"Film {n} (200{n})" / f"Film {n} (200{n}).mkv")
    tmdb.revoke_key()
    assert svc.start_scan("quick")
    wait_for(lambda: not svc.progress()["running"], "the scan to stop on the 401", timeout=30)
    assert svc.status()["tmdb"]["auth_error"]
    assert svc.store.counts()["INDEXED"] == 0 and svc.store.counts()["ERROR"] == 0
    tmdb.restore_key()
    assert "accepted the key" in svc.test_tmdb()
    wait_for(lambda: svc.store.counts()["INDEXED"] == 3, "the waiting items to be fetched")
    assert not svc.status()["tmdb"]["auth_error"]


def test_test_tmdb_without_key(make: Callable[..., Service]) -> None:
    svc = make(start=False, SCANARR_TMDB_API_KEY="-")
    with pytest.raises(NoApiKey):
        svc.test_tmdb()


def test_stop_releases_in_flight_work(make: Callable[..., Service], library: Path,
                                      tmdb: FakeTmdb, jellyfin: FakeJellyfin) -> None:
    svc = make()
    tmdb.configure(latency_ms=400)
    for n in range(3):
        video = touch(library / f"Slow {n} (2001)" / f"Slow {n} (2001).mkv")
        jellyfin.add_item(f"{n:032x}", str(video))
        svc.handle_webhook("jellyfin", jellyfin_template(f"{n:032x}"), "text/plain", {})
    wait_for(lambda: svc.store.counts()["PROCESSING"], "a fetch in flight")
    svc.stop()
    assert svc.store.counts()["PROCESSING"] == 0
    assert svc.status()["progress"]["running"] is False
