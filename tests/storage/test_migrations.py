"""Opening the database and migrating its schema."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

import storage.wecom as wecom
from storage.db import connect, run_sync
from storage.errors import StorageError
from storage.migrations import (
    MIGRATIONS,
    apply_migrations,
    m001_initial,
    m008_wecom_tokens_and_inbox_order,
    migrate,
)

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
    "wecom_tokens",
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
            "m008_wecom_tokens_and_inbox_order",
            "m009_reminders_due_in_order",
            "m010_send_pace",
            "m011_wecom_pull_token",
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


async def test_messages_in_the_wechat_inbox_keep_their_order_through_m008(
    tmp_path: Path,
) -> None:
    # m008 rebuilds the inbox with an explicit order (`seq`); a bot upgraded with messages
    # pulled and not yet answered must answer them, in the order they were pulled.
    before = MIGRATIONS.index(m008_wecom_tokens_and_inbox_order)
    conn = await connect(tmp_path / "bot.sqlite3")
    try:
        await run_sync(conn, lambda c: apply_migrations(c, MIGRATIONS[:before]))
        for msgid in ("z9", "a1", "m5"):
            await conn.execute(
                "INSERT INTO wecom_inbox VALUES (?, 'kf', 'wmAlice', '{}', '2026-01-01')", (msgid,)
            )
        await conn.execute("DELETE FROM wecom_inbox WHERE msgid = 'a1'")
        await conn.execute(
            "INSERT INTO wecom_inbox VALUES ('b2', 'kf', 'wmAlice', '{}', '2026-01-01')"
        )

        applied = await migrate(conn)
        assert applied[0] == "m008_wecom_tokens_and_inbox_order"

        await run_sync(conn, lambda c: wecom.handled(c, ["z9"]))
        await run_sync(conn, lambda c: wecom.record_page(c, "kf", [Message("c3")], "next"))
        inbox = await run_sync(conn, lambda c: wecom.inbox(c, "kf"))
        assert [row[0] for row in inbox] == ["m5", "b2", "c3"]
    finally:
        await conn.close()


@dataclass(frozen=True)
class Message:
    """A pulled message, as storage.wecom takes it."""

    msgid: str
    open_kfid: str = "kf"
    external_userid: str = "wmAlice"
    body: dict[str, Any] = field(default_factory=dict)
    sent_at: datetime | None = None


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
