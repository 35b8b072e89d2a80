"""SQL for forgetting a person: every row about them, and the files only they referenced."""

from __future__ import annotations

import sqlite3

import storage.conversations as conversations
import storage.mailbox as mailbox
import storage.screenshots as screenshots
import storage.wecom as wecom
from flows.model import ConversationKey
from flows.records import Forgotten

# What one person owns, counted the same way for the preview and for the deletion.
_COUNTS = {
    "conversations": "SELECT count(*) FROM conversations WHERE user_id = ?",
    "cases": "SELECT count(*) FROM cases WHERE user_id = ?",
    "evidence": "SELECT count(*) FROM evidence WHERE user_id = ?",
    "events": "SELECT count(*) FROM events WHERE user_id = ?",
    "reminders": (
        "SELECT count(*) FROM reminders WHERE case_id IN (SELECT id FROM cases WHERE user_id = ?)"
    ),
}

# Children before parents: evidence, events and cases reference users without a cascade.
_DELETES = (
    "DELETE FROM evidence WHERE user_id = ?",
    "DELETE FROM events WHERE user_id = ?",
    "DELETE FROM reminders WHERE case_id IN (SELECT id FROM cases WHERE user_id = ?)",
    "DELETE FROM cases WHERE user_id = ?",
    "DELETE FROM conversations WHERE user_id = ?",
    "DELETE FROM users WHERE id = ?",
)


def count(conn: sqlite3.Connection, key: ConversationKey) -> Forgotten | None:
    """Return what forgetting `key` would delete, or None if they never wrote."""
    user_id = conversations.user_id_of(conn, key)
    if user_id is None:
        return None
    return _count(conn, user_id, files=len(_own_files(conn, user_id)))


def delete(conn: sqlite3.Connection, key: ConversationKey) -> tuple[Forgotten | None, list[str]]:
    """Delete every row about `key`; return the counts and the files nobody else references.

    Runs inside the caller's transaction; the files are the caller's to delete after it commits.
    A file is content-addressed, so the same screenshot sent by someone else stays.
    """
    wecom.forget(conn, key)  # the WeChat messenger's rows, kept even before a first step
    mailbox.forget(conn, key)  # the updates and replies in flight, kept the same way
    user_id = conversations.user_id_of(conn, key)
    if user_id is None:
        return None, []
    orphans = _own_files(conn, user_id)
    counted = _count(conn, user_id, files=len(orphans))
    for statement in _DELETES:
        conn.execute(statement, (user_id,))
    return counted, orphans


def _count(conn: sqlite3.Connection, user_id: int, files: int) -> Forgotten:
    counts = {name: conn.execute(sql, (user_id,)).fetchone()[0] for name, sql in _COUNTS.items()}
    return Forgotten(**counts, files=files)


def _own_files(conn: sqlite3.Connection, user_id: int) -> list[str]:
    """Return the person's files that nobody else references (content-addressed: shared)."""
    return [p for p in _paths_of(conn, user_id) if not screenshots.used(conn, p, besides=user_id)]


def _paths_of(conn: sqlite3.Connection, user_id: int) -> list[str]:
    """Return the files the person's evidence and pending checked screenshots point to."""
    paths = {
        row[0]
        for row in conn.execute(
            "SELECT DISTINCT path FROM evidence WHERE user_id = ? AND path != ''", (user_id,)
        )
    }
    paths.update(screenshots.waiting_for(conn, user_id))
    return sorted(paths)
