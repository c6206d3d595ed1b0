"""Database schema and its migrations, applied in order and recorded in ``user_version``.

A migration is appended, never edited: a user's database may be at any earlier
version, and ``migrate`` walks it forward one step at a time inside a transaction.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlite_utils

from sidecar.state.walkorder import walk_key


def _v1(db: sqlite_utils.Database) -> None:
    """The brief's ``media_scan_state`` (§5.1) plus what the scanner and worker need."""
    db.table("media_scan_state").create(
        {
            "id": int,
            "media_path": str,
            "media_type": str,          # movie | episode
            "media_name": str,          # parsed title
            "parent_path": str,         # the file's folder (scanner diffs per folder)
            "show_dir": str,            # episodes: the show folder
            "root": str,                # library root the file lives under
            "tmdb_id": int,             # show id for episodes
            "tmdb_type": str,           # movie | tv
            "imdb_id": str,
            "tvdb_id": str,
            "year": int,
            "season_number": int,
            "episode_number": int,
            "episode_numbers": str,     # JSON list for multi-episode files
            "air_date": str,
            "id_source": str,           # id_tag | nfo | host | find | search | manual
            "scan_state": str,
            "claimed_from": str,        # state before PROCESSING, restored on release
            "processing_started_at": str,
            "first_scanned_at": str,
            "last_scanned_at": str,
            "last_modified_at": str,
            "last_modified_ms": int,
            "mtime_ns": int,
            "metadata_updated_at": str,
            "release_date": str,
            "stale_after": str,
            "tmdb_etag": str,
            "last_response_hash": str,
            "error_count": int,
            "error_reason": str,
            "last_error": str,
            "next_retry_after": str,
            "candidates": str,          # JSON kept for a manual match
            "file_size_bytes": int,
            "last_scan_duration_ms": int,
        },
        pk="id",
        not_null={"media_path", "media_type", "scan_state"},
        defaults={"scan_state": "NEW", "error_count": 0, "media_name": ""},
    )
    table = db.table("media_scan_state")
    table.create_index(["media_path"], unique=True, index_name="idx_media_path")
    table.create_index(["scan_state"], index_name="idx_scan_state")
    table.create_index(["tmdb_id"], index_name="idx_tmdb_id")
    table.create_index(["parent_path"], index_name="idx_parent")
    table.create_index(["metadata_updated_at"], index_name="idx_metadata_age")
    table.create_index(["last_modified_ms"], index_name="idx_mtime")
    table.create_index(["show_dir"], index_name="idx_show_dir")
    table.create_index(["next_retry_after"], index_name="idx_next_retry")
    db.table("dir_cache").create(
        {"path": str, "root": str, "mtime_ns": int, "subdirs": str,
         "dir_signature": str, "last_checked": str},
        pk="path",
    )
    db.table("dir_cache").create_index(["root"], index_name="idx_dir_root")
    db.table("scan_runs").create(
        {"id": int, "mode": str, "trigger": str, "paths": str, "status": str,
         "started_at": str, "finished_at": str, "duration_ms": int, "counts": str},
        pk="id",
    )
    db.table("settings").create({"key": str, "value": str}, pk="key")
    db.table("shows").create(
        {"show_dir": str, "tmdb_id": int, "title": str, "tmdb_etag": str,
         "last_response_hash": str, "metadata_updated_at": str},
        pk="show_dir",
    )
    db.table("pending_events").create(
        {"id": int, "host": str, "item_id": str, "payload": str, "received_at": str,
         "attempts": int, "last_error": str},
        pk="id",
    )


def _v2(db: sqlite_utils.Database) -> None:
    """A compressed copy of the last show answer, so an episode added to a season fetched
    recently costs no request even in a later ``scanarr scan`` process."""
    db.table("shows").add_column("payload", bytes)
    db.table("shows").add_column("payload_at", float)


def _v3(db: sqlite_utils.Database) -> None:
    """All folder records of a root in one marshal blob: a quick scan loads 50,000 folders
    from it in ~20 ms instead of ~100 ms of rows.  A cache of ``dir_cache``: dropped on
    every change there, rebuilt at the end of the scan that changed it."""
    db.table("dir_snapshots").create({"root": str, "data": bytes}, pk="root")


def _v4(db: sqlite_utils.Database) -> None:
    """Folder records in walk order (``walkorder.walk_key``), so a scan reads them as a
    stream, a page at a time, and its memory no longer grows with the library; the
    snapshot becomes pages in that order (it is a cache: dropped, rebuilt by a scan)."""
    db.table("dir_cache").add_column("walk_key", bytes)
    keys = [(walk_key(path), path) for (path,) in db.execute("SELECT path FROM dir_cache")]
    db.conn.executemany("UPDATE dir_cache SET walk_key = ? WHERE path = ?", keys)
    db.table("dir_cache").create_index(["root", "walk_key"], index_name="idx_dir_walk")
    db.execute("DROP INDEX idx_dir_root")  # the new index serves every query by root
    db.table("dir_snapshots").drop()
    db.table("dir_snapshots").create({"root": str, "seq": int, "data": bytes},
                                     pk=("root", "seq"))


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [_v1, _v2, _v3, _v4]


def migrate(db: sqlite_utils.Database) -> int:
    """Bring the database to the newest version; returns that version.

    Each step runs in its own explicit transaction (the store's connections autocommit, so
    ``with conn`` alone would not make a half-done step roll back), and the version is read
    again under the write lock: two processes opening a fresh database at once (``serve``
    and a ``scanarr scan``) must not both run the same step.
    """
    while db.execute("PRAGMA user_version").fetchone()[0] < len(MIGRATIONS):
        with db.conn:
            db.execute("BEGIN IMMEDIATE")
            current = db.execute("PRAGMA user_version").fetchone()[0]
            if current < len(MIGRATIONS):
                MIGRATIONS[current](db)
                db.execute(f"PRAGMA user_version = {current + 1}")
    return len(MIGRATIONS)
