"""Temp files: atomic writes, and telling a dead writer's litter from a live write.

A temp file that nobody holds a lock on is dead (the kernel drops a killed process's locks);
one that is locked, or that this process is writing, is alive and must be left alone.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from sidecar import tempfiles
from sidecar.tempfiles import TEMP_PREFIX, TEMP_SUFFIX, atomic_write, remove_stale_temps

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="flock is POSIX")


def temps(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(TEMP_PREFIX))


def litter(folder: Path, name: str = "dead") -> Path:
    path = folder / f"{TEMP_PREFIX}{name}{TEMP_SUFFIX}"
    path.write_bytes(b"half a poster")
    return path


def test_atomic_write_replaces_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "poster.jpg"
    atomic_write(str(target), b"one")
    atomic_write(str(target), b"two", mode=0o600)
    assert target.read_bytes() == b"two"
    assert (target.stat().st_mode & 0o777) == 0o600
    assert temps(tmp_path) == []


@posix_only
def test_unlocked_temp_files_are_removed_other_files_kept(tmp_path: Path) -> None:
    litter(tmp_path)
    (tmp_path / "poster.jpg").write_bytes(b"keep")
    (tmp_path / ".scanarr-notes.txt").write_bytes(b"keep: not a temp name")
    assert remove_stale_temps(str(tmp_path)) == 1
    assert temps(tmp_path) == [".scanarr-notes.txt"]
    assert (tmp_path / "poster.jpg").read_bytes() == b"keep"


@posix_only
def test_symlinks_and_folders_named_like_temps_are_left_alone(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_bytes(b"not ours")
    folder = tmp_path / "lib"
    folder.mkdir()
    (folder / f"{TEMP_PREFIX}link{TEMP_SUFFIX}").symlink_to(outside)
    (folder / f"{TEMP_PREFIX}dir{TEMP_SUFFIX}").mkdir()
    assert remove_stale_temps(str(folder)) == 0
    assert outside.read_bytes() == b"not ours"


HOLDER = textwrap.dedent("""
    import fcntl, os, sys, time
    fd = os.open(sys.argv[1], os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)
    print("held", flush=True)
    time.sleep(60)
""")


@posix_only
def test_a_temp_locked_by_a_live_process_is_kept_until_it_dies(tmp_path: Path) -> None:
    path = litter(tmp_path, "live")
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert remove_stale_temps(str(tmp_path)) == 0
        assert path.exists()
    finally:
        holder.kill()
        holder.wait(10)
    assert remove_stale_temps(str(tmp_path)) == 1, "the kernel dropped the dead writer's lock"


@posix_only
def test_own_writes_in_flight_are_never_removed(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Another worker thread cleaning the same folder mid-write (what NFS locks miss)."""
    removed: list[int] = []
    real_fsync = os.fsync

    def fsync_then_clean(fd: int) -> None:
        real_fsync(fd)
        worker = threading.Thread(target=lambda: removed.append(remove_stale_temps(
            str(tmp_path))))
        worker.start()
        worker.join()

    monkeypatch.setattr(os, "fsync", fsync_then_clean)
    atomic_write(str(tmp_path / "metadata.json"), b"{}")
    assert removed == [0]
    assert (tmp_path / "metadata.json").read_bytes() == b"{}"


@posix_only
def test_writer_notices_a_cleaner_that_won_the_race(tmp_path: Path) -> None:
    """Between mkstemp and the writer's lock a cleaner may remove the fresh file: the write
    fails (and is retried later) rather than renaming a file that is gone."""
    path = litter(tmp_path, "raced")
    fd = os.open(path, os.O_RDWR)
    try:
        os.unlink(path)
        with pytest.raises(OSError) as caught:
            tempfiles._hold(fd)
        assert caught.value.errno == errno.ENOENT
    finally:
        os.close(fd)


def test_without_lock_support_only_old_temps_go(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfiles, "_held_by_someone", lambda fd: None)
    young, old = litter(tmp_path, "young"), litter(tmp_path, "old")
    hour_ago = old.stat().st_mtime - tempfiles.STALE_TEMP_SECONDS - 1
    os.utime(old, (hour_ago, hour_ago))
    assert remove_stale_temps(str(tmp_path)) == 1
    assert young.exists() and not old.exists()


def test_a_missing_folder_is_not_an_error(tmp_path: Path) -> None:
    assert remove_stale_temps(str(tmp_path / "gone")) == 0
