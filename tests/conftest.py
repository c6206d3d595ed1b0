"""Shared fixtures: every test gets a clean environment and its own data folder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.fake_tmdb import FakeTmdb
from tests.fakes.redis_server import SKIP_REASON, redis_server_binary, running_redis


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No SCANARR_* from the developer's shell leaks in; HOME points at a temp folder."""
    for name in list(os.environ):
        if name.startswith("SCANARR_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    yield


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "data"
    monkeypatch.setenv("SCANARR_DATA_DIR", str(path))
    return path


@pytest.fixture
def fake() -> Iterator[FakeTmdb]:
    """A fresh fake TMDB on 127.0.0.1 (auto catalog, the legacy 40 per 10 s limit)."""
    with FakeTmdb() as server:
        yield server


@pytest.fixture
def no_fsync(monkeypatch: pytest.MonkeyPatch) -> None:
    """Durability is the writer's own test; elsewhere fsync would only make the suite slow."""
    monkeypatch.setattr(os, "fsync", lambda fd: None)


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """A throwaway redis-server on loopback per test module (skipped where none is installed)."""
    if redis_server_binary() is None:
        pytest.skip(SKIP_REASON)
    with running_redis() as url:
        yield url
