"""SQL for people and where each one is in a conversation."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from flows.model import ConversationKey
from flows.records import Conversation, Profile
from storage.db import from_iso, from_json, to_iso, to_json


@dataclass(frozen=True, slots=True)
class ConversationRow:
    """A conversation encoded for its tables, ready to write from the database thread."""

    messenger: str
    external_id: str
    chat_id: str
    language: str
    values: tuple[Any, ...]  # the conversations columns after user_id, in `_COLUMNS` order
    updated_at: str
    profile: str  # users.profile, JSON


_NAMES = ("flow_id", "flow_version", "state", "answers", "history", "turn", "draft_id", "pending")
_COLUMNS = ", ".join((*_NAMES, "updated_at"))
_UPDATES = ", ".join(f"{name} = excluded.{name}" for name in (*_NAMES, "updated_at"))


def encode(conversation: Conversation, now: str) -> ConversationRow:
    """Encode `conversation`; `now` stands in for a missing `updated_at`."""
    c = conversation
    updated_at = to_iso(c.updated_at, "conversation.updated_at") if c.updated_at else now
    values = (
        c.flow_id,
        c.flow_version,
        c.state,
        to_json(c.answers, "conversation.answers"),
        to_json(c.history, "conversation.history"),
        c.turn,
        c.draft_id,
        to_json(c.pending, "conversation.pending"),
        updated_at,
    )
    profile = {
        "name": c.profile.name,
        "phone": c.profile.phone,
        "asked": c.profile.asked,
        "address": c.profile.address,
        "postcode": c.profile.postcode,
    }
    return ConversationRow(
        c.key.messenger,
        c.key.user_id,
        c.chat_id,
        c.language,
        values,
        updated_at,
        to_json({k: v for k, v in profile.items() if v}, "conversation.profile"),
    )


def upsert_user(conn: sqlite3.Connection, row: ConversationRow) -> int:
    """Create or refresh the person behind `row`; return their user id."""
    # They are writing, so they no longer block the bot: reminders may reach them again.
    cursor = conn.execute(
        "INSERT INTO users (messenger, external_id, chat_id, language, created_at, profile)"
        " VALUES (?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (messenger, external_id)"
        " DO UPDATE SET chat_id = excluded.chat_id, language = excluded.language,"
        " profile = excluded.profile, unreachable_at = NULL"
        " RETURNING id",
        (row.messenger, row.external_id, row.chat_id, row.language, row.updated_at, row.profile),
    )
    user_id: int = cursor.fetchone()[0]
    return user_id


def user_id_of(conn: sqlite3.Connection, key: ConversationKey) -> int | None:
    """Return the user id of `key`, or None if they never wrote."""
    found = conn.execute(
        "SELECT id FROM users WHERE messenger = ? AND external_id = ?",
        (key.messenger, key.user_id),
    ).fetchone()
    return None if found is None else int(found[0])


def set_unreachable(conn: sqlite3.Connection, key: ConversationKey, since: str | None) -> None:
    """Mark the person as having blocked the bot `since` then, or (None) as reachable again."""
    # The first time they were found unreachable is kept: it says how long it has lasted.
    conn.execute(
        "UPDATE users SET unreachable_at = CASE WHEN CAST(? AS TEXT) IS NULL THEN NULL"
        " ELSE coalesce(unreachable_at, ?) END"
        " WHERE messenger = ? AND external_id = ?",
        (since, since, key.messenger, key.user_id),
    )


def draft_of(conn: sqlite3.Connection, user_id: int) -> str | None:
    """Return the draft id saved for this user before the current step."""
    found = conn.execute(
        "SELECT draft_id FROM conversations WHERE user_id = ?", (user_id,)
    ).fetchone()
    return None if found is None else found[0]


def save(conn: sqlite3.Connection, user_id: int, row: ConversationRow) -> None:
    """Write the conversation of `user_id`, replacing the one saved before."""
    conn.execute(
        f"INSERT INTO conversations (user_id, {_COLUMNS})"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        f" ON CONFLICT (user_id) DO UPDATE SET {_UPDATES}",
        (user_id, *row.values),
    )


def load(conn: sqlite3.Connection, key: ConversationKey) -> Conversation | None:
    """Return the saved conversation of `key`, or None if there is none."""
    found = conn.execute(
        f"SELECT u.chat_id, u.language, u.profile, {_COLUMNS} FROM users u"
        " JOIN conversations c ON c.user_id = u.id"
        " WHERE u.messenger = ? AND u.external_id = ?",
        (key.messenger, key.user_id),
    ).fetchone()
    if found is None:
        return None
    return Conversation(
        key=key,
        chat_id=found["chat_id"],
        language=found["language"],
        flow_id=found["flow_id"],
        flow_version=found["flow_version"],
        state=found["state"],
        answers=from_json(found["answers"]),
        history=from_json(found["history"]),
        turn=found["turn"],
        draft_id=found["draft_id"],
        pending=from_json(found["pending"]),
        updated_at=from_iso(found["updated_at"]),
        profile=profile_of(found["profile"]),
    )


def profile_of(text: str) -> Profile:
    """Return the profile stored as JSON in users.profile."""
    data = from_json(text)

    def text_of(key: str) -> str | None:
        value = data.get(key)
        return value if isinstance(value, str) else None

    return Profile(
        text_of("name"),
        text_of("phone"),
        data.get("asked") is True,
        text_of("address"),
        text_of("postcode"),
    )
