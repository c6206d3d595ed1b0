"""Shared helpers for the core-module tests: library trees on disk, a hand-driven clock,
and a scanner + worker + engine rig wired to a fake TMDB with every wait removed.

Kept tiny and explicit so each test still reads on its own; nothing here talks to the
network except the in-process fake on 127.0.0.1 a test passes in.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sidecar.engine import Engine
from sidecar.ratelimit import TokenBucket
from sidecar.scanner import Scanner, ScanSummary
from sidecar.state import StateStore
from sidecar.tmdb import TmdbClient
from sidecar.worker import Options, Worker
from sidecar.workqueue import WorkQueue
from sidecar.writer import Writer

OLD = 1_600_000_000.0  # 2020-09-13: long settled, and far outside the walker's racy window
NOW = 1_700_000_000.0  # 2023-11-14: what the injected clocks say unless a test moves them


_TEMPLATE: list[str] = []


def new_store(path: Path, *, clock: Callable[[], float] = time.time) -> StateStore:
    """A fresh, migrated state database at ``path``.

    Creating and migrating a database costs ~30 ms of fsyncs; hundreds of tests each need
    one, so the first is migrated once per process and copied (~2 ms).  Opening the copy
    still runs ``migrate``, which finds it current.
    """
    if not _TEMPLATE:
        folder = tempfile.mkdtemp(prefix="scanarr-template-")
        template = StateStore(os.path.join(folder, "template.db"))
        template.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        template.close()
        _TEMPLATE.append(template.path)
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_TEMPLATE[0], path)
    return StateStore(path, clock=clock)


class Clock:
    """A clock the test moves by hand: ``clock()`` reads it, ``advance`` moves it."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_file(root: Path, rel: str, size: int = 0) -> Path:
    """``root/rel`` (folders made as needed) as a sparse file of ``size`` bytes."""
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        handle.truncate(size)
    return path


def make_files(root: Path, rels: Iterable[str], *, size: int = 1000,
               mtime: float = OLD) -> list[str]:
    """Create ``rels`` under ``root`` with ``size`` bytes and ``mtime``; returns their paths.

    Every folder under ``root`` gets ``mtime`` too, so a second quick scan can trust folder
    mtimes (a folder touched within the last 2 s is never trusted by the walker).
    """
    paths = []
    for rel in rels:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\0" * size)
        os.utime(path, (mtime, mtime))
        paths.append(str(path))
    age_dirs(root, mtime)
    return paths


def age_dirs(root: Path, mtime: float = OLD) -> None:
    """Give ``root`` and every folder below it ``mtime`` (children first)."""
    for folder, _, _ in sorted(os.walk(root), key=lambda t: -len(t[0])):
        os.utime(folder, (mtime, mtime))


def set_mtime(path: str, mtime: float) -> None:
    os.utime(path, (mtime, mtime))


def parse_iso(text: str) -> float:
    """Epoch seconds of the store's ``iso()`` text."""
    when = dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)
    return when.timestamp()


@dataclass
class Rig:
    """Every collaborator of a fetch, built from parts as ``app.build_app`` would."""

    store: StateStore
    client: TmdbClient
    writer: Writer
    worker: Worker
    engine: Engine
    scanner: Scanner
    roots: tuple[str, ...]

    def scan(self, mode: str = "quick", paths: Iterable[str] = ()) -> ScanSummary:
        return self.scanner.scan(mode, list(paths))

    def fetch(self, *, timeout: float = 30.0) -> int:
        """Queue the pending work, run the pool until idle, stop it; returns items queued."""
        self.fresh_engine()
        queued = self.engine.enqueue_pending()
        self.run(timeout)
        return queued

    def fetch_all(self, *, timeout: float = 30.0) -> int:
        """A forced full refetch of everything present (``scanarr scan --mode full``)."""
        self.fresh_engine()
        queued = self.engine.enqueue_all()
        self.run(timeout)
        return queued

    def fresh_engine(self) -> Engine:
        """A stopped engine has closed its queue for good, as one ``scanarr scan`` does."""
        old = self.engine
        self.engine = Engine(self.store, self.worker, WorkQueue(), size=old.size,
                             settle_before_ns=old.settle_before_ns)
        return self.engine

    def run(self, timeout: float = 30.0) -> None:
        self.engine.start()
        try:
            assert self.engine.wait_idle(timeout), "engine did not go idle"
        finally:
            self.engine.stop()


def make_rig(tmp: Path, roots: Iterable[Path], *, url: str, api_key: str | None,
             workers: int = 2, max_retries: int = 1, nfo: bool = False,
             **scanner_kw: Any) -> Rig:
    """A rig against a TMDB at ``url``: generous budget, no sleeps, ``max_retries`` retries."""
    root_list = tuple(str(r) for r in roots)
    store = new_store(tmp / "state.db")
    client = TmdbClient(api_key, base_url=url, limiter=TokenBucket(10_000, 1.0),
                        sleep=lambda s: None, max_retries=max_retries, timeout=(2, 5))

    def image_url(path: str, kind: str) -> str:
        found = client.image_url(path, kind)
        if found is None:
            raise ValueError("no image path")
        return found

    writer = Writer(root_list, client.download_image, nfo=nfo, image_url=image_url)
    worker = Worker(store, client, writer, Options(roots=root_list))
    scanner = Scanner(store, root_list, settle_seconds=scanner_kw.pop("settle_seconds", 60),
                      **scanner_kw)
    engine = Engine(store, worker, WorkQueue(), size=workers,
                    settle_before_ns=scanner.settle_before_ns)
    return Rig(store, client, writer, worker, engine, scanner, root_list)


def listing(root: Path) -> set[str]:
    """Every file below ``root`` as a path relative to it (posix separators)."""
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
