"""Store contract: reminders fall due, are claimed once, end once; unreachable people."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from contract_data import ALICE, BOB, CAROL, DUE, conversation, file_case

from flows.ports import Store
from flows.records import CaseChange, CaseEvent, NewReminder, StepCommit

LEASE = timedelta(minutes=5)


async def test_a_reminder_falls_due_at_its_moment_with_what_reaching_them_takes(
    store: Store,
) -> None:
    number = await file_case(store)

    assert await store.due_reminders(DUE - timedelta(seconds=1)) == []
    assert await store.next_due_at() == DUE
    [reminder] = await store.due_reminders(DUE)
    assert (reminder.case_number, reminder.key, reminder.kind, reminder.due_at) == (
        number,
        ALICE,
        "deadline",
        DUE,
    )
    assert (reminder.chat_id, reminder.language, reminder.attempts) == ("chat-42", "zh", 0)
    assert not reminder.unreachable
    assert await store.pending_reminders() == [reminder]


async def test_due_reminders_come_earliest_first_for_their_audience(store: Store) -> None:
    await file_case(store, BOB, due=DUE + timedelta(hours=1))
    await file_case(store, ALICE, due=DUE)
    await file_case(store, CAROL, due=DUE - timedelta(days=1))
    later = DUE + timedelta(days=1)

    everyone = await store.due_reminders(later)
    assert [r.key for r in everyone] == [CAROL, ALICE, BOB]
    assert [r.key for r in await store.due_reminders(later, 2)] == [CAROL, ALICE]
    assert [r.key for r in await store.due_reminders(later, audience="telegram")] == [ALICE, BOB]
    assert [r.key for r in await store.due_reminders(later, audience=BOB)] == [BOB]
    assert await store.due_reminders(later, audience="wechat") == []
    assert await store.next_due_at(audience="telegram") == DUE
    assert await store.next_due_at(audience=CAROL) == DUE - timedelta(days=1)
    assert await store.next_due_at(audience="wechat") is None
    assert [r.key for r in await store.pending_reminders(1)] == [CAROL]


async def test_a_claimed_reminder_is_not_claimed_again_until_its_lease_runs_out(
    store: Store,
) -> None:
    await file_case(store, ALICE)
    await file_case(store, BOB, due=DUE + timedelta(minutes=1))
    now = DUE + timedelta(minutes=2)

    first = await store.claim_reminders(now, 1, lease=LEASE)
    second = await store.claim_reminders(now, 10, lease=LEASE)
    assert [r.key for r in first] == [ALICE]
    assert [r.key for r in second] == [BOB]
    assert await store.claim_reminders(now + LEASE - timedelta(seconds=1), lease=LEASE) == []
    # The sender died: after the lease they are due to whoever claims next.
    again = await store.claim_reminders(now + LEASE + timedelta(seconds=1), lease=LEASE)
    assert [r.key for r in again] == [ALICE, BOB]


async def test_two_senders_claiming_at_once_share_the_reminders(store: Store) -> None:
    people = [ALICE, BOB, CAROL]
    for key in people:
        await file_case(store, key)

    claims = await asyncio.gather(*(store.claim_reminders(DUE, lease=LEASE) for _ in range(4)))

    ids = [r.id for claim in claims for r in claim]
    assert len(ids) == len(set(ids)) == 3


async def test_a_released_reminder_is_due_again_at_once(store: Store) -> None:
    await file_case(store)
    [claimed] = await store.claim_reminders(DUE, lease=LEASE)

    await store.release_reminder(claimed.id)

    assert await store.claim_reminders(DUE, lease=LEASE) == [claimed]


async def test_a_reminder_ends_once_and_a_claim_ends_with_it(store: Store) -> None:
    await file_case(store)
    [reminder] = await store.claim_reminders(DUE, lease=LEASE)

    assert await store.finish_reminder(reminder.id, "failed")
    assert not await store.finish_reminder(reminder.id, "undeliverable")
    assert not await store.finish_reminder(reminder.id, "sent")
    assert await store.due_reminders(DUE + LEASE * 2) == []
    assert await store.pending_reminders() == []
    assert await store.next_due_at() is None
    with pytest.raises(ValueError, match="status"):
        await store.finish_reminder(reminder.id, "pending")


async def test_a_reminder_cancelled_on_its_way_still_ends_sent(store: Store) -> None:
    number = await file_case(store)
    [reminder] = await store.claim_reminders(DUE, lease=LEASE)
    # The person resolves the case while the reminder is on its way.
    resolved = CaseChange(number, ALICE, state="resolved", clear_due=True, cancel_reminders=True)
    assert await store.change_case(resolved)

    assert await store.finish_reminder(reminder.id, "sent")
    assert not await store.finish_reminder(reminder.id, "sent")


async def test_a_cancelled_reminder_is_not_due_and_does_not_end_otherwise(store: Store) -> None:
    number = await file_case(store)
    [reminder] = await store.due_reminders(DUE)
    closed = CaseChange(number, ALICE, state="closed", clear_due=True, cancel_reminders=True)
    assert await store.change_case(closed)

    assert await store.due_reminders(DUE) == []
    assert await store.claim_reminders(DUE, lease=LEASE) == []
    assert not await store.finish_reminder(reminder.id, "failed")


async def test_a_lifecycle_step_replaces_the_pending_reminder(store: Store) -> None:
    number = await file_case(store)
    snooze_at = DUE + timedelta(days=3)
    snoozed = CaseChange(
        number,
        ALICE,
        state="follow_up",
        cancel_reminders=True,
        reminder=NewReminder("snooze", snooze_at),
        events=[CaseEvent("snoozed", DUE)],
    )
    assert await store.change_case(snoozed)

    assert await store.due_reminders(snooze_at - timedelta(seconds=1)) == []
    [reminder] = await store.due_reminders(snooze_at)
    assert (reminder.kind, reminder.due_at) == ("snooze", snooze_at)


async def test_a_retry_counts_the_attempt_and_puts_it_off(store: Store) -> None:
    await file_case(store)
    [claimed] = await store.claim_reminders(DUE, lease=LEASE)
    retry_at = DUE + timedelta(minutes=1)

    assert await store.retry_reminder(claimed.id, retry_at)

    assert await store.claim_reminders(retry_at - timedelta(seconds=1), lease=LEASE) == []
    [again] = await store.claim_reminders(retry_at, lease=LEASE)  # the claim ended with it
    assert (again.id, again.attempts, again.due_at) == (claimed.id, 1, retry_at)
    assert await store.finish_reminder(again.id, "sent")
    assert not await store.retry_reminder(again.id, retry_at)


async def test_a_person_who_blocked_the_bot_is_unreachable_until_they_write(
    store: Store,
) -> None:
    await file_case(store)
    await file_case(store, BOB)

    await store.set_unreachable(ALICE, True)
    assert [(r.key, r.unreachable) for r in await store.due_reminders(DUE)] == [
        (ALICE, True),
        (BOB, False),
    ]
    await store.set_unreachable(ALICE, False)
    assert not any(r.unreachable for r in await store.due_reminders(DUE))
    await store.set_unreachable(ALICE, True)
    await store.commit(StepCommit(conversation(state=None, draft=None)))  # they write again
    assert not any(r.unreachable for r in await store.due_reminders(DUE))


async def test_a_sent_reminder_is_recorded_on_its_case_once(store: Store) -> None:
    number = await file_case(store)
    [reminder] = await store.claim_reminders(DUE, lease=LEASE)
    case = await store.get_case(ALICE, number)
    assert case is not None
    moved = CaseChange(
        number,
        None,
        expect_states=frozenset({case.state}),
        state="follow_up",
        events=[CaseEvent("reminded", DUE)],
    )
    only_event = CaseChange(number, None, events=[CaseEvent("reminded", DUE)])

    assert await store.reminder_sent(reminder.id, [moved, only_event])
    # Sent again after a crash between the send and this record: nothing is recorded twice.
    assert not await store.reminder_sent(reminder.id, [moved, only_event])
    after = await store.get_case(ALICE, number)
    assert after is not None and after.state == "follow_up"
    assert [e.kind for e in after.events].count("reminded") == 1
    assert await store.pending_reminders() == []
    assert not await store.finish_reminder(reminder.id, "sent")


async def test_a_sent_reminder_whose_case_moved_on_records_only_the_event(store: Store) -> None:
    number = await file_case(store)
    [reminder] = await store.claim_reminders(DUE, lease=LEASE)
    stale = CaseChange(
        number,
        None,
        expect_states=frozenset({"no_such_state"}),
        state="follow_up",
        events=[CaseEvent("reminded", DUE)],
    )
    only_event = CaseChange(number, None, events=[CaseEvent("reminded", DUE)])

    assert await store.reminder_sent(reminder.id, [stale, only_event])
    after = await store.get_case(ALICE, number)
    assert after is not None and after.state != "follow_up"
    assert [e.kind for e in after.events].count("reminded") == 1
    assert await store.pending_reminders() == []
