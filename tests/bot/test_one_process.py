"""One bot process per SQLite database: a second `run` or `chat` is refused, a restart after a crash is not.

Two bots on one database would both poll Telegram and both send every due reminder. The first
process holds `DB.lock` (flock) for its whole life; the kernel drops it however the process
ends, SIGKILL included.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from bot_process import BotProcess
from cli_run import run_cli
from fake_telegram import FakeBotAPI, FakeBotAPIServer

from storage import StorageError
from storage.lock import DatabaseLock

REFUSED = "is already running a bot on"


async def test_a_second_run_is_refused_and_the_first_keeps_answering(tmp_path: Path) -> None:
    fake = FakeBotAPI()
    alice = fake.add_user("Alice")
    async with FakeBotAPIServer(fake) as server:
        first = BotProcess(fake, server, tmp_path)
        second = BotProcess(fake, server, tmp_path, log_name="second.log")
        third = BotProcess(fake, server, tmp_path, log_name="third.log")
        try:
            await first.start()
            await second.spawn()
            assert await asyncio.wait_for(second.wait(), 30) == 1, "the second one kept running"
            said = second.log.read_text().strip().splitlines()
            assert len(said) == 1 and REFUSED in said[0], said  # one line, no traceback
            assert str(first.db_path) in said[0]

            alice.send_command("start")  # the first one still answers
            await fake.wait_for_sent(alice.id, timeout=15)

            # While it runs, operators can still read and export cases.
            cases = run_cli(
                "cases", "list", env={"COMPLAINT_BOT_STORAGE__DB_PATH": str(first.db_path)}
            )
            assert cases.returncode == 0, cases.stderr

            chat = run_cli(
                "chat",
                stdin="/help\n",
                env={
                    "COMPLAINT_BOT_STORAGE__DB_PATH": str(first.db_path),
                    "COMPLAINT_BOT_STORAGE__DATA_DIR": str(tmp_path / "data"),
                },
            )
            assert chat.returncode == 1 and REFUSED in chat.stderr, chat.stderr

            await first.kill()  # SIGKILL: nothing runs to release the lock but the kernel
            await third.start()
            before = len(fake.sent_to(alice.id))
            alice.send_command("help")
            await fake.wait_for_sent(alice.id, count=before + 1, timeout=15)
            await third.stop()
            assert third.process is not None and third.process.returncode == 0
        finally:
            for process in (first, second, third):
                await process.kill()


def test_the_lock_is_taken_once_and_given_back(tmp_path: Path) -> None:
    db = tmp_path / "sub" / "bot.sqlite3"
    with DatabaseLock(db) as held:
        assert held.path == Path(f"{db}.lock")
        with pytest.raises(StorageError, match=f"process {os.getpid()} {REFUSED}"):
            DatabaseLock(db).acquire()
    with DatabaseLock(db):  # released: taken again
        pass


def test_a_bot_on_another_database_is_not_refused(tmp_path: Path) -> None:
    with DatabaseLock(tmp_path / "a.sqlite3"), DatabaseLock(tmp_path / "b.sqlite3"):
        pass
