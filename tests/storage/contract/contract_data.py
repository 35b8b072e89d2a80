"""What the contract tests write: people, steps, cases and evidence, through the Protocol only."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

from flows.model import ConversationKey
from flows.ports import Store
from flows.records import (
    CaseEvent,
    Conversation,
    EvidenceRecord,
    NewCase,
    NewReminder,
    StepCommit,
)

# Opens a store on the test's database; again: on the same data, as after a restart.
Opener = Callable[[], Awaitable[Store]]

ALICE = ConversationKey("telegram", "42")
BOB = ConversationKey("telegram", "43")
CAROL = ConversationKey("console", "local")
CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=CST)
DUE = datetime(2026, 3, 16, 0, 0, tzinfo=CST)


def conversation(
    key: ConversationKey = ALICE, draft: str | None = "d1", **changes: Any
) -> Conversation:
    """Return a conversation in the middle of an intake (its evidence step)."""
    base = Conversation(
        key=key,
        chat_id=f"chat-{key.user_id}",
        language="zh",
        flow_id="spam_sms",
        flow_version=1,
        state="evidence",
        answers={"sender": "10690000"},
        history=["sender"],
        draft_id=draft,
        updated_at=T0,
    )
    return replace(base, **changes)


def new_case(at: datetime = T0, due: datetime | None = DUE) -> NewCase:
    """Return a confirmed intake, with a deadline reminder at `due` unless it is None."""
    return NewCase(
        category="spam_sms",
        problem="营销短信",
        flow_id="spam_sms",
        flow_version=1,
        language="zh",
        answers={"sender": "10690000", "内容": "贷款"},
        remedies=["stop_sending"],
        created_at=at,
        due_at=due,
        reminder=None if due is None else NewReminder("deadline", due),
    )


async def evidence(store: Store, data: bytes, draft: str = "d1") -> EvidenceRecord:
    """Put `data` and return the evidence record of it for the draft."""
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
        created_at=T0,
    )


async def file_case(
    store: Store,
    key: ConversationKey = ALICE,
    *,
    draft: str = "d1",
    at: datetime = T0,
    due: datetime | None = DUE,
    photos: tuple[bytes, ...] = (),
) -> str:
    """File a case for `key` (with its photos as evidence); return its number."""
    files = [await evidence(store, data, draft) for data in photos]
    await store.commit(
        StepCommit(conversation(key, draft), evidence=files, events=[CaseEvent("intake", at)])
    )
    number = await store.commit(
        StepCommit(conversation(key, None, state=None), new_case=new_case(at, due))
    )
    assert number is not None
    return number
