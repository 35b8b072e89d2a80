"""Lifecycle steps and reminders on a real SQLite file: guards, cancelling, the due query."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from flows.model import ConversationKey
from flows.records import CaseChange, CaseEvent, Conversation, NewCase, NewReminder, StepCommit
from storage import SqliteStore, StorageError
from storage.db import connect, run_sync
from storage.migrations import apply_migrations, m001_initial, migrate
from storage.reminders import DUE_QUERY, NEXT_DUE_QUERY

KEY = ConversationKey("telegram", "42")
OTHER = ConversationKey("telegram", "43")
CONSOLE = ConversationKey("console", "local")
CST = timezone(timedelta(hours=8))
FILED = datetime(2026, 11, 23, 10, 0, tzinfo=CST)
DUE = datetime(2026, 12, 9, 0, 0, tzinfo=CST)  # midnight after the 15th day


async def file_case(
    store: SqliteStore,
    key: ConversationKey = KEY,
    due: datetime | None = DUE,
    at: datetime = FILED,
) -> str:
    conversation = Conversation(key=key, chat_id=f"chat-{key.user_id}", language="zh")
    reminder = None if due is None else NewReminder("deadline", due)
    case = NewCase(
        category="sms",
        problem="spam",
        flow_id="sms",
        flow_version=1,
        language="zh",
        answers={"carrier": "mobile"},
        remedies=["stop_sending"],
        created_at=at,
        due_at=due,
        reminder=reminder,
    )
    number = await store.commit(StepCommit(conversation, new_case=case))
    assert number is not None
    return number


def rows(raw: sqlite3.Connection, number: str) -> list[tuple[str, str, str]]:
    return [
        (r["kind"], r["status"], r["due_at"])
        for r in raw.execute(
            "SELECT r.kind, r.status, r.due_at FROM reminders r JOIN cases c ON c.id = r.case_id"
            " WHERE c.number = ? ORDER BY r.id",
            (number,),
        )
    ]


async def test_filing_writes_the_deadline_and_its_reminder_in_utc(
    store: SqliteStore, raw: sqlite3.Connection
) -> None:
    number = await file_case(store)

    case = await store.get_case(KEY, number)
    assert case is not None
    assert (case.state, case.rung, case.due_at) == ("waiting", 0, DUE)
    # Stored as fixed-width UTC text, so text order is time order and the index can compare.
    assert rows(raw, number) == [("deadline", "pending", "2026-12-08T16:00:00.000000+00:00")]


async def test_due_reminders_are_the_pending_ones_up_to_now_earliest_first(
    store: SqliteStore,
) -> None:
    late = await file_case(store, due=DUE + timedelta(days=1))
    early = await file_case(store, OTHER, due=DUE)
    await file_case(store, due=None)

    assert await store.due_reminders(DUE - timedelta(seconds=1)) == []
    due = await store.due_reminders(DUE + timedelta(days=2))
    assert [(r.case_number, r.key, r.chat_id, r.kind) for r in due] == [
        (early, OTHER, "chat-43", "deadline"),
        (late, KEY, "chat-42", "deadline"),
    ]
    assert [r.case_number for r in await store.due_reminders(DUE + timedelta(days=2), 1)] == [early]
    assert await store.next_due_at() == DUE


async def test_an_audience_keeps_messengers_and_people_apart(store: SqliteStore) -> None:
    telegram = await file_case(store, due=DUE)
    console = await file_case(store, CONSOLE, due=DUE - timedelta(days=1))
    later = DUE + timedelta(days=1)

    assert [r.case_number for r in await store.due_reminders(later, audience="telegram")] == [
        telegram
    ]
    assert [r.case_number for r in await store.due_reminders(later, audience=CONSOLE)] == [console]
    assert await store.due_reminders(later, audience=ConversationKey("console", "other")) == []
    assert await store.next_due_at(audience="telegram") == DUE
    assert await store.next_due_at(audience=CONSOLE) == DUE - timedelta(days=1)
    assert await store.next_due_at(audience="wechat") is None


async def test_a_change_applies_only_for_the_owner_and_the_expected_state(
    store: SqliteStore, raw: sqlite3.Connection
) -> None:
    number = await file_case(store)
    at = DUE + timedelta(hours=9)
    step = CaseChange(
        number=number,
        owner=KEY,
        expect_states=frozenset({"waiting", "follow_up"}),
        state="escalated",
        rung=1,
        due_at=at + timedelta(days=30),
        events=[CaseEvent("escalated", at, {"channel": "miit_12300"})],
        cancel_reminders=True,
        reminder=NewReminder("deadline", at + timedelta(days=30)),
    )

    assert not await store.change_case(CaseChange(**{**_fields(step), "owner": OTHER}))
    assert not await store.change_case(CaseChange(**{**_fields(step), "number": "TS-2026-999"}))
    assert await store.change_case(step)
    # The same press again: the case is no longer in a state the button was drawn for.
    assert not await store.change_case(step)

    case = await store.get_case(KEY, number)
    assert case is not None
    assert (case.state, case.rung, case.due_at) == ("escalated", 1, at + timedelta(days=30))
    assert case.updated_at == at
    assert [(e.kind, e.data) for e in case.events] == [("escalated", {"channel": "miit_12300"})]
    assert [(kind, status) for kind, status, _ in rows(raw, number)] == [
        ("deadline", "cancelled"),
        ("deadline", "pending"),
    ]


async def test_resolving_clears_the_deadline_and_keeps_the_rating(
    store: SqliteStore, raw: sqlite3.Connection
) -> None:
    number = await file_case(store)
    [reminder] = await store.due_reminders(DUE)
    resolved = CaseChange(
        number=number,
        owner=None,  # the engine's step for the reminder that went out
        state="resolved",
        clear_due=True,
        rating=4,
        comment="客服三天后回电，已停止发送",
        cancel_reminders=True,
        events=[CaseEvent("resolved", DUE)],
    )
    assert await store.change_case(resolved)
    assert await store.finish_reminder(reminder.id, "sent")  # the scheduler, once it went out

    case = await store.get_case(KEY, number)
    assert case is not None
    assert (case.state, case.due_at, case.rating, case.comment) == (
        "resolved",
        None,
        4,
        "客服三天后回电，已停止发送",
    )
    # The reminder that went out ends `sent`, even though the step cancelled what was pending.
    assert [status for _, status, _ in rows(raw, number)] == ["sent"]
    assert await store.next_due_at() is None


async def test_a_bad_rating_is_refused_before_anything_is_written(
    store: SqliteStore, raw: sqlite3.Connection
) -> None:
    number = await file_case(store)
    with pytest.raises(StorageError, match="rating: expected 1 to 5"):
        await store.change_case(CaseChange(number=number, owner=KEY, rating=9))
    assert raw.execute("SELECT rating FROM cases").fetchone()[0] is None


async def test_finish_retry_and_unreachable(store: SqliteStore, raw: sqlite3.Connection) -> None:
    number = await file_case(store)
    [reminder] = await store.due_reminders(DUE)

    retry_at = DUE + timedelta(minutes=1)
    assert await store.retry_reminder(reminder.id, retry_at)
    assert await store.due_reminders(DUE) == []
    [again] = await store.due_reminders(retry_at)
    assert again.attempts == 1

    await store.set_unreachable(KEY, True)
    [blocked] = await store.due_reminders(retry_at)
    assert blocked.unreachable
    assert await store.finish_reminder(reminder.id, "undeliverable")
    assert not await store.finish_reminder(reminder.id, "sent")  # only a pending one ends
    assert [status for _, status, _ in rows(raw, number)] == ["undeliverable"]

    # Writing to the bot again makes them reachable.
    await store.commit(StepCommit(Conversation(key=KEY, chat_id="chat-42", language="zh")))
    assert (
        raw.execute("SELECT unreachable_at FROM users WHERE external_id = '42'").fetchone()[0]
        is None
    )


async def test_the_due_query_is_answered_by_the_partial_index(raw: sqlite3.Connection) -> None:
    plan = " ".join(
        row["detail"]
        for row in raw.execute(
            f"EXPLAIN QUERY PLAN {DUE_QUERY}", ("2026-12-09", None, None, None, None, 100)
        )
    )
    assert "USING INDEX reminders_due" in plan, plan
    assert "SCAN r" not in plan, plan
    plan = " ".join(
        row["detail"] for row in raw.execute(f"EXPLAIN QUERY PLAN {NEXT_DUE_QUERY}", (None,) * 4)
    )
    assert "reminders_due" in plan, plan


async def test_migrating_an_old_database_turns_filed_cases_into_waiting(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    conn = await connect(path)
    try:
        await run_sync(conn, lambda c: apply_migrations(c, [m001_initial]))
        await conn.execute(
            "INSERT INTO users (messenger, external_id, chat_id, language, created_at)"
            " VALUES ('telegram', '42', '42', 'zh', '2026-01-01T00:00:00+00:00')"
        )
        await conn.execute(
            "INSERT INTO cases (number, user_id, category, problem, state, flow_id,"
            " flow_version, language, answers, remedies, created_at, updated_at)"
            " VALUES ('TS-2026-000001', 1, 'sms', 'spam', 'filed', 'sms', 1, 'zh', '{}', '[]',"
            " '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00')"
        )
        await conn.commit()
        # m002 runs first; later migrations follow it.
        assert (await migrate(conn))[:1] == ["m002_deadlines_and_reminders"]
        found = await conn.execute_fetchall("SELECT state, rung, due_at FROM cases")
        assert [tuple(r) for r in found] == [("waiting", 0, None)]
    finally:
        await conn.close()


def _fields(change: CaseChange) -> dict[str, object]:
    return {name: getattr(change, name) for name in CaseChange.__dataclass_fields__}
