"""Store contract: conversations, whole steps in one write, deliveries, blobs, durability."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from contract_data import ALICE, BOB, T0, Opener, conversation, evidence, file_case, new_case

from flows.errors import AlreadyHandled, StorageError
from flows.ports import Store
from flows.records import CaseEvent, Deliveries, StepCommit

TELEGRAM = "telegram"


async def test_a_person_who_never_wrote_has_no_conversation(store: Store) -> None:
    assert await store.load_conversation(ALICE) is None


async def test_a_step_saves_the_conversation_as_it_was_given(store: Store) -> None:
    saved = conversation(turn=3, pending={"comment_for": "X"}, answers={"a": ["b", 1]})
    await store.commit(StepCommit(saved))

    assert await store.load_conversation(ALICE) == saved
    assert await store.load_conversation(BOB) is None


async def test_a_later_step_replaces_the_conversation(store: Store) -> None:
    await store.commit(StepCommit(conversation()))
    later = conversation(state=None, draft=None, answers={})
    await store.commit(StepCommit(later))

    assert await store.load_conversation(ALICE) == later


async def test_bad_data_is_refused_and_nothing_of_the_step_is_written(store: Store) -> None:
    await store.commit(StepCommit(conversation(state="sender")))
    photo = await evidence(store, b"photo of a bad step")
    bad = StepCommit(
        conversation(state="confirm"),
        evidence=[photo],
        events=[CaseEvent("intake", T0)],
        new_case=replace(new_case(), answers={"when": T0}),  # a datetime is not JSON
    )

    with pytest.raises(StorageError):
        await store.commit(bad)

    saved = await store.load_conversation(ALICE)
    assert saved is not None and saved.state == "sender"
    assert await store.list_cases(ALICE) == []


async def test_a_message_delivered_again_writes_nothing(store: Store) -> None:
    first = Deliveries(TELEGRAM, ("update-1",))
    assert not await store.handled(first)
    await store.commit(StepCommit(conversation(state="sender"), deliveries=first))
    assert await store.handled(first)

    again = StepCommit(conversation(state="confirm"), new_case=new_case(), deliveries=first)
    with pytest.raises(AlreadyHandled):
        await store.commit(again)

    saved = await store.load_conversation(ALICE)
    assert saved is not None and saved.state == "sender"
    assert await store.list_cases(ALICE) == []


async def test_a_burst_with_one_new_update_goes_ahead(store: Store) -> None:
    await store.commit(StepCommit(conversation(), deliveries=Deliveries(TELEGRAM, ("u1",))))
    burst = Deliveries(TELEGRAM, ("u1", "u2"))

    await store.commit(StepCommit(conversation(state="confirm"), deliveries=burst))

    assert await store.handled(burst)
    saved = await store.load_conversation(ALICE)
    assert saved is not None and saved.state == "confirm"


async def test_deliveries_are_per_messenger_and_marked_without_a_step(store: Store) -> None:
    on_telegram = Deliveries(TELEGRAM, ("7",))
    on_wechat = Deliveries("wechat", ("7",))
    await store.mark_handled(on_telegram)

    assert await store.handled(on_telegram)
    assert not await store.handled(on_wechat)
    assert not await store.handled(Deliveries(TELEGRAM, ("7", "8")))
    with pytest.raises(AlreadyHandled):
        await store.commit(StepCommit(conversation(), deliveries=on_telegram))
    assert await store.load_conversation(ALICE) is None


async def test_two_copies_of_one_message_at_once_have_their_effect_once(store: Store) -> None:
    copy = Deliveries(TELEGRAM, ("twice",))

    async def file_once() -> str | None:
        step = StepCommit(conversation(state=None), new_case=new_case(), deliveries=copy)
        try:
            return await store.commit(step)
        except AlreadyHandled:
            return None

    filed = await asyncio.gather(file_once(), file_once())

    assert sum(number is not None for number in filed) == 1
    assert len(await store.list_cases(ALICE)) == 1


async def test_a_blob_is_stored_once_and_read_back(store: Store) -> None:
    first = await store.put_blob(b"the same screenshot")
    second = await store.put_blob(b"the same screenshot")
    other = await store.put_blob(b"another one")

    assert first == second
    assert first.size == len(b"the same screenshot") and len(first.sha256) == 64
    assert other.path != first.path
    assert await store.read_blob(first.path) == b"the same screenshot"


async def test_evidence_and_events_of_the_draft_go_with_the_filed_case(store: Store) -> None:
    number = await file_case(store, photos=(b"one", b"two"))

    case = await store.get_case(ALICE, number)
    assert case is not None
    assert [await store.read_blob(e.path) for e in case.evidence] == [b"one", b"two"]
    assert [e.kind for e in case.events] == ["intake"]
    assert case.answers == {"sender": "10690000", "内容": "贷款"}


async def test_everything_survives_closing_and_opening_again(store: Store, opener: Opener) -> None:
    number = await file_case(store, photos=(b"durable",))
    saved = conversation(state="done", draft="d2", turn=4)
    await store.commit(StepCommit(saved))
    await store.close()
    await store.close()  # twice is fine

    with pytest.raises(StorageError, match="closed"):
        await store.load_conversation(ALICE)
    reopened = await opener()
    assert await reopened.load_conversation(ALICE) == saved
    case = await reopened.get_case(ALICE, number)
    assert case is not None
    assert await reopened.read_blob(case.evidence[0].path) == b"durable"
