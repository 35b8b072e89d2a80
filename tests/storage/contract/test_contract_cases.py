"""Store contract: filed cases for their owner only, lifecycle steps, numbers, order, operators."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from contract_data import ALICE, BOB, CST, DUE, T0, conversation, file_case

from flows.errors import StorageError
from flows.model import ConversationKey
from flows.ports import Store
from flows.records import CaseChange, CaseEvent, Deliveries, NewReminder, StepCommit

LATER = DUE + timedelta(hours=9)


def escalation(number: str, owner: ConversationKey | None = ALICE) -> CaseChange:
    """Return the step "no answer: up one rung", drawn while the case was waiting."""
    return CaseChange(
        number=number,
        owner=owner,
        expect_states=frozenset({"waiting"}),
        state="escalated",
        rung=1,
        due_at=LATER + timedelta(days=30),
        events=[CaseEvent("escalated", LATER, {"channel": "miit_12300"})],
        cancel_reminders=True,
        reminder=NewReminder("deadline", LATER + timedelta(days=30)),
    )


async def test_a_case_is_shown_to_its_owner_only(store: Store) -> None:
    await store.commit(StepCommit(conversation(BOB)))
    number = await file_case(store)

    assert await store.get_case(BOB, number) is None
    assert await store.get_case(ConversationKey("wechat", ALICE.user_id), number) is None
    assert await store.list_cases(BOB) == []
    case = await store.get_case(ALICE, number)
    assert case is not None and (case.number, case.user) == (number, "telegram:42")
    assert (case.state, case.rung, case.due_at) == ("waiting", 0, DUE)


async def test_only_the_owner_moves_a_case_and_a_second_press_changes_nothing(
    store: Store,
) -> None:
    number = await file_case(store)

    assert not await store.change_case(escalation(number, owner=BOB))
    assert not await store.change_case(escalation("TS-2026-AAAAAA"))
    assert await store.change_case(escalation(number))
    assert not await store.change_case(escalation(number))  # no longer waiting

    case = await store.get_case(ALICE, number)
    assert case is not None
    assert (case.state, case.rung, case.due_at) == ("escalated", 1, LATER + timedelta(days=30))
    assert case.updated_at == LATER
    assert [(e.kind, e.data) for e in case.events] == [
        ("intake", {}),
        ("escalated", {"channel": "miit_12300"}),
    ]


async def test_a_step_that_does_not_apply_records_nothing(store: Store) -> None:
    number = await file_case(store)
    press = Deliveries("telegram", ("press-1",))

    assert not await store.change_case(replace(escalation(number, owner=BOB), deliveries=press))
    assert not await store.handled(press)
    assert await store.change_case(replace(escalation(number), deliveries=press))
    assert await store.handled(press)


async def test_resolving_clears_the_deadline_and_keeps_rating_and_comment(store: Store) -> None:
    number = await file_case(store)
    resolved = CaseChange(
        number,
        ALICE,
        state="resolved",
        clear_due=True,
        cancel_reminders=True,
        events=[CaseEvent("resolved", LATER)],
    )
    assert await store.change_case(resolved)
    rated = CaseChange(number, ALICE, expect_states=frozenset({"resolved"}), rating=4)
    assert await store.change_case(rated)
    assert await store.change_case(CaseChange(number, ALICE, comment="已停止发送"))

    case = await store.get_case(ALICE, number)
    assert case is not None
    assert (case.state, case.due_at, case.rating, case.comment) == (
        "resolved",
        None,
        4,
        "已停止发送",
    )
    assert await store.due_reminders(LATER) == []


@pytest.mark.parametrize(
    "change",
    [
        {"rating": 9},
        {"rating": 0},
        {"due_at": LATER, "clear_due": True},
        {"due_at": datetime(2026, 4, 1)},  # no time zone
    ],
)
async def test_a_bad_step_is_refused_and_writes_nothing(store: Store, change: dict) -> None:
    number = await file_case(store)

    with pytest.raises(StorageError):
        await store.change_case(CaseChange(number, ALICE, state="closed", **change))

    case = await store.get_case(ALICE, number)
    assert case is not None and (case.state, case.rating, case.due_at) == ("waiting", None, DUE)


async def test_case_numbers_are_distinct_even_when_filed_at_once(store: Store) -> None:
    people = [ConversationKey("telegram", str(i)) for i in range(20)]

    numbers = await asyncio.gather(*(file_case(store, key) for key in people))

    assert len(set(numbers)) == 20
    assert all(number.startswith("TS-2026-") for number in numbers)
    for key, number in zip(people, numbers, strict=True):
        assert await store.get_case(key, number) is not None


async def test_cases_are_listed_newest_first_whatever_the_time_zone(store: Store) -> None:
    utc_noon = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    beijing_evening = datetime(2026, 5, 1, 19, 0, tzinfo=CST)  # 11:00 UTC: earlier
    a = await file_case(store, draft="a", at=T0)
    b = await file_case(store, draft="b", at=utc_noon)
    c = await file_case(store, draft="c", at=beijing_evening)
    d = await file_case(store, BOB, draft="x", at=utc_noon + timedelta(days=1))

    mine = await store.list_cases(ALICE)

    assert [case.number for case in mine] == [b, c, a]
    assert [case.created_at for case in mine] == [utc_noon, beijing_evening, T0]
    assert (mine[0].category, mine[0].problem, mine[0].state, mine[0].due_at) == (
        "spam_sms",
        "营销短信",
        "waiting",
        DUE,
    )
    assert [case.number for case in await store.list_all_cases()] == [d, b, c, a]


async def test_operators_find_any_case_and_list_one_persons(store: Store) -> None:
    mine = await file_case(store, photos=(b"screenshot",))
    theirs = await file_case(store, BOB, at=T0 + timedelta(hours=1))

    found = await store.find_case(mine.lower())  # typed in any case
    assert found is not None and found.user == "telegram:42"
    assert [await store.read_blob(e.path) for e in found.evidence] == [b"screenshot"]
    assert await store.find_case("TS-2026-AAAAAA") is None
    assert [c.number for c in await store.list_all_cases("telegram:43")] == [theirs]
    assert await store.list_all_cases("telegram:nobody") == []
    with pytest.raises(ValueError, match="messenger:user_id"):
        await store.list_all_cases("telegram")
    owner = await store.load_conversation(ALICE)  # for the letters' details in an export
    assert owner is not None and owner.profile == conversation().profile
