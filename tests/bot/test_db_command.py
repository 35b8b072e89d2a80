"""`complaint-bot db migrate` and `db copy`: a SQLite bot moved to PostgreSQL loses nothing,
the WeChat messenger's cursors, inbox and people included."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from cli_run import run_cli
from pg_server import make_postgres_store

from bot.__main__ import main
from bot.messengers.wecom.state import Pulled
from bot.wecom_state import wecom_state
from flows.model import ConversationKey
from flows.ports import Store
from flows.records import (
    CaseEvent,
    Conversation,
    Deliveries,
    EvidenceRecord,
    NewCase,
    NewReminder,
    StepCommit,
)
from storage import SqliteStore
from storage.migrations import MIGRATIONS

KEY = ConversationKey("telegram", "42")
OTHER = ConversationKey("telegram", "43")
CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 11, 23, 10, 0, tzinfo=CST)
DUE = datetime(2026, 12, 9, 0, 0, tzinfo=CST)


async def fill(db: Path, data: Path) -> None:
    """Give a SQLite bot two people, a filed case with evidence, a draft, reminders, a check."""
    store = await SqliteStore.open(db, data)
    try:
        for key in (KEY, OTHER):
            talk = Conversation(key=key, chat_id=f"chat-{key.user_id}", language="zh", draft_id="d")
            ref = await store.put_blob(f"screenshot from {key.user_id}".encode())
            photo = EvidenceRecord("d", "evidence", "photo", ref.sha256, ref.path, ref.size)
            await store.commit(
                StepCommit(
                    talk,
                    evidence=[photo],
                    events=[CaseEvent("started", T0)],
                    deliveries=Deliveries("telegram", (f"7:{key.user_id}",)),
                )
            )
            case = NewCase(
                "sms", "spam", "sms", 1, "zh", {"内容": "贷款 ¥5万"}, ["stop_sending"], T0,
                due_at=DUE, reminder=NewReminder("deadline", DUE),
            )  # fmt: skip
            await store.commit(StepCommit(replace(talk, draft_id=None), new_case=case))
        # A screenshot being checked, not yet evidence: only the conversation refers to it.
        checked = await store.put_blob(b"checked screenshot")
        pending = {"check": {"items": [{"image": {"path": checked.path}}]}}
        await store.commit(
            StepCommit(Conversation(KEY, "chat-42", "zh", draft_id="d2", pending=pending))
        )
    finally:
        await store.close()


async def everything(store: Store) -> tuple[Any, ...]:
    """Return all a store tells about the people above, to compare two stores."""
    cases = await store.list_all_cases()
    files = [await store.read_blob(e.path) for c in cases for e in c.evidence]
    talks = [await store.load_conversation(k) for k in (KEY, OTHER)]
    assert talks[0] is not None
    checked = await store.read_blob(talks[0].pending["check"]["items"][0]["image"]["path"])
    handled = await store.handled(Deliveries("telegram", ("7:42", "7:43")))
    return cases, files, talks, checked, await store.pending_reminders(), handled


def test_copy_moves_every_row_and_file_and_the_copy_works_on(tmp_path: Path, pg_url: str) -> None:
    db, data = tmp_path / "bot.sqlite3", tmp_path / "data"
    asyncio.run(fill(db, data))

    status = main(["db", "copy", "--from", str(db), "--to", pg_url, "--data-dir", str(data)])

    assert status == 0

    async def compare() -> None:
        lite = await SqliteStore.open(db, data)
        pg = await make_postgres_store(pg_url, tmp_path / "elsewhere")
        try:
            before, after = await everything(lite), await everything(pg)
            assert after == before
            cases, files = after[0], after[1]
            assert len(cases) == 2 and len(files) == 2
            # New rows on PostgreSQL take ids past the copied ones.
            talk = Conversation(KEY, "chat-42", "zh")
            case = NewCase("sms", "spam", "sms", 1, "zh", {}, [], T0)
            number = await pg.commit(StepCommit(talk, new_case=case))
            assert number is not None and len(await pg.list_cases(KEY)) == 2
        finally:
            await lite.close()
            await pg.close()

    asyncio.run(compare())


def test_copy_refuses_a_database_that_is_not_empty(
    tmp_path: Path, pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    db, data = tmp_path / "bot.sqlite3", tmp_path / "data"
    asyncio.run(fill(db, data))
    assert main(["db", "copy", "--from", str(db), "--to", pg_url, "--data-dir", str(data)]) == 0
    capsys.readouterr()

    status = main(["db", "copy", "--from", str(db), "--to", pg_url, "--data-dir", str(data)])

    assert status == 1
    error = capsys.readouterr().err
    assert "the database is not empty (2 users, 2 conversations, 2 cases" in error
    assert "Traceback" not in error


def test_copy_says_what_is_wrong_with_its_arguments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "none.sqlite3"

    assert main(["db", "copy", "--from", str(missing), "--to", "postgresql://x@127.0.0.1/x"]) == 1
    assert "--from: no SQLite database at" in capsys.readouterr().err
    assert main(["db", "copy", "--from", str(missing), "--to", "mysql://x"]) == 1
    assert "--to: expected a URL starting with postgresql://" in capsys.readouterr().err


def test_migrate_brings_either_database_up_to_date(tmp_path: Path, pg_url: str) -> None:
    names = [m.__name__ for m in MIGRATIONS]
    db = tmp_path / "bot.sqlite3"
    env = {"COMPLAINT_BOT_STORAGE__URL": pg_url}

    first_pg = run_cli("db", "migrate", env=env, cwd=tmp_path)
    again_pg = run_cli("db", "migrate", env=env, cwd=tmp_path)
    first_lite = run_cli("db", "migrate", "--db", str(db), cwd=tmp_path)

    assert first_pg.returncode == 0, first_pg.stderr
    assert first_pg.stdout.split()[-len(names) :] == names
    assert "applied 0 migration(s)" in again_pg.stdout
    assert first_lite.returncode == 0, first_lite.stderr
    assert f"{db}: applied {len(names)} migration(s)" in first_lite.stdout


def test_operators_see_the_copied_cases_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    db, data = tmp_path / "bot.sqlite3", tmp_path / "data"
    asyncio.run(fill(db, data))
    assert main(["db", "copy", "--from", str(db), "--to", pg_url, "--data-dir", str(data)]) == 0

    listed = run_cli(
        "cases", "list", "--json", env={"COMPLAINT_BOT_STORAGE__URL": pg_url}, cwd=tmp_path
    )

    assert listed.returncode == 0, listed.stderr
    assert sorted(c["user"] for c in json.loads(listed.stdout)) == ["telegram:42", "telegram:43"]


WECHAT = ConversationKey("wecom", "wmAlice")
KF = "wkAccountOne"
WROTE = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def message(msgid: str) -> Pulled:
    return Pulled(msgid, KF, WECHAT.user_id, {"msgtype": "text", "text": {"content": msgid}}, WROTE)


async def wechat_state(store: Store) -> tuple[Any, ...]:
    """Return all the WeChat messenger keeps about Alice, to compare two stores."""
    state = wecom_state(store)
    return (
        await state.cursor(KF),
        await state.inbox(KF),
        await state.person(WECHAT.user_id),
        await state.deferred(WECHAT.user_id),
    )


def test_copy_brings_the_wechat_messengers_state_along(tmp_path: Path, pg_url: str) -> None:
    db, data = tmp_path / "bot.sqlite3", tmp_path / "data"

    async def fill_wechat() -> None:
        store = await SqliteStore.open(db, data)
        state = wecom_state(store)
        try:
            talk = Conversation(WECHAT, f"{KF}:{WECHAT.user_id}", "zh")
            case = NewCase(
                "sms", "spam", "sms", 1, "zh", {}, [], T0, due_at=DUE,
                reminder=NewReminder("deadline", DUE),
            )  # fmt: skip
            await store.commit(StepCommit(talk, new_case=case))
            [reminder] = await store.due_reminders(DUE)
            await state.defer(reminder.id, DUE)  # her window had closed
            await state.record_page(KF, [message("m2"), message("m1")], "cursor-7")
            await state.count_sent(WECHAT.user_id, KF, 2)
            await state.save_screen(WECHAT.user_id, KF, {"buttons": [["1", "短信"]]}, [])
            await state.save_token("corp", "hash", "token", DUE, T0)
        finally:
            await store.close()

    asyncio.run(fill_wechat())

    assert main(["db", "copy", "--from", str(db), "--to", pg_url, "--data-dir", str(data)]) == 0

    async def compare() -> None:
        lite = await SqliteStore.open(db, data)
        pg = await make_postgres_store(pg_url, tmp_path / "elsewhere")
        try:
            before, after = await wechat_state(lite), await wechat_state(pg)
            assert after == before
            cursor, inbox, person, deferred = after
            assert (cursor, [m.msgid for m in inbox], person.sent) == ("cursor-7", ["m2", "m1"], 2)
            assert len(deferred) == 1
            # Messages pulled on PostgreSQL come after the copied ones.
            state = wecom_state(pg)
            assert await state.record_page(KF, [message("m3")], "cursor-8") == 1
            assert [m.msgid for m in await state.inbox(KF)] == ["m2", "m1", "m3"]
            # A token is a credential of the moment: the PostgreSQL bot fetches its own.
            assert await state.load_token("corp", "hash") is None
        finally:
            await lite.close()
            await pg.close()

    asyncio.run(compare())
