"""Steps written at the same time share one trip to the database thread, each still on its own."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

import storage.db
import storage.group_commit
import storage.store
from flows.model import ConversationKey
from flows.records import Conversation, StepCommit
from storage import SqliteStore
from storage.errors import StorageError
from storage.group_commit import GroupCommit


@pytest.fixture
def hops(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the trips the store makes to the database thread."""
    counted: list[int] = []
    real = storage.db.run_sync

    async def counting(conn: aiosqlite.Connection, fn: Any) -> Any:
        counted.append(1)
        return await real(conn, fn)

    for module in (storage.store, storage.group_commit):
        monkeypatch.setattr(module, "run_sync", counting)
    return counted


async def test_steps_of_many_people_at_once_all_land_in_fewer_hops(
    store: SqliteStore, hops: list[int]
) -> None:
    people = [ConversationKey("telegram", str(1000 + i)) for i in range(20)]
    steps = [StepCommit(Conversation(key, key.user_id, "zh", turn=3)) for key in people]

    await asyncio.gather(*(store.commit(step) for step in steps))
    trips = len(hops)

    for key in people:
        saved = await store.load_conversation(key)
        assert saved is not None and saved.turn == 3
    assert trips < len(people)


@pytest.fixture
async def conn(tmp_path: Path) -> AsyncIterator[aiosqlite.Connection]:
    opened = await aiosqlite.connect(tmp_path / "t.sqlite3", isolation_level=None)
    await opened.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)")
    yield opened
    await opened.close()


async def test_a_failing_write_fails_alone_and_follow_ups_run_in_order(
    conn: aiosqlite.Connection,
) -> None:
    group = GroupCommit(conn, asyncio.Lock())
    followed: list[int] = []

    def insert(row_id: int, value: str | None) -> Any:
        def write(c: sqlite3.Connection) -> int:
            c.execute("INSERT INTO t (id, v) VALUES (?, ?)", (row_id, value))
            return row_id

        return write

    async def after(row_id: int) -> None:
        followed.append(row_id)

    results = await asyncio.gather(
        group.write(insert(1, "a"), after),
        group.write(insert(2, None), after),  # NOT NULL: this one fails
        group.write(insert(3, "c"), after),
        return_exceptions=True,
    )

    assert results[0] == 1 and results[2] == 3
    assert isinstance(results[1], StorageError) and "NOT NULL" in str(results[1])
    assert followed == [1, 3]
    rows = await conn.execute_fetchall("SELECT id FROM t ORDER BY id")
    assert [row[0] for row in rows] == [1, 3]


async def test_a_write_queued_as_the_store_closes_fails_politely(
    db_path: Path, data_dir: Path
) -> None:
    store = await SqliteStore.open(db_path, data_dir)
    step = StepCommit(Conversation(ConversationKey("telegram", "7"), "7", "zh"))

    results = await asyncio.gather(store.commit(step), store.close(), return_exceptions=True)

    assert results[1] is None
    assert isinstance(results[0], StorageError), results[0]
