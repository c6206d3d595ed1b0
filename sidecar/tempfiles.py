"""Atomic file replacement, and the clean-up of temp files a killed writer left behind.

``atomic_write`` writes a hidden temp file beside the target and ``os.replace``s it over
the target, so a reader sees the old file or the new one, never a mix.  If the process is
killed (``kill -9``, OOM killer, power loss) between creating the temp file and the
replace, the temp file stays: harmless to Plex and Jellyfin (hidden, unknown extension),
but litter.  ``remove_stale_temps`` removes such files from a folder about to be written.

Telling "stale" from "being written right now" (by another worker thread, or by another
Scanarr beside the other media server writing the same library) must not depend on
timing, so every writer holds an exclusive advisory lock (``flock``) on its temp file for
as long as it exists; the kernel drops the lock when the process dies, however it dies.
A temp file nobody holds a lock on is therefore dead and may go.  Two gaps, both closed:

- between ``mkstemp`` and the writer's ``flock`` a cleaner could lock and remove a fresh
  file; the writer notices (the file has no name any more) and fails the write, which the
  worker retries like any other write error.  The window is microseconds.
- on NFS, Linux emulates ``flock`` with POSIX locks, which do not exclude threads of the
  same process; a registry of this process's own temp files covers that.

Where locks are not supported at all (some FUSE/SMB mounts, Windows) only temp files older
than ``STALE_TEMP_SECONDS`` are removed.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import stat
import sys
import tempfile
import threading
import time

log = logging.getLogger(__name__)

DEFAULT_FILE_MODE = 0o644  # readable by a media server running as another user
TEMP_PREFIX, TEMP_SUFFIX = ".scanarr-", ".tmp"
STALE_TEMP_SECONDS = 3600.0  # only when locks are unsupported: surely no write takes this long

_own_lock = threading.Lock()
_own: set[str] = set()  # temp files this process is writing right now


def atomic_write(path: str, data: bytes, *, mode: int = DEFAULT_FILE_MODE) -> None:
    """Temp file in the same folder + fsync + ``os.replace``: readers see the old file or
    the new one, never a mix.  Any failure removes the temp file and re-raises."""
    fd, temp = tempfile.mkstemp(
        prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX, dir=os.path.dirname(path) or "."
    )
    temp = os.path.abspath(temp)
    with _own_lock:
        _own.add(temp)
    try:
        with os.fdopen(fd, "wb") as fh:
            _hold(fh.fileno())
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
            os.chmod(temp, mode)
            if os.name == "posix":  # replaced while still locked: never taken for stale
                os.replace(temp, path)
        if os.name != "posix":  # Windows cannot replace a file that is open
            os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    finally:
        with _own_lock:
            _own.discard(temp)


def _hold(fd: int) -> None:
    """Lock a fresh temp file for the whole write; fail if a cleaner removed it first."""
    if sys.platform == "win32":
        return
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # only a cleaner can hold it, and only for a moment
    except OSError:
        return  # no lock support here: cleaners fall back to the age rule
    if os.fstat(fd).st_nlink == 0:
        raise OSError(errno.ENOENT, "temp file was removed by a concurrent clean-up")


def remove_stale_temps(directory: str, *, now: float | None = None) -> int:
    """Delete temp files in ``directory`` that no live writer holds; returns how many.

    Called before writing into a folder (so the folders an interrupted run was writing
    are cleaned by the run that redoes that work).  Never raises: clean-up is a courtesy.
    """
    try:
        with os.scandir(directory) as entries:
            names = [os.path.abspath(e.path) for e in entries
                     if e.name.startswith(TEMP_PREFIX) and e.name.endswith(TEMP_SUFFIX)]
    except OSError:
        return 0
    with _own_lock:
        names = [n for n in names if n not in _own]
    now = time.time() if now is None else now
    removed = sum(1 for name in names if _remove_if_stale(name, now))
    if removed:
        log.info("removed %d temp file(s) left by an interrupted write in %s", removed, directory)
    return removed


def _remove_if_stale(path: str, now: float) -> bool:
    try:
        fd = os.open(path, os.O_RDWR | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return False  # gone already, a symlink, or not ours to touch
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return False
        held = _held_by_someone(fd)
        if held or (held is None and now - info.st_mtime < STALE_TEMP_SECONDS):
            return False
        os.unlink(path)  # while we hold the lock: a writer that raced us sees nlink == 0
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def _held_by_someone(fd: int) -> bool | None:
    """True if a writer holds the lock, False if we got it, None if locks are unsupported."""
    if sys.platform == "win32":
        return None
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return None
    return False
