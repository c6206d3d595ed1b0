"""Pytest fixtures for the fake TMDB, for ``tests/conftest.py`` to import (each stands alone).

    from tests.fakes.fixtures import fake_tmdb, fake_tmdb_catalog, fake_tmdb_process  # noqa: F401

``fake_tmdb``: a fresh in-process server per test (auto mode, legacy 40/10 s limit).
``fake_tmdb_catalog``: only the hand-written ambiguous catalog, no synthesis.
``fake_tmdb_process``: one standalone server process shared by the whole run (started on first
use, stopped at exit), reset before each test -- for multi-process and e2e tests.
"""

from __future__ import annotations

import atexit
from collections.abc import Iterator

import pytest

from .fake_tmdb import FakeTmdb, running_fake_tmdb
from .tmdb_catalog import AMBIGUOUS_CATALOG
from .tmdb_process import FakeTmdbProcess

_shared: list[FakeTmdbProcess] = []


@pytest.fixture
def fake_tmdb() -> Iterator[FakeTmdb]:
    with running_fake_tmdb() as fake:
        yield fake


@pytest.fixture
def fake_tmdb_catalog() -> Iterator[FakeTmdb]:
    with running_fake_tmdb(catalog=AMBIGUOUS_CATALOG, auto=False) as fake:
        yield fake


@pytest.fixture
def fake_tmdb_process() -> FakeTmdbProcess:
    if not _shared or _shared[0].proc.poll() is not None:
        _shared[:] = [FakeTmdbProcess.spawn()]
        atexit.register(_shared[0].stop)
    _shared[0].reset()
    return _shared[0]
