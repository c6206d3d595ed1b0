"""The order a walk visits folders, and folder records read back in that order.

The walker goes pre-order, each folder's children in the byte order of their names.
``walk_key`` turns a path into bytes that sort exactly that way, so the database can hand
folder records back in walk order a page at a time (``FolderRecords``): a quick scan then
holds one page of records, not one per folder of the library.  git's index is sorted the
same way for the same reason (a merge of the index with a walk of the tree).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence

# (mtime_ns, subfolder names, media signature): listing.KnownDir, restated here because
# the state package does not import the walker.
Record = tuple[int, tuple[str, ...], str]
Page = Sequence[tuple[str, Record]]

_SEP = os.fsencode(os.sep)


def walk_key(path: str) -> bytes:
    """Bytes that sort like the walk visits: the path's bytes, separators as NUL.

    A pre-order walk with children in name order visits paths in the order of their
    component tuples.  NUL sorts below every byte a name can hold (none holds NUL), so
    ``Show/x`` (``Show\\0x``) comes before ``Show (2010)``, as it does in the walk.
    """
    return os.fsencode(path).replace(_SEP, b"\0")


def subtree_range(folder: str) -> tuple[bytes, bytes]:
    """``[low, high)`` of the keys of ``folder`` and everything below it."""
    folder = folder.rstrip(os.sep)
    if not folder:  # the filesystem root: its key is the separator its children start with
        return b"\0", b"\x01"
    key = walk_key(folder)
    return key, key + b"\x01"


class FolderRecords:
    """Records of one subtree in walk order, from an iterator of pages.

    ``get`` is what the walker asks once per folder it reaches, in walk order (the
    ``walker.Known`` protocol).  Records the walk passes without asking (folders gone since,
    or now ignored) are skipped; a folder with no record gets None.  A caller that asks out
    of order only loses records (the folders are then listed), never gets a wrong one.
    """

    __slots__ = ("_i", "_page", "_pages")

    def __init__(self, pages: Iterable[Page]) -> None:
        self._pages: Iterator[Page] = iter(pages)
        self._page: Page = ()
        self._i = 0

    def get(self, path: str, /) -> Record | None:
        """The record of ``path``, or None; records before it are dropped."""
        page, i = self._page, self._i
        while True:
            if i == len(page):
                page, i = next(self._pages, ()), 0
                if not page:  # exhausted (pages are never empty)
                    self._page, self._i = page, 0
                    return None
                continue
            found, record = page[i]
            if found == path:
                self._page, self._i = page, i + 1
                return record
            if walk_key(found) > walk_key(path):  # path is new: keep this record for later
                self._page, self._i = page, i
                return None
            i += 1
