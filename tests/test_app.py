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


def test_the_same_roots_again_cost_no_delete(tmp_path: Path) -> None:
    """The roots of the last start are remembered: a usual start skips the table scan."""
    store = StateStore(tmp_path / "db.sqlite")
    assert store.forget_other_roots(["/a"]) == 0
    store.add_new([{"media_path": "/b/x.mkv", "media_type": "movie", "root": "/b"}])
    assert store.forget_other_roots(["/a"]) == 0  # same roots: not looked at
    assert store.forget_other_roots(["/a", "/c"]) == 1  # roots changed: /b is not one


def test_recovery_runs_only_when_no_other_process_uses_the_data_folder(tmp_path: Path) -> None:
    """`scanarr scan` next to a running `serve`: the service's in-flight items stay its own."""
    import subprocess
    import sys

    from sidecar.app import startup_recovery
    from sidecar.lifecycle import Lifecycle

    store = StateStore(tmp_path / "scanarr.db")
    store.add_new([{"media_path": "/m/a.mkv", "media_type": "movie"}])
    assert store.claim("/m/a.mkv") is not None
    holder = subprocess.Popen(  # another Scanarr process: holds the shared lifetime lock
        [sys.executable, "-c", "import fcntl, sys, time\n"
         f"h = open({str(tmp_path / 'scanarr.lock')!r}, 'a+')\n"
         "fcntl.flock(h, fcntl.LOCK_SH); print('held', flush=True); time.sleep(30)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert startup_recovery(store) is False
        assert getattr(store.get("/m/a.mkv"), "state", None) == Lifecycle.PROCESSING
    finally:
        holder.kill()
        holder.wait()
    assert startup_recovery(store) is True  # alone now: a crash left it, so it goes back
    assert getattr(store.get("/m/a.mkv"), "state", None) == Lifecycle.NEW
