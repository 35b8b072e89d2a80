"""PostgresStore on a real PostgreSQL server (127.0.0.1, started by the tests): what must persist.

The behaviours every backend shares belong in the contract suite; these are the ones that are
PostgreSQL's own or that matter most there: a step is all or nothing, a redelivered update is
refused even by a second process, owner-only reads, forgetting removes the evidence bytes too,
reminders claimed by two processes at once go to one of them, and the migrations.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg
import pytest
from pg_server import make_postgres_store

from flows.errors import AlreadyHandled
from flows.model import ConversationKey
from flows.records import (
    CaseChange,
    CaseEvent,
    Conversation,
    Deliveries,
    EvidenceRecord,
    NewCase,
    NewReminder,
    StepCommit,
)
from storage import StorageError
from storage.blobs import relative_path
from storage.migrations import MIGRATIONS as SQLITE_MIGRATIONS
from storage.postgres import PostgresStore
from storage.postgres.migrations import MIGRATIONS
from storage.postgres.store import LEASE, migrate

KEY = ConversationKey("telegram", "42")
OTHER = ConversationKey("telegram", "43")
CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 11, 23, 10, 0, tzinfo=CST)
DUE = datetime(2026, 12, 9, 0, 0, tzinfo=CST)


@pytest.fixture
async def store(pg_url: str, tmp_path: Path) -> AsyncIterator[PostgresStore]:
    opened = await make_postgres_store(pg_url, tmp_path / "data")
    yield opened
    await opened.close()


def count(url: str, table: str) -> int:
    with psycopg.connect(url) as conn:
        found = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    assert found is not None
    return int(found[0])


def conversation(key: ConversationKey = KEY, draft: str | None = "d1") -> Conversation:
    return Conversation(
        key=key, chat_id=f"chat-{key.user_id}", language="zh", state="evidence", draft_id=draft
    )


def new_case(due: datetime | None = DUE, at: datetime = T0) -> NewCase:
    return NewCase(
        category="sms",
        problem="spam",
        flow_id="sms",
        flow_version=1,
        language="zh",
        answers={"sender": "10690000", "内容": "贷款 ¥5万"},
        remedies=["stop_sending"],
        created_at=at,
        due_at=due,
        reminder=None if due is None else NewReminder("deadline", due),
    )


async def photo(store: PostgresStore, data: bytes, draft: str = "d1") -> EvidenceRecord:
    ref = await store.put_blob(data)
    return EvidenceRecord(
        draft_id=draft,
        step="screenshots",
        kind="photo",
        sha256=ref.sha256,
        path=ref.path,
        size=ref.size,
        created_at=T0,
    )


async def file_case(
    store: PostgresStore, key: ConversationKey = KEY, draft: str = "d1", due: datetime = DUE
) -> str:
    evidence = [await photo(store, f"screenshot of {key.user_id} {draft}".encode(), draft)]
    await store.commit(StepCommit(conversation(key, draft), evidence=evidence))
    number = await store.commit(
        StepCommit(conversation(key, None), new_case=new_case(due), events=[CaseEvent("filed", T0)])
    )
    assert number is not None
    return number


async def test_a_filed_case_reads_back_whole_with_its_evidence_bytes(store: PostgresStore) -> None:
    number = await file_case(store)

    case = await store.get_case(KEY, number)
    assert case is not None
    assert (case.state, case.answers["内容"], case.due_at) == ("waiting", "贷款 ¥5万", DUE)
    assert [e.kind for e in case.events] == ["filed"]
    [evidence] = case.evidence
    stored = await store.read_blob(evidence.path)
    assert stored == b"screenshot of 42 d1"
    assert hashlib.sha256(stored).hexdigest() == evidence.sha256
    assert [c.number for c in await store.list_cases(KEY)] == [number]


async def test_the_same_bytes_are_stored_once(store: PostgresStore, pg_url: str) -> None:
    first = await store.put_blob(b"same")
    second = await store.put_blob(b"same")

    assert first == second
    assert count(pg_url, "blobs") == 1


async def test_a_failing_step_writes_nothing(store: PostgresStore, pg_url: str) -> None:
    # Refuse the last insert of the step, after the person, conversation, evidence and events.
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql"
            " AS $$ BEGIN RAISE EXCEPTION 'boom'; END $$"
        )
        conn.execute("CREATE TRIGGER refuse BEFORE INSERT ON cases EXECUTE FUNCTION refuse()")
    step = StepCommit(
        conversation(),
        evidence=[await photo(store, b"photo")],
        events=[CaseEvent("filed", T0)],
        new_case=new_case(),
    )

    with pytest.raises(StorageError, match="boom"):
        await store.commit(step)

    for table in ("users", "conversations", "evidence", "events", "cases", "reminders"):
        assert count(pg_url, table) == 0, table
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("DROP TRIGGER refuse ON cases")
    assert await store.commit(step) is not None


async def test_a_redelivered_update_is_refused_even_by_another_process(
    store: PostgresStore, pg_url: str, tmp_path: Path
) -> None:
    second = await make_postgres_store(pg_url, tmp_path / "data")
    try:
        update = Deliveries("telegram", ("7:1001",))
        await store.commit(StepCommit(conversation(), deliveries=update))

        assert await second.handled(update)
        with pytest.raises(AlreadyHandled):
            await second.commit(StepCommit(conversation(draft="changed"), deliveries=update))
        saved = await store.load_conversation(KEY)
        assert saved is not None and saved.draft_id == "d1"
        # A burst that joins the handled update with a new one goes ahead.
        await second.commit(
            StepCommit(
                conversation(draft="d2"), deliveries=Deliveries("telegram", ("7:1001", "7:1002"))
            )
        )
        assert count(pg_url, "deliveries") == 2
    finally:
        await second.close()


async def test_the_same_update_handled_by_two_processes_at_once_counts_once(
    store: PostgresStore, pg_url: str, tmp_path: Path
) -> None:
    second = await make_postgres_store(pg_url, tmp_path / "data")
    try:
        update = Deliveries("telegram", ("7:2001",))
        steps = [
            s.commit(StepCommit(conversation(), new_case=new_case(), deliveries=update))
            for s in (store, second)
        ]
        results = await asyncio.gather(*steps, return_exceptions=True)

        assert sorted(type(r).__name__ for r in results) == ["AlreadyHandled", "str"]
        assert count(pg_url, "cases") == 1
    finally:
        await second.close()


async def test_a_case_is_for_its_owner_only(store: PostgresStore) -> None:
    await store.commit(StepCommit(conversation(OTHER)))
    number = await file_case(store)

    assert await store.get_case(OTHER, number) is None
    assert await store.get_case(KEY, number.lower()) is not None
    assert await store.list_cases(OTHER) == []
    found = await store.find_case(number)
    assert found is not None and found.user == "telegram:42"
    assert not await store.change_case(CaseChange(number, owner=OTHER, state="resolved"))
    assert await store.change_case(CaseChange(number, owner=KEY, state="resolved", rating=5))
    case = await store.get_case(KEY, number)
    assert case is not None and (case.state, case.rating) == ("resolved", 5)


async def test_forgetting_deletes_the_rows_and_the_bytes_only_they_used(
    store: PostgresStore, pg_url: str
) -> None:
    mine = await file_case(store)
    shared = await photo(store, b"sent by both", draft="d1")
    await store.commit(StepCommit(conversation(), evidence=[shared]))
    await store.commit(
        StepCommit(
            conversation(OTHER, "o1"), evidence=[await photo(store, b"sent by both", draft="o1")]
        )
    )
    preview = await store.forget_preview(KEY)

    forgotten = await store.forget(KEY)

    assert forgotten == preview
    assert forgotten is not None and (forgotten.cases, forgotten.files) == (1, 1)
    assert await store.find_case(mine) is None
    assert await store.load_conversation(KEY) is None
    with pytest.raises(FileNotFoundError):
        await store.read_blob(relative_path(hashlib.sha256(b"screenshot of 42 d1").hexdigest()))
    assert await store.read_blob(shared.path) == b"sent by both"  # the other person's too
    assert count(pg_url, "blobs") == 1
    assert await store.forget(KEY) is None


async def test_discarding_a_draft_deletes_bytes_nobody_else_uses(store: PostgresStore) -> None:
    gone = await photo(store, b"only in the draft")
    await store.commit(StepCommit(conversation(), evidence=[gone]))

    await store.commit(StepCommit(conversation(draft=None), discard_draft="d1"))

    with pytest.raises(FileNotFoundError):
        await store.read_blob(gone.path)


async def test_two_processes_claiming_due_reminders_never_get_the_same_one(
    store: PostgresStore, pg_url: str, tmp_path: Path
) -> None:
    numbers = {await file_case(store, ConversationKey("telegram", str(i))) for i in range(40)}
    second = await make_postgres_store(pg_url, tmp_path / "data")
    try:
        now = DUE + timedelta(hours=1)
        claimed: list[list[str]] = [[], []]

        async def claimer(which: int, s: PostgresStore) -> None:
            for _ in range(20):  # bounded: a claim that hands out the same rows never runs dry
                batch = await s.claim_reminders(now, 3)
                if not batch:
                    return
                claimed[which] += [r.case_number for r in batch]

        await asyncio.gather(claimer(0, store), claimer(1, second), claimer(0, store))

        everything = claimed[0] + claimed[1]
        assert sorted(everything) == sorted(numbers)  # each once, none lost
        assert claimed[1], "the second process got none: the test did not race"
        # Claimed reminders are nobody else's to send until the lease runs out.
        assert await store.due_reminders(now) == []
        assert await store.next_due_at() == now + LEASE
        assert len(await store.claim_reminders(now + LEASE)) == 40
    finally:
        await second.close()


async def test_a_retried_reminder_is_due_again_at_its_new_time(store: PostgresStore) -> None:
    await file_case(store)
    now = DUE + timedelta(minutes=1)
    [reminder] = await store.claim_reminders(now)
    retry_at = now + timedelta(seconds=30)

    assert await store.retry_reminder(reminder.id, retry_at)

    assert await store.next_due_at() == retry_at
    [again] = await store.claim_reminders(retry_at)
    assert again.attempts == 1
    assert await store.finish_reminder(again.id, "sent")
    assert await store.claim_reminders(retry_at + LEASE) == []
    assert await store.pending_reminders() == []


async def test_migrations_match_sqlites_and_run_once(pg_url: str) -> None:
    assert [m.__name__ for m in MIGRATIONS] == [m.__name__ for m in SQLITE_MIGRATIONS]
    names = [m.__name__ for m in MIGRATIONS]

    assert await asyncio.to_thread(migrate, pg_url) == names
    assert await asyncio.to_thread(migrate, pg_url) == []

    with psycopg.connect(pg_url) as conn:
        recorded = conn.execute("SELECT id, name FROM migrations ORDER BY id").fetchall()
    assert recorded == list(enumerate(names, 1))


async def test_a_database_from_a_newer_version_is_refused(pg_url: str) -> None:
    await asyncio.to_thread(migrate, pg_url)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("INSERT INTO migrations VALUES (99, 'm099_future', '2030-01-01')")

    with pytest.raises(StorageError, match=r"found \[99\]"):
        await asyncio.to_thread(migrate, pg_url)


async def test_an_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    url = "postgresql://bot:secret@127.0.0.1:1/none"

    with pytest.raises(StorageError, match=r"storage\.url: cannot use") as raised:
        await PostgresStore.open(url, tmp_path)

    assert "secret" not in str(raised.value)


async def test_a_closed_store_says_so(store: PostgresStore) -> None:
    await store.close()
    await store.close()

    with pytest.raises(StorageError, match="closed"):
        await store.load_conversation(KEY)


async def test_a_deferred_reminder_is_neither_due_nor_claimed(
    store: PostgresStore, pg_url: str
) -> None:
    # WeChat defers a reminder whose person's window is closed: it waits for their next message.
    await file_case(store)
    later = DUE + timedelta(hours=1)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("UPDATE reminders SET deferred_at = '2026-01-01T00:00:00.000000Z'")

    assert await store.due_reminders(later) == []
    assert await store.claim_reminders(later) == []
    assert await store.next_due_at() is None
    assert len(await store.pending_reminders()) == 1  # still pending, not failed
