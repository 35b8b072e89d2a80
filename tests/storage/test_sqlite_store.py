"""SqliteStore against a real SQLite file: conversations, commits, filing, discarding, access."""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from flows.model import ConversationKey
from flows.records import CaseEvent, Conversation, EvidenceRecord, NewCase, StepCommit
from storage import SqliteStore, StorageError, case_numbers

KEY = ConversationKey("telegram", "42")
OTHER = ConversationKey("telegram", "43")
CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=CST)


def conversation(
    key: ConversationKey = KEY, draft: str | None = "d1", **changes: Any
) -> Conversation:
    base = Conversation(
        key=key,
        chat_id=f"chat-{key.user_id}",
        language="zh",
        flow_id="spam_sms",
        flow_version=1,
        state="evidence",
        draft_id=draft,
        updated_at=T0,
    )
    return replace(base, **changes)


def new_case(at: datetime = T0, category: str = "spam_sms") -> NewCase:
    return NewCase(
        category=category,
        problem="营销短信",
        flow_id="spam_sms",
        flow_version=1,
        language="zh",
        answers={"sender": "10690000", "内容": "贷款"},
        remedies=["12321", "carrier"],
        created_at=at,
    )


async def evidence(
    store: SqliteStore, data: bytes, draft: str = "d1", at: datetime = T0
) -> EvidenceRecord:
    ref = await store.put_blob(data)
    return EvidenceRecord(
        draft_id=draft,
        step="screenshots",
        kind="photo",
        sha256=ref.sha256,
        path=ref.path,
        size=ref.size,
        file_id=f"file-{ref.sha256[:6]}",
        file_unique_id=f"uniq-{ref.sha256[:6]}",
        created_at=at,
    )


async def file_case(
    store: SqliteStore, key: ConversationKey = KEY, draft: str = "d1", at: datetime = T0
) -> str:
    number = await store.commit(
        StepCommit(conversation(key, draft, state=None), new_case=new_case(at))
    )
    assert number is not None
    return number


def count(raw: sqlite3.Connection, table: str, where: str = "1") -> int:
    return int(raw.execute(f"SELECT count(*) FROM {table} WHERE {where}").fetchone()[0])


# Conversations


async def test_unknown_person_has_no_conversation(store: SqliteStore) -> None:
    assert await store.load_conversation(KEY) is None


async def test_conversation_round_trips_every_field(
    store: SqliteStore, raw: sqlite3.Connection
) -> None:
    saved = conversation(
        answers={"内容": "【某某贷】您的额度 ¥50,000\u200b已到账 😀", "amount": 12.5, "ok": None},
        history=["category", "sender", "内容"],
        turn=7,
        pending={"album": ["a", "b"], "nested": {"depth": [1, 2, {"三": 3}]}},
    )

    await store.commit(StepCommit(saved))

    assert await store.load_conversation(KEY) == saved
    stored = raw.execute("SELECT answers FROM conversations").fetchone()[0]
    assert "【某某贷】" in stored and "😀" in stored  # kept as text, not \\u escapes


async def test_saving_again_replaces_the_conversation_and_refreshes_the_person(
    store: SqliteStore, raw: sqlite3.Connection
) -> None:
    await store.commit(StepCommit(conversation()))
    later = conversation(
        chat_id="new-chat",
        language="en",
        state=None,
        flow_id=None,
        flow_version=None,
        draft_id=None,
        updated_at=T0 + timedelta(minutes=5),
    )

    await store.commit(StepCommit(later))

    assert await store.load_conversation(KEY) == later
    assert count(raw, "users") == 1
    assert count(raw, "conversations") == 1


async def test_missing_updated_at_is_stamped(store: SqliteStore) -> None:
    await store.commit(StepCommit(conversation(updated_at=None)))

    loaded = await store.load_conversation(KEY)
    assert loaded is not None and loaded.updated_at is not None
    assert abs(loaded.updated_at - datetime.now(UTC)) < timedelta(minutes=1)


# Commits with evidence and events


async def test_commit_writes_evidence_and_events_of_the_draft(
    store: SqliteStore, raw: sqlite3.Connection
) -> None:
    photo = await evidence(store, b"photo")
    step = StepCommit(
        conversation(),
        evidence=[photo],
        events=[CaseEvent("evidence_added", T0, {"count": 1, "说明": "截图"})],
    )

    assert await store.commit(step) is None

    row = raw.execute("SELECT * FROM evidence").fetchone()
    assert (row["draft_id"], row["sha256"], row["case_id"]) == ("d1", photo.sha256, None)
    event = raw.execute("SELECT * FROM events").fetchone()
    assert (event["draft_id"], event["kind"], event["data"]) == (
        "d1",
        "evidence_added",
        '{"count": 1, "说明": "截图"}',
    )


async def test_same_file_in_the_same_draft_is_stored_once(
    store: SqliteStore, raw: sqlite3.Connection
) -> None:
    photo = await evidence(store, b"redelivered")
    await store.commit(StepCommit(conversation(), evidence=[photo, photo]))
    await store.commit(StepCommit(conversation(), evidence=[replace(photo, file_id="again")]))
    other_draft = await evidence(store, b"redelivered", draft="d2")
    await store.commit(StepCommit(conversation(draft="d2"), evidence=[other_draft]))

    assert count(raw, "evidence", "draft_id = 'd1'") == 1
    assert raw.execute("SELECT file_id FROM evidence WHERE draft_id = 'd1'").fetchone()[0] == (
        photo.file_id
    )
    assert count(raw, "evidence", "draft_id = 'd2'") == 1


# Filing


async def test_filing_numbers_cases_and_ties_the_draft_to_them(store: SqliteStore) -> None:
    first_photo = await evidence(store, b"first", at=T0)
    second_photo = await evidence(store, b"second", at=T0 + timedelta(seconds=1))
    await store.commit(
        StepCommit(
            conversation(),
            evidence=[second_photo, first_photo],
            events=[CaseEvent("intake_started", T0)],
        )
    )
    filed_at = T0 + timedelta(minutes=3)

    number = await store.commit(
        StepCommit(
            conversation(state=None),
            events=[CaseEvent("case_filed", filed_at)],
            new_case=new_case(filed_at),
        )
    )

    assert number is not None and case_numbers.NEW.fullmatch(number)
    case = await store.get_case(KEY, number)
    assert case is not None
    assert (case.user, case.state, case.flow) == ("telegram:42", "waiting", "spam_sms@1")
    assert case.answers == {"sender": "10690000", "内容": "贷款"}
    assert case.remedies == ["12321", "carrier"]
    assert case.created_at == case.updated_at == filed_at
    assert case.evidence == [first_photo, second_photo]  # by time, whatever the insert order
    assert [e.kind for e in case.events] == ["intake_started", "case_filed"]
    assert await file_case(store, OTHER, draft="d9") not in (number, None)


async def test_filing_after_the_engine_cleared_the_draft_uses_the_saved_one(
    store: SqliteStore,
) -> None:
    photo = await evidence(store, b"kept")
    await store.commit(StepCommit(conversation(), evidence=[photo]))

    number = await store.commit(
        StepCommit(
            conversation(draft=None, state=None),
            events=[CaseEvent("case_filed", T0)],
            new_case=new_case(),
        )
    )

    case = await store.get_case(KEY, number or "")
    assert case is not None
    assert case.evidence == [photo]
    assert [e.kind for e in case.events] == ["case_filed"]


async def test_case_numbers_carry_their_year_and_nothing_of_the_count(
    store: SqliteStore,
) -> None:
    in_2027 = datetime(2027, 1, 1, 0, 5, tzinfo=CST)

    numbers = [
        await file_case(store, draft="a", at=T0),
        await file_case(store, draft="b", at=T0),
        await file_case(store, draft="c", at=in_2027),
        await file_case(store, draft="d", at=T0),
    ]

    found = [case_numbers.NEW.fullmatch(n) for n in numbers]
    assert [m[1] if m else None for m in found] == ["2026", "2026", "2027", "2026"]
    assert all(case_numbers.well_formed(n) for n in numbers)
    assert len({n[-6:] for n in numbers}) == 4  # no 000001, 000002...


async def test_concurrent_filings_get_distinct_numbers(store: SqliteStore) -> None:
    keys = [ConversationKey("telegram", str(n)) for n in range(20)]

    numbers = await asyncio.gather(*(file_case(store, k, draft=f"d{k.user_id}") for k in keys))

    assert len(set(numbers)) == 20 and all(case_numbers.well_formed(n) for n in numbers)


async def test_a_number_already_taken_is_drawn_again(
    store: SqliteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await file_case(store, draft="a")
    drawn = iter([first, first, "TS-2026-K7M4Q" + case_numbers.check_character("K7M4Q")])
    monkeypatch.setattr(case_numbers, "new_number", lambda year: next(drawn))

    second = await file_case(store, OTHER, draft="b")

    assert second == "TS-2026-K7M4Q" + case_numbers.check_character("K7M4Q") != first
    found = await store.find_case(first)
    assert found is not None and found.user == "telegram:42"


async def test_numbers_are_found_typed_in_any_case_and_old_ones_still_are(
    store: SqliteStore, raw: sqlite3.Connection
) -> None:
    number = await file_case(store)
    # A case numbered the old way, before numbers were random.
    raw.execute("UPDATE cases SET number = 'TS-2026-000123' WHERE number = ?", (number,))
    raw.commit()
    for typed in ("TS-2026-000123", "ts-2026-000123", "  TS-2026-000123 "):
        case = await store.get_case(KEY, typed)
        assert case is not None and case.number == "TS-2026-000123", typed
    new = await file_case(store, draft="d2")
    for typed in (new, new.lower(), f" {new.lower()} ", new.replace("-", "－"), "\u200b" + new):
        case = await store.get_case(KEY, typed)
        assert case is not None and case.number == new, typed


def test_the_check_character_catches_one_mistyped_or_swapped_character() -> None:
    number = "TS-2026-K7M4Q" + case_numbers.check_character("K7M4Q")
    assert case_numbers.well_formed(number)
    tail = number[-6:]
    typos = [
        tail[:i] + symbol + tail[i + 1 :]
        for i in range(6)
        for symbol in case_numbers.ALPHABET
        if symbol != tail[i]
    ]
    swaps = [tail[:i] + tail[i + 1] + tail[i] + tail[i + 2 :] for i in range(5)]
    assert len(typos) == 6 * 28
    assert not any(case_numbers.well_formed(number[:-6] + wrong) for wrong in typos + swaps)


# Discarding a draft


async def test_discarding_a_draft_drops_its_rows_and_unused_files(
    store: SqliteStore, raw: sqlite3.Connection
) -> None:
    only_here = await evidence(store, b"only in the discarded draft", draft="gone")
    shared_with_case = await evidence(store, b"also filed", draft="gone")
    shared_with_draft = await evidence(store, b"also in another draft", draft="gone")
    await store.commit(
        StepCommit(
            conversation(draft="gone"),
            evidence=[only_here, shared_with_case, shared_with_draft],
            events=[CaseEvent("intake_started", T0)],
        )
    )
    other = conversation(OTHER, draft="kept")
    await store.commit(
        StepCommit(
            other,
            evidence=[
                await evidence(store, b"also filed", draft="kept"),
                await evidence(store, b"also in another draft", draft="kept"),
            ],
        )
    )
    await store.commit(StepCommit(other, new_case=new_case()))
    await store.commit(
        StepCommit(
            conversation(OTHER, draft="open"),
            evidence=[await evidence(store, b"also in another draft", draft="open")],
        )
    )

    await store.commit(
        StepCommit(
            conversation(draft=None, state=None),
            events=[CaseEvent("intake_cancelled", T0)],
            discard_draft="gone",
        )
    )

    assert count(raw, "evidence", "draft_id = 'gone'") == 0
    assert count(raw, "events", "draft_id = 'gone'") == 0
    assert count(raw, "events", "kind = 'intake_cancelled'") == 1
    assert not (store.data_dir / only_here.path).exists()
    assert (store.data_dir / shared_with_case.path).read_bytes() == b"also filed"
    assert (store.data_dir / shared_with_draft.path).exists()
    assert count(raw, "evidence", "draft_id IN ('kept', 'open')") == 3


async def test_discarding_a_filed_draft_keeps_the_case_whole(store: SqliteStore) -> None:
    photo = await evidence(store, b"filed photo")
    await store.commit(StepCommit(conversation(), evidence=[photo]))
    number = await file_case(store)

    await store.commit(StepCommit(conversation(draft=None), discard_draft="d1"))

    case = await store.get_case(KEY, number)
    assert case is not None and case.evidence == [photo]
    assert (store.data_dir / photo.path).exists()


async def test_a_file_put_for_a_step_not_yet_committed_survives_a_discard(
    store: SqliteStore,
) -> None:
    old = await evidence(store, b"sent twice", draft="old")
    await store.commit(StepCommit(conversation(draft="old"), evidence=[old]))
    # Another person's step has stored the same bytes but not committed yet.
    in_flight = await evidence(store, b"sent twice", draft="new")

    await store.commit(StepCommit(conversation(draft=None), discard_draft="old"))

    assert (store.data_dir / in_flight.path).exists()


# Reading cases back


async def test_get_case_is_for_its_owner_only(store: SqliteStore) -> None:
    await store.commit(StepCommit(conversation(OTHER)))  # the other person exists too
    number = await file_case(store)

    assert await store.get_case(KEY, number) is not None
    assert await store.get_case(OTHER, number) is None
    assert await store.get_case(OTHER, "TS-2026-999999") is None
    assert await store.get_case(ConversationKey("wechat", "42"), number) is None
    found = await store.find_case(number)
    assert found is not None and found.user == "telegram:42"
    assert await store.find_case("TS-2026-999999") is None


async def test_list_cases_is_newest_first_across_time_zones(store: SqliteStore) -> None:
    utc_noon = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    # 19:00 at +08:00 is 11:00 UTC: earlier, although its text sorts later.
    beijing_evening = datetime(2026, 5, 1, 19, 0, tzinfo=CST)
    a = await file_case(store, draft="a", at=T0)
    b = await file_case(store, draft="b", at=utc_noon)
    c = await file_case(store, draft="c", at=beijing_evening)
    await file_case(store, OTHER, draft="x", at=utc_noon + timedelta(days=1))

    mine = await store.list_cases(KEY)

    assert [case.number for case in mine] == [b, c, a]
    assert [c.created_at for c in mine] == [utc_noon, beijing_evening, T0]
    assert (mine[0].category, mine[0].problem, mine[0].state) == ("spam_sms", "营销短信", "waiting")
    assert await store.list_cases(ConversationKey("telegram", "nobody")) == []


async def test_list_all_cases_for_operators(store: SqliteStore) -> None:
    first = await file_case(store, draft="a")
    second = await file_case(store, OTHER, draft="b", at=T0 + timedelta(hours=1))

    everyone = await store.list_all_cases()
    only_other = await store.list_all_cases("telegram:43")

    assert [c.number for c in everyone] == [second, first]
    assert [c.user for c in only_other] == ["telegram:43"]
    assert await store.list_all_cases("telegram:unknown") == []
    with pytest.raises(ValueError, match="expected 'messenger:user_id', got 'telegram'"):
        await store.list_all_cases("telegram")


# Failures and durability


async def test_a_failing_commit_leaves_nothing_half_written(
    store: SqliteStore, raw: sqlite3.Connection
) -> None:
    # Fail at the very last insert, after the user, conversation, evidence, events and the
    # counter were already written inside the transaction.
    raw.execute(
        "CREATE TRIGGER refuse_cases BEFORE INSERT ON cases BEGIN SELECT RAISE(ABORT, 'boom'); END"
    )
    step = StepCommit(
        conversation(),
        evidence=[await evidence(store, b"photo")],
        events=[CaseEvent("case_filed", T0)],
        new_case=new_case(),
    )

    with pytest.raises(StorageError, match="boom"):
        await store.commit(step)

    for table in ("users", "conversations", "evidence", "events", "cases", "case_counters"):
        assert count(raw, table) == 0, table
    raw.execute("DROP TRIGGER refuse_cases")
    assert case_numbers.well_formed(await store.commit(step) or "")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"updated_at": datetime(2026, 1, 1)},
            "conversation.updated_at: expected a timezone-aware",
        ),
        ({"answers": {"when": T0}}, "conversation.answers: expected JSON-serialisable"),
    ],
)
async def test_bad_data_is_refused_before_anything_is_written(
    store: SqliteStore, raw: sqlite3.Connection, change: dict[str, Any], message: str
) -> None:
    with pytest.raises(StorageError, match=message):
        await store.commit(StepCommit(conversation(**change)))

    assert count(raw, "users") == 0


async def test_everything_survives_closing_and_reopening(
    store: SqliteStore, db_path: Path, data_dir: Path
) -> None:
    photo = await evidence(store, b"durable")
    await store.commit(StepCommit(conversation(), evidence=[photo]))
    number = await file_case(store)
    saved = conversation(state="done", turn=3, answers={"a": "b"})
    await store.commit(StepCommit(saved))
    await store.close()

    reopened = await SqliteStore.open(db_path, data_dir)
    try:
        assert await reopened.load_conversation(KEY) == saved
        case = await reopened.get_case(KEY, number)
        assert case is not None and case.evidence == [photo]
        assert (reopened.data_dir / photo.path).read_bytes() == b"durable"
        assert await file_case(reopened, draft="d2") != number
    finally:
        await reopened.close()


async def test_a_closed_store_says_so(store: SqliteStore) -> None:
    await store.close()
    await store.close()

    with pytest.raises(StorageError, match="closed"):
        await store.load_conversation(KEY)
