"""One step's rows, written in one order by every backend (SQLite and PostgreSQL alike).

Order: the discarded draft goes first, so a "cancelled" event written by the same step
survives; a filed case takes the draft of the conversation, or the one saved before this step
when the engine cleared it. The caller owns the transaction, the delivery ids and what happens
to files no row refers to any more.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

import storage.cases as cases
import storage.conversations as conversations
import storage.events as events
import storage.evidence as evidence
import storage.screenshots as screenshots
from flows.records import StepCommit


@dataclass(frozen=True, slots=True)
class EncodedStep:
    """A step's records as rows, encoded before the transaction (bad data never reaches it)."""

    person: conversations.ConversationRow
    files: list[evidence.Row]
    timeline: list[events.Row]
    new_case: cases.CaseRow | None
    discard: str | None
    draft: str | None


@dataclass(frozen=True, slots=True)
class Written:
    """What writing a step did: the case number filed, and the files it touched."""

    number: str | None
    dropped: list[str]  # files the step stopped referring to (a discarded draft, screenshots)
    newly: list[str]  # checked screenshots the conversation now refers to


def encode(step: StepCommit, now: str) -> EncodedStep:
    """Encode `step`'s records as rows, timestamped `now` (ISO, UTC)."""
    return EncodedStep(
        person=conversations.encode(step.conversation, now),
        files=evidence.encode(step.evidence, now),
        timeline=events.encode(step.events),
        new_case=cases.encode(step.new_case) if step.new_case else None,
        discard=step.discard_draft,
        draft=step.conversation.draft_id,
    )


def write(conn: sqlite3.Connection, step: EncodedStep) -> Written:
    """Write the step's rows on `conn`, inside the caller's transaction."""
    user_id = conversations.upsert_user(conn, step.person)
    draft = step.draft
    if step.new_case is not None and draft is None:
        draft = conversations.draft_of(conn, user_id)
    dropped: list[str] = []
    if step.discard is not None:
        dropped = evidence.discard_draft(conn, step.discard)
        events.discard_draft(conn, step.discard)
    waiting = screenshots.waiting_for(conn, user_id)
    conversations.save(conn, user_id, step.person)
    now_waiting = screenshots.waiting_for(conn, user_id)
    dropped += [path for path in waiting if path not in now_waiting]
    newly = [path for path in now_waiting if path not in waiting]
    evidence.insert(conn, user_id, step.files)
    events.insert(conn, user_id, draft, step.timeline)
    number = None
    if step.new_case is not None:
        number = cases.new_number(conn, step.new_case.year)
        case_id = cases.insert(conn, user_id, number, step.new_case)
        if draft is not None:
            evidence.attach_to_case(conn, draft, case_id)
            events.attach_to_case(conn, draft, case_id)
    return Written(number, dropped, newly)
