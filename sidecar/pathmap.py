"""Translate paths between the media server's view of the disk and Scanarr's.

Plex and Jellyfin usually run in their own container (or on Windows) and see the
library under other paths than the sidecar: ``/data/tv/Show/S01E01.mkv`` on the host
is ``/media/tv/Show/S01E01.mkv`` here, ``F:\\TV\\Show`` on a Windows PMS is
``/mnt/f/tv/Show``.  This is the #1 support problem of comparable tools, so the rules
are explicit and small:

* an **ordered** list of ``(host_prefix, local_prefix)`` pairs; the first pair whose
  host prefix contains the path wins;
* prefixes match **whole components** (``/data/tv`` never matches ``/data/tvshows``);
* Windows host paths (drive letter, UNC ``\\\\nas\\share``, or backslashes only) are
  matched case-insensitively with either separator;
* ``..`` is collapsed before and after mapping (textually: the file may not exist
  yet, so no ``realpath``), and a result outside every library root is refused with
  :class:`~sidecar.errors.OutsideRoots` -- a webhook can never make us write elsewhere.

A path no pair matches is used unchanged (host and sidecar share the mount layout).

Setting format (``SCANARR_PATH_MAP``): ``HOST=LOCAL`` pairs separated by ``;`` or
newlines, split at the first ``=``, e.g. ``/data/movies=/media/movies;F:\\TV=/media/tv``;
or a JSON list ``[["/data/tv", "/media/tv"]]`` / ``[{"host": .., "local": ..}]`` for
paths that contain ``;`` or ``=``.
"""

from __future__ import annotations

import json
import logging
import ntpath
import os
import posixpath
import re
from collections.abc import Iterable, Sequence
from pathlib import PurePath, PurePosixPath, PureWindowsPath
from typing import NoReturn

from sidecar.errors import ConfigError, OutsideRoots

log = logging.getLogger(__name__)

SETTING = "path_map"


def is_windows_path(path: str) -> bool:
    """Guess the flavour of a host path: drive letter, UNC, or backslashes and no slash."""
    if re.match(r"^[A-Za-z]:", path) or path.startswith("\\\\"):
        return True
    return "\\" in path and "/" not in path


def host_path(path: str) -> PurePath:
    """A host path as a normalised pure path of its own flavour (``..`` collapsed)."""
    if is_windows_path(path):
        return PureWindowsPath(ntpath.normpath(path.replace("/", "\\")))
    return PurePosixPath(posixpath.normpath(path))


def local_path(path: str) -> PurePath:
    """A sidecar path, normalised textually for this OS."""
    return PurePath(os.path.normpath(path))


def is_within(path: PurePath, prefix: PurePath) -> bool:
    """Component-wise containment; False across flavours (a Windows path is never in /data)."""
    return type(path) is type(prefix) and path.is_relative_to(prefix)


def parse_pairs(text: str) -> list[tuple[str, str]]:
    """Parse the setting string (see module doc) into ordered pairs; ConfigError when invalid."""
    text = text.strip()
    if not text:
        return []
    if text.startswith("["):
        return _parse_json_pairs(text)
    pairs = []
    for chunk in re.split(r"[;\n]", text):
        if not chunk.strip():
            continue
        host, sep, local = chunk.partition("=")
        if not sep or not host.strip() or not local.strip():
            raise ConfigError(
                SETTING, f"each mapping must be HOST_PREFIX=LOCAL_PREFIX, got {chunk!r}"
            )
        pairs.append((host.strip(), local.strip()))
    return pairs


def _parse_json_pairs(text: str) -> list[tuple[str, str]]:
    try:
        items = json.loads(text)
    except ValueError:
        raise ConfigError(SETTING, "is not valid JSON") from None
    if not isinstance(items, list):
        raise ConfigError(SETTING, "must be a JSON list of [host, local] pairs")
    pairs = []
    for item in items:
        if isinstance(item, dict):
            item = [item.get("host"), item.get("local")]
        if not (
            isinstance(item, list)
            and len(item) == 2
            and all(isinstance(p, str) and p.strip() for p in item)
        ):
            raise ConfigError(SETTING, f"each entry must be [host, local], got {item!r}")
        pairs.append((item[0].strip(), item[1].strip()))
    return pairs


class PathMapper:
    """Ordered host<->local prefix pairs plus the library roots results must stay in.

    >>> m = PathMapper([("/data/tv", "/media/tv"), ("F:\\\\Movies", "/media/movies")],
    ...                roots=["/media"])
    >>> m.to_local("/data/tv/Show/S01E01.mkv")
    '/media/tv/Show/S01E01.mkv'
    >>> m.to_local("f:\\\\movies\\\\Heat (1995)\\\\Heat.mkv")
    '/media/movies/Heat (1995)/Heat.mkv'
    >>> m.to_host("/media/movies/Heat (1995)")
    'F:\\\\Movies\\\\Heat (1995)'
    """

    def __init__(self, pairs: Iterable[Sequence[str]], roots: Sequence[str] = ()) -> None:
        self.pairs: list[tuple[str, str]] = [(str(h), str(loc)) for h, loc in pairs]
        self._compiled = [(host_path(h), local_path(loc)) for h, loc in self.pairs]
        self.roots: list[PurePath] = [local_path(r) for r in roots if str(r).strip()]

    @classmethod
    def parse(cls, setting: str, roots: Sequence[str] = ()) -> PathMapper:
        """Build from the ``path_map`` setting string (``a=b;c=d`` or JSON)."""
        return cls(parse_pairs(setting), roots)

    def __repr__(self) -> str:
        return f"PathMapper({self.pairs!r}, roots={[str(r) for r in self.roots]!r})"

    def to_local(self, host: str) -> str:
        """Map a host path to the sidecar's path; OutsideRoots if it lands outside every root."""
        if not host.strip():
            self._refuse(host, host, "empty path")
        hpath = host_path(host)
        for host_prefix, local_prefix in self._compiled:
            if is_within(hpath, host_prefix):
                mapped = local_prefix.joinpath(*hpath.relative_to(host_prefix).parts)
                return self._checked(host, local_path(str(mapped)))
        if isinstance(hpath, PureWindowsPath) and os.sep == "/":
            self._refuse(host, str(hpath), "no path mapping matches this Windows path")
        return self._checked(host, local_path(str(hpath)))

    def to_host(self, local: str) -> str:
        """Inverse of :meth:`to_local` for refresh calls: first pair whose local prefix matches."""
        lpath = local_path(local)
        for host_prefix, local_prefix in self._compiled:
            if is_within(lpath, local_prefix):
                return str(host_prefix.joinpath(*lpath.relative_to(local_prefix).parts))
        return str(lpath)

    def _checked(self, host: str, mapped: PurePath) -> str:
        if any(is_within(mapped, root) for root in self.roots):
            return str(mapped)
        roots = ", ".join(str(r) for r in self.roots) or "(none configured)"
        self._refuse(host, str(mapped), f"outside the library roots {roots}")

    @staticmethod
    def _refuse(host: str, mapped: str, problem: str) -> NoReturn:
        log.warning("refusing host path %r (mapped to %r): %s", host, mapped, problem)
        raise OutsideRoots(mapped, problem)
