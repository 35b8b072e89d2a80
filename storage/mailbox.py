"""SQL of the messengers' inbox and outbox: updates kept before they are acknowledged, replies
kept until they are sent. The same statements run on SQLite and PostgreSQL.

An inbox row stays after it is handled (`done_at` set) for as long as `deliveries` rows are
kept, so a platform's repeat of an update is recognised here and never queued again.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from flows.model import Button, ConversationKey, Document, Reply
from flows.records import Inbound, InboxEntry, OutboxEntry
from storage.db import from_iso, to_utc_iso
from storage.deliveries import KEEP


def accept(conn: sqlite3.Connection, messenger: str, updates: Sequence[Inbound], at: str) -> int:
    """Insert the updates not seen before, in their order; return how many were new."""
    added = 0
    for update in updates:
        added += conn.execute(
            "INSERT INTO inbox (messenger, delivery_id, user_id, payload, received_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (messenger, update.delivery_id, update.user_id, json.dumps(update.payload), at),
        ).rowcount
    return added


def pending(
    conn: sqlite3.Connection,
    messenger: str,
    after: int,
    limit: int,
    user_id: str | None = None,
) -> list[InboxEntry]:
    """Return up to `limit` pending updates with an id above `after`, oldest first.

    With `user_id`, only that person's ('' for updates that came without a person).
    """
    mine = "" if user_id is None else " AND COALESCE(user_id, '') = ?"
    rows = conn.execute(
        "SELECT id, delivery_id, user_id, payload, received_at FROM inbox"
        f" WHERE messenger = ? AND done_at IS NULL AND id > ?{mine} ORDER BY id LIMIT ?",
        (messenger, after, *(() if user_id is None else (user_id,)), limit),
    ).fetchall()
    return [
        InboxEntry(int(row[0]), row[1], row[2], json.loads(row[3]), from_iso(row[4]))
        for row in rows
    ]


def finish(conn: sqlite3.Connection, messenger: str, delivery_ids: Sequence[str], at: str) -> None:
    """Mark updates handled (inside the caller's transaction)."""
    conn.executemany(
        "UPDATE inbox SET done_at = ? WHERE messenger = ? AND delivery_id = ? AND done_at IS NULL",
        [(at, messenger, delivery_id) for delivery_id in dict.fromkeys(delivery_ids)],
    )


def prune(conn: sqlite3.Connection, now: datetime) -> int:
    """Forget handled updates older than the deliveries are kept; return how many."""
    cursor = conn.execute(
        "DELETE FROM inbox WHERE done_at IS NOT NULL AND done_at < ?",
        (to_utc_iso(now - KEEP, "now"),),
    )
    return cursor.rowcount


def keep(
    conn: sqlite3.Connection,
    key: ConversationKey,
    chat_id: str,
    replies: Sequence[Reply],
    at: str,
) -> int:
    """Insert a message's replies into the outbox; return the row's id."""
    row = conn.execute(
        "INSERT INTO outbox (messenger, user_id, chat_id, replies, created_at)"
        " VALUES (?, ?, ?, ?, ?) RETURNING id",
        (key.messenger, key.user_id, chat_id, encode_replies(replies), at),
    ).fetchone()
    return int(row[0])


def unsent(
    conn: sqlite3.Connection, messenger: str, user_id: str | None = None
) -> list[OutboxEntry]:
    """Return the outbox rows of `messenger` (all, or one person's), oldest first."""
    mine = "" if user_id is None else " AND user_id = ?"
    rows = conn.execute(
        f"SELECT id, user_id, chat_id, replies FROM outbox WHERE messenger = ?{mine} ORDER BY id",
        (messenger, *(() if user_id is None else (user_id,))),
    ).fetchall()
    return [
        OutboxEntry(int(row[0]), ConversationKey(messenger, row[1]), row[2], decode_replies(row[3]))
        for row in rows
    ]


def sent(conn: sqlite3.Connection, outbox_id: int) -> None:
    """Delete an outbox row whose replies went out."""
    conn.execute("DELETE FROM outbox WHERE id = ?", (outbox_id,))


def forget(conn: sqlite3.Connection, key: ConversationKey) -> None:
    """Delete the person's inbox and outbox rows (inside the caller's transaction)."""
    # Pending ones too: what the worker has in hand runs all the same (the rows only matter
    # after a crash), and the message that asked to forget is itself one of them.
    conn.execute(
        "DELETE FROM inbox WHERE messenger = ? AND user_id = ?", (key.messenger, key.user_id)
    )
    conn.execute(
        "DELETE FROM outbox WHERE messenger = ? AND user_id = ?", (key.messenger, key.user_id)
    )


def encode_replies(replies: Sequence[Reply]) -> str:
    """Return replies as JSON; a document's bytes go along (base64), deleted with the row."""
    return json.dumps([_encode(reply) for reply in replies], ensure_ascii=False)


def decode_replies(text: str) -> tuple[Reply, ...]:
    """Return the replies `encode_replies` wrote."""
    return tuple(_decode(item) for item in json.loads(text))


def _encode(reply: Reply) -> dict[str, Any]:
    document = reply.document
    return {
        "text": reply.text,
        "buttons": [[[b.label, b.data] for b in row] for row in reply.buttons],
        "document": None
        if document is None
        else {
            "file_name": document.file_name,
            "mime_type": document.mime_type,
            "content": base64.b64encode(document.content).decode("ascii"),
        },
        "edit": reply.edit,
        "expects_text": reply.expects_text,
    }


def _decode(item: dict[str, Any]) -> Reply:
    doc = item["document"]
    return Reply(
        item["text"],
        tuple(tuple(Button(label, data) for label, data in row) for row in item["buttons"]),
        None
        if doc is None
        else Document(doc["file_name"], base64.b64decode(doc["content"]), doc["mime_type"]),
        edit=item["edit"],
        expects_text=item["expects_text"],
    )
