"""Writer benchmark: what a first write costs, and that an unchanged refresh costs ~nothing.

    python bench/bench_writer.py [N]

Builds N movie documents from the sample TMDB answer, writes each beside its own fake video
(metadata.json + poster + fanart + NFO, fsynced), then writes them all again unchanged.
Prints per-item times and the refresh/first-write ratio (the baseline is measured in the
same run).  Images come from memory, so this measures the disk side only.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sidecar import nfo  # noqa: E402
from sidecar.metadata import load_valid_metadata, movie_document, validate_document  # noqa: E402
from sidecar.writer import Writer  # noqa: E402

SAMPLE = ROOT / "tests" / "data" / "tmdb_answers" / "movie_603.json"
IMAGE = b"\xff\xd8\xff" + bytes(200_000)  # a ~200 KB "poster"


def main(count: int) -> None:
    answer = json.loads(SAMPLE.read_text(encoding="utf-8"))
    when = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)

    start = time.perf_counter()
    docs = [movie_document(answer | {"id": 1000 + i}, fetched_at=when) for i in range(count)]
    build = (time.perf_counter() - start) / count
    start = time.perf_counter()
    for doc in docs:
        validate_document(doc)
    validate = (time.perf_counter() - start) / count
    start = time.perf_counter()
    for doc in docs:
        nfo.render(doc)
    render = (time.perf_counter() - start) / count

    with tempfile.TemporaryDirectory() as library:
        videos = []
        for i in range(count):
            folder = Path(library) / f"Movie {i}"
            folder.mkdir()
            (folder / f"Movie {i}.mkv").write_bytes(b"")
            videos.append(str(folder / f"Movie {i}.mkv"))
        writer = Writer([library], lambda url: IMAGE, nfo=True, image_url=lambda p, k: p)
        first, written = _timed_writes(writer, videos, docs)
        later = [movie_document(answer | {"id": 1000 + i}) for i in range(count)]  # new fetched_at
        again, rewritten = _timed_writes(writer, videos, later)
        start = time.perf_counter()
        adopted = sum(load_valid_metadata(Path(v).with_name("metadata.json")) is not None
                      for v in videos)
        adopt = (time.perf_counter() - start) / count

    print(f"items: {count}")
    print(f"build document: {build * 1e3:.3f} ms/item")
    print(f"validate (jsonschema): {validate * 1e3:.3f} ms/item")
    print(f"render NFO: {render * 1e3:.3f} ms/item")
    print(f"first write (4 files, fsync): {first * 1e3:.3f} ms/item, files written {written}")
    print(f"unchanged refresh: {again * 1e3:.3f} ms/item, files written {rewritten}")
    print(f"refresh / first write: {again / first:.3f}")
    print(f"adopt (load_valid_metadata): {adopt * 1e3:.3f} ms/item, adopted {adopted}")


def _timed_writes(writer: Writer, videos: list[str], docs: list[dict]) -> tuple[float, int]:
    start = time.perf_counter()
    written = 0
    for path, doc in zip(videos, docs, strict=True):
        written += len(writer.write_movie(path, doc, alone_in_folder=True))
    return (time.perf_counter() - start) / len(videos), written


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
