"""WeChat state contract: what the WeChat messenger keeps, kept alike on SQLite and PostgreSQL.

A page of pulled messages lands with its cursor or not at all; a page pulled twice adds nothing;
the inbox comes back in the order pulled; each person's 48-hour window and quota, their screen;
reminders deferred past the window are skipped by the scheduler and handed to the messenger;
forgetting a person deletes their rows; the access token outlives the process.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from contract_data import CST, DUE, Opener, file_case

from bot.messengers.wecom.state import Person, Pulled
from bot.wecom_state import StoredWecomState, wecom_state
from flows.model import ConversationKey
from flows.ports import Store

KF = "wkAccountOne"
OTHER_KF = "wkAccountTwo"
ALICE = "wmAlice"
BOB = "wmBob"
WROTE = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)


def pulled(msgid: str, person: str = ALICE, at: datetime | None = WROTE, **body: Any) -> Pulled:
    """Return a text message `person` wrote at `at` (None: an event, which opens no window)."""
    content = {"msgid": msgid, "msgtype": "text", "text": {"content": f"说 {msgid}"}, **body}
    return Pulled(msgid, KF, person, content, at)


def kept(item: Pulled) -> Pulled:
    """Return `item` as the inbox gives it back (when it was sent is kept on the person)."""
    return Pulled(item.msgid, item.open_kfid, item.external_userid, item.body)


@pytest.fixture
def state(store: Store) -> StoredWecomState:
    return wecom_state(store)


async def test_a_page_and_its_cursor_are_kept_together(
    state: StoredWecomState, opener: Opener
) -> None:
    page = [pulled("m1"), pulled("m2", BOB)]

    assert await state.cursor(KF) is None
    assert await state.record_page(KF, page, "cursor-1") == 2

    again = wecom_state(await opener())  # a restart
    assert await again.cursor(KF) == "cursor-1"
    assert await again.inbox(KF) == [kept(m) for m in page]
    assert await again.cursor(OTHER_KF) is None
    assert await again.inbox(OTHER_KF) == []


async def test_a_page_that_cannot_be_written_moves_no_cursor(state: StoredWecomState) -> None:
    await state.record_page(KF, [pulled("m1")], "cursor-1")
    broken = pulled("m3", unreadable=object())  # fails after m2 is written, in the same page

    with pytest.raises(TypeError):
        await state.record_page(KF, [pulled("m2"), broken], "cursor-2")

    assert await state.cursor(KF) == "cursor-1"
    assert [m.msgid for m in await state.inbox(KF)] == ["m1"]


async def test_a_page_recorded_twice_counts_nothing_new(state: StoredWecomState) -> None:
    page = [pulled("m1"), pulled("m2")]
    await state.record_page(KF, page, "cursor-1")
    await state.count_sent(ALICE, KF, 3)

    assert await state.record_page(KF, page, "cursor-2") == 0
    # m1 and m2 pulled again open no new window: the 3 sent since still count.
    assert (await state.person(ALICE)).sent == 3
    assert await state.record_page(KF, [pulled("m2"), pulled("m3")], "cursor-3") == 1

    assert await state.cursor(KF) == "cursor-3"
    assert [m.msgid for m in await state.inbox(KF)] == ["m1", "m2", "m3"]
    assert (await state.person(ALICE)).sent == 0  # m3 is new: 5 more messages allowed


async def test_the_inbox_comes_in_the_order_pulled_until_handled(
    state: StoredWecomState,
) -> None:
    await state.record_page(KF, [pulled("z9"), pulled("a1", BOB), pulled("m5")], "c1")
    other = Pulled("b2", OTHER_KF, ALICE, {"msgtype": "text"}, WROTE)
    await state.record_page(OTHER_KF, [other], "elsewhere")
    await state.record_page(KF, [pulled("0")], "c2")

    assert [m.msgid for m in await state.inbox(KF)] == ["z9", "a1", "m5", "0"]
    await state.handled(["a1", "0", "never-pulled"])

    assert [m.msgid for m in await state.inbox(KF)] == ["z9", "m5"]
    assert await state.inbox(OTHER_KF) == [kept(other)]
    # Handled messages are gone for good: pulled again, they count as new.
    assert await state.record_page(KF, [pulled("a1", BOB)], "c3") == 1


async def test_a_message_opens_a_window_of_five_and_sends_count_against_it(
    state: StoredWecomState,
) -> None:
    assert await state.person(ALICE) == Person(ALICE)

    await state.record_page(KF, [pulled("m1")], "c1")
    await state.count_sent(ALICE, KF, 2)
    await state.count_sent(ALICE, KF, 1)
    assert await state.person(ALICE) == Person(ALICE, KF, WROTE, 3)

    later = WROTE + timedelta(hours=1)
    await state.record_page(KF, [pulled("m2", at=later)], "c2")
    assert await state.person(ALICE) == Person(ALICE, KF, later, 0)

    # A message pulled late, written before the last one, changes neither.
    await state.count_sent(ALICE, KF, 4)
    await state.record_page(KF, [pulled("m0", at=WROTE)], "c3")
    # An event (no one wrote) opens nothing.
    await state.record_page(KF, [pulled("e1", at=None, msgtype="event")], "c4")
    assert await state.person(ALICE) == Person(ALICE, KF, later, 4)

    await state.close_window(ALICE)
    assert (await state.person(ALICE)).window_at is None
    assert (await state.person(BOB)).window_at is None


async def test_sends_to_someone_not_seen_yet_are_counted(state: StoredWecomState) -> None:
    await state.count_sent(BOB, KF, 2)

    assert await state.person(BOB) == Person(BOB, KF, None, 2)


async def test_the_screen_keeps_its_buttons_until_new_ones_come(state: StoredWecomState) -> None:
    menu = {"buttons": [["1", "短信"], ["2", "电话"]], "numbered": False}
    pages = [{"text": "还有 2 条"}, {"text": "第二页：«引号» ✓"}]

    await state.save_screen(ALICE, KF, menu, pages)
    assert (await state.person(ALICE)).menu == menu
    assert (await state.person(ALICE)).pages == pages

    await state.save_screen(ALICE, KF, None, [])  # a turn that showed no buttons
    assert (await state.person(ALICE)).menu == menu
    assert (await state.person(ALICE)).pages == []

    await state.save_screen(BOB, KF, None, pages)
    assert (await state.person(BOB)).menu == {}
    assert (await state.person(BOB)).pages == pages


async def test_a_deferred_reminder_is_skipped_by_the_scheduler_and_given_to_the_messenger(
    store: Store, state: StoredWecomState
) -> None:
    alice, bob = ConversationKey("wecom", ALICE), ConversationKey("wecom", BOB)
    number = await file_case(store, alice)
    await file_case(store, bob, draft="d2", due=DUE + timedelta(minutes=1))
    # The same id on another messenger is someone else.
    await file_case(store, ConversationKey("telegram", ALICE), draft="d3")
    later = DUE + timedelta(hours=1)
    [claimed] = await store.claim_reminders(DUE, audience=alice)

    await state.defer(claimed.id, DUE)

    # Not due for any sender, even once the claim has run out...
    assert [r.key for r in await store.due_reminders(later, audience="wecom")] == [bob]
    assert [r.key for r in await store.claim_reminders(later, audience="wecom")] == [bob]
    assert await store.next_due_at(audience=alice) is None
    # ... but still pending, waiting for Alice's next message.
    [waiting] = await state.deferred(ALICE)
    assert (waiting.id, waiting.case_number, waiting.key) == (claimed.id, number, alice)
    assert await state.deferred(BOB) == []

    # Her message came and it went out: released, never handed out again.
    assert await store.finish_reminder(waiting.id, "sent")
    assert await state.deferred(ALICE) == []
    await state.defer(waiting.id, later)  # too late: it has ended
    assert await state.deferred(ALICE) == []


async def test_deferred_reminders_come_earliest_first(
    store: Store, state: StoredWecomState
) -> None:
    alice = ConversationKey("wecom", ALICE)
    await file_case(store, alice, due=DUE + timedelta(days=1))
    await file_case(store, alice, draft="d2", due=DUE)
    for reminder in await store.due_reminders(DUE + timedelta(days=2)):
        await state.defer(reminder.id, DUE)

    assert [r.due_at for r in await state.deferred(ALICE)] == [DUE, DUE + timedelta(days=1)]


async def test_forgetting_a_person_deletes_their_wechat_rows_only(
    store: Store, state: StoredWecomState
) -> None:
    await state.record_page(KF, [pulled("a1"), pulled("b1", BOB), pulled("a2")], "c1")
    await state.save_screen(ALICE, KF, {"buttons": []}, [{"text": "待续"}])
    await state.save_screen(BOB, KF, None, [])

    await state.forget(ConversationKey("telegram", ALICE))  # not the same person
    assert len(await state.inbox(KF)) == 3

    await state.forget(ConversationKey("wecom", ALICE))

    assert [m.msgid for m in await state.inbox(KF)] == ["b1"]
    assert await state.person(ALICE) == Person(ALICE)
    assert (await state.person(BOB)).open_kfid == KF
    assert await state.cursor(KF) == "c1"  # the account's, not hers


async def test_forgetting_someone_through_the_store_deletes_their_wechat_rows(
    store: Store, state: StoredWecomState
) -> None:
    # `users forget` and /forget go through Store.forget, whichever the backend.
    alice = ConversationKey("wecom", ALICE)
    await file_case(store, alice)
    await state.record_page(KF, [pulled("a1"), pulled("b1", BOB)], "c1")

    forgotten = await store.forget(alice)

    assert forgotten is not None and forgotten.cases == 1
    assert [m.msgid for m in await state.inbox(KF)] == ["b1"]
    assert await state.person(ALICE) == Person(ALICE)
    assert (await state.person(BOB)).window_at == WROTE


async def test_the_access_token_is_kept_per_corp_and_secret(
    state: StoredWecomState, opener: Opener
) -> None:
    expires = datetime(2026, 3, 1, 11, 0, tzinfo=CST)  # read back as the same instant, in UTC
    fetched = expires - timedelta(hours=2)
    assert await state.load_token("corp", "hash-a") is None

    await state.save_token("corp", "hash-a", "token-1", expires, fetched)
    await state.save_token("corp", "hash-a", "token-2", expires + timedelta(hours=1), fetched)

    again = wecom_state(await opener())  # a restart, or another process
    assert await again.load_token("corp", "hash-a") == ("token-2", expires + timedelta(hours=1))
    assert await again.load_token("corp", "hash-b") is None  # another secret: its own token
    assert await again.load_token("other-corp", "hash-a") is None
