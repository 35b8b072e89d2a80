"""A message delivered twice has its effect once: its first write records its delivery ids.

Telegram repeats an update when a webhook call failed, or after a crash in polling mode when the
update was fetched but not yet confirmed. The channel gives each message the ids of its updates
(`Incoming.deliveries`); the first write the message causes — a step's commit or a change to a
case, wherever in the engine it is made — records them in the same transaction. A redelivered
copy is then recognised before it is handled, or at the latest when its own first write finds
the ids taken, and rolled back. The engine stays ignorant of what the ids mean.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace

from flows.model import ConversationKey
from flows.ports import Store
from flows.records import (
    BlobRef,
    CaseChange,
    CaseRecord,
    CaseSummary,
    Conversation,
    Deliveries,
    Forgotten,
    StepCommit,
)


@dataclass(slots=True)
class _Receipt:
    deliveries: Deliveries
    recorded: bool = False


# The message being handled in this task (each message is handled in its own task or in turn).
_current: ContextVar[_Receipt | None] = ContextVar("current_delivery", default=None)


@contextmanager
def delivering(deliveries: Deliveries | None) -> Iterator[_Receipt | None]:
    """Attach the delivery ids of the message being handled to the first write it causes."""
    receipt = _Receipt(deliveries) if deliveries and deliveries.ids else None
    token = _current.set(receipt)
    try:
        yield receipt
    finally:
        _current.reset(token)


class OnceStore:
    """The engine's view of its Store: the first write of a message records its deliveries."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner

    async def load_conversation(self, key: ConversationKey) -> Conversation | None:
        """Return the saved conversation of this person, or None if they never wrote."""
        return await self.inner.load_conversation(key)

    async def commit(self, step: StepCommit) -> str | None:
        """Write one step, with the message's deliveries if it is the message's first write."""
        receipt = _current.get()
        if receipt is not None and not receipt.recorded:
            step = replace(step, deliveries=receipt.deliveries)
        number = await self.inner.commit(step)
        if receipt is not None:
            receipt.recorded = True
        return number

    async def change_case(self, change: CaseChange) -> bool:
        """Apply a lifecycle step, with the message's deliveries if it is its first write."""
        receipt = _current.get()
        if receipt is not None and not receipt.recorded:
            change = replace(change, deliveries=receipt.deliveries)
        applied = await self.inner.change_case(change)
        if applied and receipt is not None:
            receipt.recorded = True
        return applied

    async def reminder_sent(self, reminder_id: int, changes: Sequence[CaseChange]) -> bool:
        """End a reminder as sent with its record on the case (no message's deliveries)."""
        return await self.inner.reminder_sent(reminder_id, changes)

    async def handled(self, deliveries: Deliveries) -> bool:
        """Return True when every one of these deliveries was recorded as handled."""
        return await self.inner.handled(deliveries)

    async def mark_handled(self, deliveries: Deliveries) -> None:
        """Record deliveries as handled (for a message that changed nothing else)."""
        await self.inner.mark_handled(deliveries)

    async def put_blob(self, data: bytes) -> BlobRef:
        """Store bytes content-addressed (idempotent) and return where they are."""
        return await self.inner.put_blob(data)

    async def forget(self, key: ConversationKey) -> Forgotten | None:
        """Delete everything about this person (the engine then records the delivery)."""
        return await self.inner.forget(key)

    async def list_cases(self, key: ConversationKey) -> list[CaseSummary]:
        """Return this person's cases, newest first."""
        return await self.inner.list_cases(key)

    async def get_case(self, key: ConversationKey, number: str) -> CaseRecord | None:
        """Return the case if it exists AND belongs to this person, else None."""
        return await self.inner.get_case(key, number)
