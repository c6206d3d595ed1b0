"""A benchmark's scratch folder: created for one run, removed after it unless asked to keep it.

    with scratch_dir("scanarr-soak-", keep=args.keep) as work:
        ...
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def scratch_dir(prefix: str, *, keep: bool) -> Iterator[Path]:
    """A fresh temporary folder; ``keep`` leaves it (and says where) to look at afterwards."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield work
    finally:
        if keep:
            print(f"\nkept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
