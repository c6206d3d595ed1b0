"""Disk faults for a child process: put this folder first on PYTHONPATH to load it.

Tests run as root, so ``chmod`` cannot make a folder read-only, and mounting a full or
read-only filesystem needs privileges CI does not have.  This shim makes the *kernel's
answers* fail instead, for paths under chosen folders only, exactly where a real failure
surfaces:

- ``FSFAULT_ENOSPC=/a:/b`` -- ``os.fsync`` of a file under those folders raises
  ENOSPC (delayed allocation and network filesystems report a full disk at fsync/close);
- ``FSFAULT_EROFS=/c`` -- creating or opening a file for writing under it raises
  EROFS, as a read-only mount does (``tempfile.mkstemp`` goes through ``os.open``).

Everything else behaves normally, so the rest of the library is written as usual.
"""

from __future__ import annotations

import errno
import os
from typing import Any

_real_fsync = os.fsync
_real_open = os.open
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT


def _folders(name: str) -> tuple[str, ...]:
    raw = os.environ.get(name, "")
    return tuple(os.path.realpath(p) + os.sep for p in raw.split(os.pathsep) if p)


_ENOSPC = _folders("FSFAULT_ENOSPC")
_EROFS = _folders("FSFAULT_EROFS")


def _under(path: str, folders: tuple[str, ...]) -> bool:
    return os.path.realpath(path).startswith(folders)


def _fsync(fd: Any) -> None:
    number = fd if isinstance(fd, int) else fd.fileno()
    try:
        path = os.readlink(f"/proc/self/fd/{number}")
    except OSError:
        path = ""
    if path and _under(path, _ENOSPC):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    _real_fsync(fd)


def _open(path: Any, flags: int, mode: int = 0o777, *, dir_fd: int | None = None) -> int:
    if flags & _WRITE_FLAGS and dir_fd is None and _under(os.fsdecode(path), _EROFS):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), os.fsdecode(path))
    return _real_open(path, flags, mode, dir_fd=dir_fd)


if _ENOSPC:
    os.fsync = _fsync
if _EROFS:
    os.open = _open
