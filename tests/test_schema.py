"""Migrations: a fresh database ends at the newest ``user_version`` with the brief's table
and indexes (§5.1); migrating again is a no-op; an old database is walked forward."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
import sqlite_utils

from sidecar.state import StateStore, schema

BRIEF_COLUMNS = {  # §5.1, every column the brief names
    "id", "media_path", "media_type", "media_name", "parent_path", "tmdb_id", "tmdb_type",
    "season_number", "episode_number", "scan_state", "processing_started_at",
    "first_scanned_at", "last_scanned_at", "last_modified_at", "last_modified_ms",
    "metadata_updated_at", "tmdb_etag", "last_response_hash", "error_count", "last_error",
    "next_retry_after", "file_size_bytes", "last_scan_duration_ms",
}
BRIEF_INDEXES = {  # name -> columns
    "idx_scan_state": ["scan_state"],
    "idx_tmdb_id": ["tmdb_id"],
    "idx_parent": ["parent_path"],
    "idx_metadata_age": ["metadata_updated_at"],
    "idx_mtime": ["last_modified_ms"],
}


def open_db(path: Path) -> sqlite_utils.Database:
    return sqlite_utils.Database(sqlite3.connect(path, isolation_level=None))


def user_version(db: sqlite_utils.Database) -> int:
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def snapshot(db: sqlite_utils.Database) -> list[tuple[str, str]]:
    rows = db.execute("SELECT name, sql FROM sqlite_master ORDER BY name").fetchall()
    return [(r[0], r[1] or "") for r in rows]


def test_fresh_database_gets_the_newest_version(tmp_path: Path) -> None:
    db = open_db(tmp_path / "x.db")
    assert schema.migrate(db) == len(schema.MIGRATIONS)
    assert user_version(db) == len(schema.MIGRATIONS) >= 1


def test_migrate_again_is_a_no_op(tmp_path: Path) -> None:
    db = open_db(tmp_path / "x.db")
    schema.migrate(db)
    db.table("settings").insert({"key": "language", "value": "de"})
    before = snapshot(db)
    assert schema.migrate(db) == len(schema.MIGRATIONS)
    assert snapshot(db) == before
    assert user_version(db) == len(schema.MIGRATIONS)
    assert db.execute("SELECT value FROM settings").fetchone()[0] == "de"  # data kept


def test_store_opens_an_existing_database_without_migrating_twice(tmp_path: Path) -> None:
    first = StateStore(tmp_path / "state.db")
    first.add_new([{"media_path": "/m/a.mkv", "media_type": "movie"}])
    second = StateStore(tmp_path / "state.db")
    assert second.version == first.version == len(schema.MIGRATIONS)
    assert second.get("/m/a.mkv") is not None


def test_brief_columns_and_constraints(tmp_path: Path) -> None:
    db = open_db(tmp_path / "x.db")
    schema.migrate(db)
    table = db.table("media_scan_state")
    assert set(table.columns_dict) >= BRIEF_COLUMNS
    assert table.pks == ["id"]
    not_null = {c.name for c in table.columns if c.notnull}
    assert {"media_path", "media_type", "scan_state"} <= not_null
    db.execute("INSERT INTO media_scan_state (media_path, media_type) VALUES ('/a', 'movie')")
    row = db.execute("SELECT scan_state, error_count FROM media_scan_state").fetchone()
    assert tuple(row) == ("NEW", 0)  # the brief's defaults
    with pytest.raises(sqlite3.IntegrityError):  # media_path is unique
        db.execute("INSERT INTO media_scan_state (media_path, media_type) VALUES ('/a', 'movie')")


def test_brief_indexes_exist(tmp_path: Path) -> None:
    db = open_db(tmp_path / "x.db")
    schema.migrate(db)
    indexes = {ix.name: ix for ix in db.table("media_scan_state").indexes}
    for name, columns in BRIEF_INDEXES.items():
        assert name in indexes, name
        assert indexes[name].columns == columns
    unique = [ix for ix in indexes.values() if ix.unique and ix.columns == ["media_path"]]
    assert unique, "media_path needs a unique index (claims and scans look paths up)"


def test_the_other_tables(tmp_path: Path) -> None:
    db = open_db(tmp_path / "x.db")
    schema.migrate(db)
    names = set(db.table_names())
    assert {"media_scan_state", "dir_cache", "scan_runs", "settings", "shows"} <= names
    assert {"mode", "started_at", "finished_at", "counts", "duration_ms"} <= set(
        db.table("scan_runs").columns_dict)
    assert {"path", "mtime_ns", "dir_signature"} <= set(db.table("dir_cache").columns_dict)


def test_an_older_database_is_walked_forward(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Each step runs once, in order, from the stored version: here a current database
    meets a Scanarr with one more migration."""
    db = open_db(tmp_path / "x.db")
    schema.migrate(db)
    ran: list[int] = []

    def v2(database: sqlite_utils.Database) -> None:
        ran.append(user_version(database))
        database.table("media_scan_state").add_column("new_column", str)

    base = len(schema.MIGRATIONS)
    monkeypatch.setattr(schema, "MIGRATIONS", [*schema.MIGRATIONS, v2])
    assert schema.migrate(db) == base + 1
    assert ran == [base]
    assert user_version(db) == base + 1
    assert "new_column" in db.table("media_scan_state").columns_dict
    assert schema.migrate(db) == base + 1 and ran == [base]


def test_v4_puts_existing_folder_records_in_walk_order(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A database of the version before: its folder rows get their walk keys, its old
    one-blob snapshot goes, and a scan can stream the rows right away."""
    db = open_db(tmp_path / "x.db")
    monkeypatch.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:3])
    schema.migrate(db)
    for path in ("/lib", "/lib/Show (2010)", "/lib/Show", "/lib/Show/S1"):
        db.execute("INSERT INTO dir_cache (path, root, mtime_ns, subdirs, dir_signature) "
                   "VALUES (?, '/lib', 1, '', 'sig')", [path])
    db.execute("INSERT INTO dir_snapshots (root, data) VALUES ('/lib', x'00')")
    monkeypatch.undo()
    assert schema.migrate(db) == len(schema.MIGRATIONS) == 4
    assert db.execute("SELECT count(*) FROM dir_snapshots").fetchone()[0] == 0
    db.conn.close()
    store = StateStore(tmp_path / "x.db")
    stream = store.folder_records("/lib")
    assert [stream.get(p) for p in ("/lib", "/lib/Show", "/lib/Show/S1", "/lib/Show (2010)")] \
        == [(1, (), "sig")] * 4


def test_a_failing_migration_leaves_the_version_alone(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    db = open_db(tmp_path / "x.db")
    schema.migrate(db)

    def broken(database: sqlite_utils.Database) -> None:
        database.execute("CREATE TABLE half_done (x)")
        raise RuntimeError("boom")

    base = len(schema.MIGRATIONS)
    monkeypatch.setattr(schema, "MIGRATIONS", [*schema.MIGRATIONS, broken])
    with pytest.raises(RuntimeError):
        schema.migrate(db)
    assert user_version(db) == base
    assert "half_done" not in db.table_names()  # the whole step rolled back


def test_a_fresh_database_migrated_by_two_processes_at_once(tmp_path: Path) -> None:
    """``serve`` and ``scanarr scan`` may open a brand-new database together: both must
    end up with one schema, and neither may crash on "table already exists"."""
    path = tmp_path / "x.db"
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def opener() -> None:
        try:
            barrier.wait(timeout=10)
            StateStore(path)
        except BaseException as exc:  # collected for the assert below
            errors.append(exc)

    threads = [threading.Thread(target=opener) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert user_version(open_db(path)) == len(schema.MIGRATIONS)


def test_the_store_migrates_inside_transactions(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The store's connections autocommit; a failing step must still roll back there."""
    StateStore(tmp_path / "state.db")

    def broken(database: sqlite_utils.Database) -> None:
        database.table("half_done").create({"x": int})
        raise RuntimeError("disk full")

    monkeypatch.setattr(schema, "MIGRATIONS", [*schema.MIGRATIONS, broken])
    with pytest.raises(RuntimeError):
        StateStore(tmp_path / "state.db")
    db = open_db(tmp_path / "state.db")
    assert "half_done" not in db.table_names()
    monkeypatch.setattr(schema, "MIGRATIONS", schema.MIGRATIONS[:-1])
    assert StateStore(tmp_path / "state.db").version == len(schema.MIGRATIONS)
