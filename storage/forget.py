"""SQL for forgetting a person: every row about them, and the files only they referenced."""

from __future__ import annotations

import sqlite3
from typing import Any

from flows.model import ConversationKey
from flows.store import Forgotten
from storage import conversations
from storage.db import from_json

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
    return [path for path in _paths_of(conn, user_id) if not _used_by_others(conn, path, user_id)]


def _paths_of(conn: sqlite3.Connection, user_id: int) -> list[str]:
    """Return the files the person's evidence and pending checked screenshots point to."""
    paths = {
        row[0]
        for row in conn.execute(
            "SELECT DISTINCT path FROM evidence WHERE user_id = ? AND path != ''", (user_id,)
        )
    }
    found = conn.execute("SELECT pending FROM conversations WHERE user_id = ?", (user_id,))
    for (pending,) in found:
        paths.update(_screenshot_paths(from_json(pending)))
    return sorted(paths)


def _screenshot_paths(pending: Any) -> list[str]:
    """Return the files of checked screenshots waiting in a conversation's scratch."""
    check = pending.get("check") if isinstance(pending, dict) else None
    items = check.get("items") if isinstance(check, dict) else None
    paths = []
    for item in items if isinstance(items, list) else []:
        image = item.get("image") if isinstance(item, dict) else None
        if isinstance(image, dict) and isinstance(image.get("path"), str):
            paths.append(image["path"])
    return paths


def _used_by_others(conn: sqlite3.Connection, path: str, user_id: int) -> bool:
    """Return True when someone else's evidence or pending check uses the file too."""
    if conn.execute(
        "SELECT 1 FROM evidence WHERE path = ? AND user_id != ? LIMIT 1", (path, user_id)
    ).fetchone():
        return True
    # A checked screenshot lives only in its conversation's JSON scratch until it is filed.
    found = conn.execute(
        "SELECT 1 FROM conversations WHERE user_id != ? AND instr(pending, ?) > 0 LIMIT 1",
        (user_id, path),
    ).fetchone()
    return found is not None
