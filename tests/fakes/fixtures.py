"""Pytest fixtures for the fake TMDB, for ``tests/conftest.py`` to import.

    from tests.fakes.fixtures import fake_tmdb, fake_tmdb_catalog, fake_tmdb_process  # noqa: F401

``fake_tmdb``: a fresh in-process server per test (auto mode, legacy 40/10 s limit).
``fake_tmdb_catalog``: only the hand-written ambiguous catalog, no synthesis.
``fake_tmdb_process``: one standalone server process for the session, reset before each use.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .fake_tmdb import FakeTmdb, running_fake_tmdb
from .tmdb_catalog import AMBIGUOUS_CATALOG
from .tmdb_process import FakeTmdbProcess


@pytest.fixture
def fake_tmdb() -> Iterator[FakeTmdb]:
    with running_fake_tmdb() as fake:
        yield fake


@pytest.fixture
def fake_tmdb_catalog() -> Iterator[FakeTmdb]:
    with running_fake_tmdb(catalog=AMBIGUOUS_CATALOG, auto=False) as fake:
        yield fake


@pytest.fixture(scope="session")
def _fake_tmdb_process_session() -> Iterator[FakeTmdbProcess]:
    with FakeTmdbProcess.spawn() as proc:
        yield proc


@pytest.fixture
def fake_tmdb_process(_fake_tmdb_process_session: FakeTmdbProcess) -> FakeTmdbProcess:
    _fake_tmdb_process_session.reset()
    return _fake_tmdb_process_session
