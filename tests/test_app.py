"""The composition root: settings to collaborators, and library roots kept in step."""

from __future__ import annotations

from pathlib import Path

from sidecar.app import build_app, library_roots
from sidecar.config import Settings
from sidecar.state import StateStore


def test_demo_library_is_the_default_with_movies_and_tv_roots(tmp_path: Path) -> None:
    roots = library_roots(Settings(data_dir=str(tmp_path)))
    assert [Path(r).name for r in roots] == ["Movies", "TV"]
    assert all(Path(r).is_dir() for r in roots)


def test_rows_of_roots_no_longer_configured_are_forgotten(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "db.sqlite")
    kept, dropped = tmp_path / "kept", tmp_path / "dropped"
    kept.mkdir()
    store.add_new([
        {"media_path": str(kept / "a.mkv"), "media_type": "movie", "root": str(kept)},
        {"media_path": str(dropped / "b.mkv"), "media_type": "movie", "root": str(dropped)},
    ])
    build_app(Settings(libraries=(str(kept),), data_dir=str(tmp_path)), store)
    assert store.get(str(kept / "a.mkv")) is not None
    assert store.get(str(dropped / "b.mkv")) is None
