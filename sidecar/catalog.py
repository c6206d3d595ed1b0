"""Turn a file the scanner has not seen before into its first state row.

This is stage B of the brief's two-stage walk: only NEW or CHANGED files get here, so
the cost of parsing names (identify) and of peeking at an NFO or an existing
``metadata.json`` is paid once per file, never for the unchanged bulk of a library.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Sequence
from typing import Any

from sidecar.errors import IdentifyError
from sidecar.identify import Guess, identify
from sidecar.lifecycle import Lifecycle
from sidecar.metadata import load_valid_metadata
from sidecar.titles import HEAD_SCORE, similarity
from sidecar.walker import MediaFile

log = logging.getLogger(__name__)
NFO_MAX_BYTES = 512 * 1024


def nfo_text(media: MediaFile) -> str | None:
    """The NFO beside a video (``<stem>.nfo`` first, then ``movie.nfo``), if any."""
    folder, name = os.path.split(media.path)
    stem = os.path.splitext(name)[0]
    for candidate in (f"{stem}.nfo", "movie.nfo"):
        if candidate in media.sidecars:
            try:
                with open(os.path.join(folder, candidate), "rb") as handle:
                    return handle.read(NFO_MAX_BYTES).decode("utf-8", "replace")
            except OSError as exc:
                log.warning("cannot read %s: %s", candidate, exc.strerror)
    return None


def metadata_candidates(path: str, kind: str) -> list[str]:
    """Where a metadata.json for this video would be, per the files-beside-media contract."""
    folder, name = os.path.split(path)
    stem = os.path.splitext(name)[0]
    own = os.path.join(folder, f"{stem}.metadata.json")
    return [own, os.path.join(folder, "metadata.json")] if kind == "movie" else [own]


def describes(doc: dict[str, Any], guess: Guess) -> bool:
    """Whether a folder's generic ``metadata.json`` is about this movie.  It was written
    for the movie that had the folder to itself; a film added beside it later ("Star Wars
    Collection/") must not inherit that id, so the id tag, year and title have to agree."""
    tag = str(guess.ids.get("tmdb", ""))
    if tag.isdigit():
        return int(tag) == doc.get("tmdb_id")
    year = doc.get("year")
    if guess.year and isinstance(year, int) and abs(year - guess.year) > 1:
        return False
    names = [doc.get("title"), doc.get("original_title"), *(doc.get("alternative_titles") or ())]
    return any(similarity(guess.title, n) >= HEAD_SCORE for n in names if isinstance(n, str))


def adopt(path: str, guess: Guess) -> dict[str, Any] | None:
    """Fields for an INDEXED row when valid metadata for this file already sits beside it."""
    own = metadata_candidates(path, guess.kind)[0]
    for candidate in metadata_candidates(path, guess.kind):
        if not os.path.exists(candidate):
            continue
        doc = load_valid_metadata(candidate)
        expected = "movie" if guess.kind == "movie" else "episode"
        if doc is None or doc.get("type") != expected:
            continue
        if candidate != own and not describes(doc, guess):
            continue
        owner = doc.get("show", {}) if expected == "episode" else doc
        tmdb_id = owner.get("tmdb_id")
        return {"scan_state": Lifecycle.INDEXED.value, "tmdb_id": tmdb_id,
                "tmdb_type": "movie" if expected == "movie" else "tv",
                "imdb_id": doc.get("imdb_id"), "id_source": "adopted",
                "metadata_updated_at": doc.get("fetched_at")}
    return None


def file_fields(media: MediaFile) -> dict[str, Any]:
    """The columns that describe the file itself (refreshed whenever it changes)."""
    mtime_s = media.mtime_ns / 1e9
    return {
        "file_size_bytes": media.size,
        "mtime_ns": media.mtime_ns,
        "last_modified_ms": media.mtime_ns // 1_000_000,
        "last_modified_at": dt.datetime.fromtimestamp(mtime_s, dt.UTC).isoformat(),
    }


def guess_fields(guess: Guess) -> dict[str, Any]:
    """The columns that come from the name: title, numbering, and ids found in tags or NFO."""
    ids = dict(guess.ids)
    fields: dict[str, Any] = {
        "media_type": guess.kind,
        "media_name": guess.title,
        "year": guess.year,
        "tmdb_type": "movie" if guess.kind == "movie" else "tv",
        "show_dir": guess.show_dir,
        "season_number": guess.season,
        "episode_number": guess.episodes[0] if guess.episodes else None,
        "episode_numbers": list(guess.episodes),
        "air_date": guess.air_date.isoformat() if guess.air_date else None,
        "imdb_id": ids.get("imdb"),
        "tvdb_id": ids.get("tvdb"),
    }
    if ids.get("tmdb", "").isdigit():
        fields["tmdb_id"] = int(ids["tmdb"])
    if ids:
        fields["id_source"] = "id_tag"
    return fields


def new_record(media: MediaFile, root: str, roots: Sequence[str]) -> dict[str, Any]:
    """A complete first row for ``media``: NEW, INDEXED (adopted) or ERROR (unidentified)."""
    base = {"media_path": media.path, "parent_path": os.path.dirname(media.path), "root": root,
            **file_fields(media)}
    try:
        guess = identify(media.path, roots=roots, nfo_text=nfo_text(media))
    except IdentifyError as exc:
        return {**base, "media_type": "movie", "scan_state": Lifecycle.ERROR.value,
                "error_reason": IdentifyError.reason, "last_error": str(exc), "error_count": 1}
    record = {**base, **guess_fields(guess)}
    adopted = adopt(media.path, guess)
    if adopted:
        record.update({k: v for k, v in adopted.items() if v is not None})
    return record
