"""Opening the database and migrating its schema."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

import pytest

from storage.db import connect, run_sync
from storage.errors import StorageError
from storage.migrations import MIGRATIONS, apply_migrations, m001_initial, migrate

TABLES = {
    "users",
    "conversations",
    "cases",
    "evidence",
    "events",
    "case_counters",
    "migrations",
    "reminders",
    "deliveries",
    "wecom_cursors",
    "wecom_inbox",
    "wecom_people",
    "inbox",
    "outbox",
}
ALL = [m.__name__ for m in MIGRATIONS]


async def test_migrations_apply_once_and_are_recorded(tmp_path: Path) -> None:
    conn = await connect(tmp_path / "bot.sqlite3")
    try:
        assert await migrate(conn) == [
            "m001_initial",
            "m002_deadlines_and_reminders",
            "m003_letter_profile",
            "m004_deliveries",
            "m005_reminder_leases",
            "m006_wecom",
            "m007_inbox_outbox",
        ]
        rows = await conn.execute_fetchall("SELECT id, name, applied_at FROM migrations")
        assert [(r["id"], r["name"]) for r in rows] == list(enumerate(ALL, 1))
        assert datetime.fromisoformat(next(iter(rows))["applied_at"]).tzinfo is not None
        tables = await conn.execute_fetchall("SELECT name FROM sqlite_master WHERE type='table'")
        assert {r["name"] for r in tables} == TABLES
    finally:
        await conn.close()


async def test_migrating_again_is_a_no_op(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    conn = await connect(path)
    await migrate(conn)
    before = await conn.execute_fetchall("SELECT * FROM migrations")
    await conn.close()

    conn = await connect(path)
    try:
        assert await migrate(conn) == []
        assert await migrate(conn) == []
        after = await conn.execute_fetchall("SELECT * FROM migrations")
        assert [tuple(r) for r in after] == [tuple(r) for r in before]
    finally:
        await conn.close()


async def test_database_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    conn = await connect(tmp_path / "bot.sqlite3")
    try:
        await migrate(conn)
        await conn.execute(
            "INSERT INTO migrations VALUES (?, 'm002_from_the_future', ?)",
            (len(MIGRATIONS) + 1, "2030-01-01T00:00:00+00:00"),
        )
        with pytest.raises(StorageError, match=r"newer complaint-bot") as raised:
            await migrate(conn)
        assert f"[{len(MIGRATIONS) + 1}]" in str(raised.value)
    finally:
        await conn.close()


def m002_broken(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE TABLE half_done (id INTEGER)")
    conn.execute("INSERT INTO no_such_table VALUES (1)")


def m002_commits_itself(conn: sqlite3.Connection) -> None:
    conn.executescript("CREATE TABLE sneaky (id INTEGER);")


async def test_a_failing_migration_is_rolled_back_with_its_record(tmp_path: Path) -> None:
    conn = await connect(tmp_path / "bot.sqlite3")
    try:
        with pytest.raises(StorageError, match=r"migration 2 \(m002_broken\): no such table"):
            await run_sync(conn, lambda c: apply_migrations(c, [m001_initial, m002_broken]))
        ids = await conn.execute_fetchall("SELECT id FROM migrations")
        assert [r["id"] for r in ids] == [1]
        half = await conn.execute_fetchall("SELECT 1 FROM sqlite_master WHERE name='half_done'")
        assert list(half) == []
        assert not conn.in_transaction
    finally:
        await conn.close()


async def test_a_migration_that_commits_on_its_own_is_refused(tmp_path: Path) -> None:
    conn = await connect(tmp_path / "bot.sqlite3")
    try:
        with pytest.raises(StorageError, match="executescript"):
            await run_sync(conn, lambda c: apply_migrations(c, [m001_initial, m002_commits_itself]))
        ids = await conn.execute_fetchall("SELECT id FROM migrations")
        assert [r["id"] for r in ids] == [1]
    finally:
        await conn.close()


async def test_connection_uses_wal_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    conn = await connect(tmp_path / "bot.sqlite3")
    try:
        pragmas = {}
        for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous"):
            rows = await conn.execute_fetchall(f"PRAGMA {name}")
            pragmas[name] = next(iter(rows))[0]
        assert pragmas == {
            "journal_mode": "wal",
            "foreign_keys": 1,
            "busy_timeout": 5000,
            "synchronous": 1,  # NORMAL
        }
        assert conn.row_factory is sqlite3.Row
    finally:
        await conn.close()


async def test_foreign_keys_are_enforced(tmp_path: Path) -> None:
    conn = await connect(tmp_path / "bot.sqlite3")
    try:
        await migrate(conn)
        with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
            await conn.execute(
                "INSERT INTO conversations (user_id, answers, history, turn, pending, updated_at)"
                " VALUES (999, '{}', '[]', 0, '{}', '2026-01-01T00:00:00+00:00')"
            )
    finally:
        await conn.close()


async def test_connect_creates_missing_folders(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "bot.sqlite3"
    conn = await connect(path)
    await conn.close()
    assert path.is_file()


async def test_in_memory_database_migrates(tmp_path: Path) -> None:
    conn = await connect(":memory:")
    try:
        assert await migrate(conn) == ALL
        rows = await conn.execute_fetchall("PRAGMA foreign_keys")
        assert next(iter(rows))[0] == 1
    finally:
        await conn.close()


async def test_unopenable_database_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match=r"cannot open .*not-a-file"):
        await connect(tmp_path / "not-a-file" / "..")
