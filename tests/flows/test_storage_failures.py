"""A full disk or a locked database: the person is told to resend, and nothing confirmed is lost.

The failures are SQLite's own errors raised where they happen in real life: at COMMIT (a full
disk usually shows there, when the write-ahead log grows), on a write lock another process holds,
and as ENOSPC while an evidence file is written.
"""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from engine_chat import (
    FLOWS,
    Person,
    attachment,
    file_from_evidence,
    open_engine,
    walk_sms_to_evidence,
)
from fake_telegram import make_png

from flows.conversation.engine import Engine
from flows.model import ConversationKey
from storage import SqliteStore
from storage.blobs import BlobStore
from storage.db import run_sync

ALICE = ConversationKey("test", "alice")

FULL = "database or disk is full"
LOCKED = "database is locked"


class _FailingCommit:
    """The sqlite3 connection, except that COMMIT fails the way SQLite reports `message`."""

    def __init__(self, real: sqlite3.Connection, message: str) -> None:
        self.real = real
        self.message = message

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if sql.strip().upper() == "COMMIT":
            raise sqlite3.OperationalError(self.message)
        return self.real.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


@contextmanager
def failing_commits(store: SqliteStore, message: str) -> Iterator[None]:
    # aiosqlite hands its sqlite3 connection to every function the store runs on its thread.
    conn = store._conn
    real = conn._conn
    conn._connection = _FailingCommit(real, message)
    try:
        yield
    finally:
        conn._connection = real


@pytest.fixture
async def opened(tmp_path: Path) -> AsyncIterator[tuple[Engine, SqliteStore]]:
    engine, store = await open_engine(tmp_path)
    yield engine, store
    await store.close()


@pytest.mark.parametrize("message", [FULL, LOCKED])
@pytest.mark.parametrize("language", ["zh", "en"])
async def test_a_failed_commit_asks_to_resend_and_keeps_what_was_confirmed(
    opened: tuple[Engine, SqliteStore], message: str, language: str
) -> None:
    engine, store = opened
    bot = Person(engine)
    await bot.send(f"/lang {language}")
    await bot.send("/start")
    await bot.press("Texts" if language == "en" else "短信")
    await bot.press("Spam" if language == "en" else "垃圾")
    before = await store.load_conversation(ALICE)

    with failing_commits(store, message):
        await bot.send("10690123456789")
        assert bot.text == FLOWS.catalog("save_failed", language)
        assert bot.text != FLOWS.catalog("internal_error", language)
        await bot.send("/cancel")  # a cancel is a write too: refused, the intake stays
        assert bot.text == FLOWS.catalog("save_failed", language)

    after = await store.load_conversation(ALICE)
    assert after == before  # nothing half-written, nothing lost
    assert after is not None and after.answers == {"problem": "spam"}
    await bot.send("10690123456789")  # the person resends once the disk has room again
    assert "（3/11）" in bot.text or "(3/11)" in bot.text
    saved = await store.load_conversation(ALICE)
    assert saved is not None and saved.answers["sender"]["number"] == "10690123456789"


async def test_a_database_locked_by_another_process(
    opened: tuple[Engine, SqliteStore], tmp_path: Path
) -> None:
    engine, store = opened
    bot = Person(engine)
    await bot.send("/start")
    await bot.press("短信")
    await bot.press("垃圾")
    # Wait 50 ms for the lock instead of the usual 5 s, then fail like a real busy database.
    await run_sync(store._conn, lambda c: c.execute("PRAGMA busy_timeout=50"))
    other = sqlite3.connect(tmp_path / "db.sqlite3", isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # e.g. an operator's tool holding the write lock
        await bot.send("10690123456789")
        assert bot.text == FLOWS.catalog("save_failed", "zh")
    finally:
        other.execute("ROLLBACK")
        other.close()
    conv = await store.load_conversation(ALICE)
    assert conv is not None and conv.state == "sender" and conv.answers == {"problem": "spam"}
    await bot.send("10690123456789")
    assert "（3/11）" in bot.text


async def test_a_full_evidence_folder_keeps_the_files_already_received(
    opened: tuple[Engine, SqliteStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, store = opened
    bot = Person(engine)
    first, second = make_png(10, 10), make_png(11, 10)
    await walk_sms_to_evidence(bot)
    await bot.send(attachments=(attachment(first, unique="u1"),))
    assert "已收到 1 份" in bot.text

    def no_space(self: BlobStore, data: bytes) -> Any:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(BlobStore, "_put", no_space)
    await bot.send(attachments=(attachment(second, unique="u2"),))
    assert bot.text == FLOWS.catalog("save_failed", "zh")
    monkeypatch.undo()

    await bot.send(attachments=(attachment(second, unique="u2"),))
    assert "共 2 份证据" in bot.text
    await bot.press("完成")
    await bot.press("停止给我发短信")
    await bot.press("完成")
    await bot.press("提交投诉")
    case = await store.get_case(ALICE, bot.text.split("编号 ")[1].split("。")[0])
    assert case is not None
    assert [(store.data_dir / e.path).read_bytes() for e in case.evidence] == [first, second]


async def test_a_filed_case_survives_a_failure_after_it(
    opened: tuple[Engine, SqliteStore],
) -> None:
    engine, store = opened
    bot = Person(engine)
    await walk_sms_to_evidence(bot)
    number = await file_from_evidence(bot)
    with failing_commits(store, FULL):
        await bot.send("/start")
        assert bot.text == FLOWS.catalog("save_failed", "zh")
    case = await store.get_case(ALICE, number)
    assert case is not None and case.answers["sender"]["number"] == "10690123456789"
    assert [c.number for c in await store.list_cases(ALICE)] == [number]
