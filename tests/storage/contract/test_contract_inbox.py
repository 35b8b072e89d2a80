"""Store contract: the messengers' inbox (kept before acknowledged) and outbox (kept until sent)."""

from __future__ import annotations

from contract_data import ALICE, BOB, Opener, conversation

from flows.model import Button, Document, Reply
from flows.ports import Store
from flows.records import Inbound, StepCommit

TELEGRAM = "telegram"


def update(n: int, user: str = "1001") -> Inbound:
    return Inbound(f"7:{n}", user, {"update_id": n, "message": {"text": f"message {n}"}})


async def test_kept_updates_are_pending_in_the_order_they_came(store: Store) -> None:
    assert await store.accept_updates(TELEGRAM, [update(3), update(1), update(2)]) == 3

    pending = await store.pending_updates(TELEGRAM)

    assert [(p.delivery_id, p.payload["update_id"]) for p in pending] == [
        ("7:3", 3),
        ("7:1", 1),
        ("7:2", 2),
    ]
    assert [p.user_id for p in pending] == ["1001"] * 3
    later = await store.pending_updates(TELEGRAM, after=pending[0].id, limit=1)
    assert [p.delivery_id for p in later] == ["7:1"]
    assert await store.pending_updates("wecom") == []


async def test_an_update_kept_before_is_not_kept_again_pending_or_handled(store: Store) -> None:
    await store.accept_updates(TELEGRAM, [update(1), update(2)])
    await store.finish_updates(TELEGRAM, ["7:1"])

    assert await store.accept_updates(TELEGRAM, [update(1), update(2), update(3)]) == 1
    assert [p.delivery_id for p in await store.pending_updates(TELEGRAM)] == ["7:2", "7:3"]


async def test_updates_and_unsent_replies_survive_a_restart(opener: Opener) -> None:
    first = await opener()
    await first.accept_updates(TELEGRAM, [update(1), update(2)])
    letter = Document("letter.txt", b"\x00\xffbytes of a letter", "text/plain")
    replies = [
        Reply("问题 1", ((Button("是", "y:1"), Button("否", "n:1")),), expects_text=True),
        Reply("letter", document=letter, edit=True),
    ]
    kept = await first.keep_replies(ALICE, "555", replies, done=["7:1"])
    assert kept is not None
    await first.close()

    again = await opener()

    assert [p.delivery_id for p in await again.pending_updates(TELEGRAM)] == ["7:2"]
    [unsent] = await again.unsent_replies(TELEGRAM)
    assert (unsent.id, unsent.key, unsent.chat_id, unsent.replies) == (
        kept,
        ALICE,
        "555",
        tuple(replies),
    )


async def test_sent_replies_are_forgotten_and_nothing_to_keep_still_finishes(
    store: Store,
) -> None:
    await store.accept_updates(TELEGRAM, [update(1), update(2)])
    kept = await store.keep_replies(ALICE, "555", [Reply("hi")], done=["7:1"])
    assert kept is not None
    assert await store.keep_replies(BOB, "556", [], done=["7:2"]) is None

    await store.replies_sent(kept)

    assert await store.unsent_replies(TELEGRAM) == []
    assert await store.pending_updates(TELEGRAM) == []


async def test_forgetting_a_person_deletes_their_updates_and_replies(store: Store) -> None:
    await store.commit(StepCommit(conversation()))
    await store.accept_updates(TELEGRAM, [update(1, ALICE.user_id), update(2, BOB.user_id)])
    await store.keep_replies(ALICE, ALICE.user_id, [Reply("hi")], done=["7:1"])
    await store.keep_replies(BOB, BOB.user_id, [Reply("hi")], done=[])

    await store.forget(ALICE)

    assert [e.key for e in await store.unsent_replies(TELEGRAM)] == [BOB]
    assert [p.delivery_id for p in await store.pending_updates(TELEGRAM)] == ["7:2"]
    # Handled ones go too: a repeat of Alice's update is kept as new.
    assert await store.accept_updates(TELEGRAM, [update(1, ALICE.user_id)]) == 1


async def test_one_persons_pending_updates_and_unsent_replies(store: Store) -> None:
    # What a worker holding one conversation reads: that person's, in order, and no one else's.
    await store.accept_updates(
        TELEGRAM,
        [
            update(1, ALICE.user_id),
            update(2, BOB.user_id),
            update(3, ALICE.user_id),
            Inbound("7:4", None, {"update_id": 4}),
        ],
    )
    await store.keep_replies(ALICE, "555", [Reply("to alice")], done=[])
    await store.keep_replies(BOB, "556", [Reply("to bob")], done=[])

    alice = await store.pending_updates(TELEGRAM, user_id=ALICE.user_id)
    assert [p.delivery_id for p in alice] == ["7:1", "7:3"]
    later = await store.pending_updates(TELEGRAM, after=alice[0].id, user_id=ALICE.user_id)
    assert [p.delivery_id for p in later] == ["7:3"]
    assert [p.delivery_id for p in await store.pending_updates(TELEGRAM, user_id="")] == ["7:4"]
    assert await store.pending_updates(TELEGRAM, user_id="nobody") == []
    assert [
        e.replies[0].text for e in await store.unsent_replies(TELEGRAM, user_id=BOB.user_id)
    ] == ["to bob"]
    assert len(await store.unsent_replies(TELEGRAM)) == 2
