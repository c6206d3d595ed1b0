"""The composition root: settings from the database and the environment, every piece built
from them, and start-up recovery after a crash."""

from __future__ import annotations

from pathlib import Path

from sidecar.app import AUTH_ERROR_KEY, build_app, make_limiter, open_store, startup_recovery
from sidecar.config import load_settings
from sidecar.lifecycle import Lifecycle
from sidecar.ratelimit import TokenBucket


def env_for(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"SCANARR_DATA_DIR": str(tmp_path / "data"),
            "SCANARR_LIBRARIES": str(tmp_path / "Movies"), **extra}


def test_open_store_reads_saved_settings_under_the_environment(tmp_path: Path) -> None:
    env = env_for(tmp_path, SCANARR_WORKERS="3")
    store, settings = open_store(env)
    assert store.path == str(tmp_path / "data" / "scanarr.db")
    store.save_settings({"workers": "5", "language": "de"})
    store, settings = open_store(env)
    assert (settings.workers, settings.language) == (3, "de")  # env pinned, stored used
    assert settings.source("language") == "stored"


def test_build_app_wires_settings_through(tmp_path: Path) -> None:
    env = env_for(tmp_path, SCANARR_WORKERS="4", SCANARR_SETTLE_SECONDS="5",
                  SCANARR_RATE_LIMIT="20", SCANARR_LANGUAGE="pt-br")
    store, settings = open_store(env)
    app = build_app(settings, store)
    assert app.roots == (str(tmp_path / "Movies"),)
    assert app.engine.size == 4
    assert app.scanner.settle_seconds == 5
    assert app.scanner.roots == [str(tmp_path / "Movies")]
    assert app.client.language == "pt-BR"
    assert app.worker.options.roots == app.roots
    assert not app.client.has_key  # no key: the app still builds
    assert app.worker is app.engine.worker


def test_in_process_limiter_by_default() -> None:
    limiter = make_limiter(load_settings({}, {"SCANARR_RATE_LIMIT": "20",
                                              "SCANARR_RATE_WINDOW": "5"}))
    assert isinstance(limiter, TokenBucket)
    assert (limiter.policy.rate, limiter.policy.per) == (20, 5.0)


def test_startup_recovery(tmp_path: Path) -> None:
    store, _ = open_store(env_for(tmp_path))
    store.add_new([{"media_path": "/m/a.mkv", "media_type": "movie"}])
    store.claim("/m/a.mkv")
    store.start_run("quick")
    startup_recovery(store)
    item = store.get("/m/a.mkv")
    assert item is not None and item.state is Lifecycle.NEW
    assert store.runs()[0]["status"] == "interrupted"


def test_auth_error_is_kept_for_status(tmp_path: Path) -> None:
    store, settings = open_store(env_for(tmp_path))
    app = build_app(settings, store)
    app.worker.auth_error = "GET /movie/1: HTTP 401"
    app.record_auth_error()
    assert store.stored_settings()[AUTH_ERROR_KEY] == "GET /movie/1: HTTP 401"
    app.worker.auth_error = None
    app.record_auth_error()  # fixed: the stored error goes away
    assert AUTH_ERROR_KEY not in store.stored_settings()
