"""SQL for reminders: follow-ups of a case that fall due at a moment and are sent once.

Every `due_at`, stored or compared against, is text from `to_utc_iso`: UTC at a fixed width,
so `due_at <= ?` is a comparison in time that the partial index `reminders_due` can answer.
Queries over pending rows say `status = 'pending'` literally, or SQLite cannot use that index.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

from flows.model import ConversationKey
from flows.records import NewReminder, Reminder
from storage.db import from_iso, to_utc_iso

# How a reminder can end; it starts `pending`, and only a pending one ends.
ENDINGS = ("sent", "undeliverable", "failed", "cancelled")


@dataclass(frozen=True, slots=True)
class ReminderRow:
    """A new reminder encoded for its table, ready to write from the database thread."""

    kind: str
    due_at: str
    created_at: str


def encode(reminder: NewReminder, created_at: datetime, what: str) -> ReminderRow:
    """Encode `reminder`, written at `created_at`; `what` names it in errors."""
    return ReminderRow(
        reminder.kind,
        to_utc_iso(reminder.due_at, f"{what}.due_at"),
        to_utc_iso(created_at, f"{what}.created_at"),
    )


def check_ending(status: str) -> None:
    """Refuse a status a reminder cannot end in."""
    if status not in ENDINGS:
        raise ValueError(f"status: expected one of {', '.join(ENDINGS)}, got {status!r}")


def insert(conn: sqlite3.Connection, case_id: int, row: ReminderRow) -> int:
    """Add a pending reminder to the case; return its id."""
    reminder_id: int = conn.execute(
        "INSERT INTO reminders (case_id, kind, due_at, created_at) VALUES (?, ?, ?, ?)"
        " RETURNING id",
        (case_id, row.kind, row.due_at, row.created_at),
    ).fetchone()[0]
    return reminder_id


def cancel_pending(conn: sqlite3.Connection, case_id: int, done_at: str) -> None:
    """Cancel every pending reminder of the case."""
    conn.execute(
        "UPDATE reminders SET status = 'cancelled', done_at = ?"
        " WHERE case_id = ? AND status = 'pending'",
        (done_at, case_id),
    )


def finish(conn: sqlite3.Connection, reminder_id: int, status: str, done_at: str) -> bool:
    """End a pending reminder with `status`; False if it had ended (or does not exist).

    A `sent` one may also have been cancelled: its case moved on while it was on its way, and
    it went out all the same.
    """
    ended = "('pending', 'cancelled')" if status == "sent" else "('pending')"
    cursor = conn.execute(
        f"UPDATE reminders SET status = ?, done_at = ? WHERE id = ? AND status IN {ended}",
        (status, done_at, reminder_id),
    )
    return cursor.rowcount == 1


def retry(conn: sqlite3.Connection, reminder_id: int, due_at: str) -> bool:
    """Count a failed attempt and make a pending reminder due again at `due_at`."""
    cursor = conn.execute(
        "UPDATE reminders SET attempts = attempts + 1, due_at = ?"
        " WHERE id = ? AND status = 'pending'",
        (due_at, reminder_id),
    )
    return cursor.rowcount == 1


PENDING_SELECT = (
    "SELECT r.id, r.kind, r.due_at, r.attempts, c.number,"
    " u.messenger, u.external_id, u.chat_id, u.language, u.unreachable_at"
    " FROM reminders r"
    " JOIN cases c ON c.id = r.case_id"
    " JOIN users u ON u.id = c.user_id"
    " WHERE r.status = 'pending'"
)
# `? IS NULL OR ...` keeps one statement (and one plan) for "everyone" and "these people";
# the CAST lets PostgreSQL type a parameter that is compared with nothing.
OF_AUDIENCE = (
    " AND (CAST(? AS TEXT) IS NULL OR u.messenger = ?)"
    " AND (CAST(? AS TEXT) IS NULL OR u.external_id = ?)"
)
# A deferred reminder (WeChat's window closed) waits for its person's next message instead.
_NOT_DEFERRED = " AND r.deferred_at IS NULL"
DUE_QUERY = (
    f"{PENDING_SELECT} AND r.due_at <= ?{_NOT_DEFERRED}{OF_AUDIENCE}"
    " ORDER BY r.due_at, r.id LIMIT ?"
)
PENDING_QUERY = f"{PENDING_SELECT} ORDER BY r.due_at, r.id"
# Walks the index in due_at order and stops at the first row of the messenger.
NEXT_DUE_QUERY = (
    "SELECT r.due_at FROM reminders r"
    " JOIN cases c ON c.id = r.case_id"
    " JOIN users u ON u.id = c.user_id"
    f" WHERE r.status = 'pending'{_NOT_DEFERRED}{OF_AUDIENCE} ORDER BY r.due_at LIMIT 1"
)


def due(
    conn: sqlite3.Connection, now: str, limit: int, messenger: str | None, user_id: str | None
) -> list[Reminder]:
    """Return up to `limit` pending reminders due at or before `now`, earliest first."""
    rows = conn.execute(DUE_QUERY, (now, messenger, messenger, user_id, user_id, limit))
    return [reminder_of(row) for row in rows]


def pending(conn: sqlite3.Connection, limit: int | None) -> list[Reminder]:
    """Return pending reminders (all, or the first `limit`), earliest first."""
    # No LIMIT at all for "all": PostgreSQL refuses SQLite's negative one.
    if limit is None:
        rows = conn.execute(PENDING_QUERY)
    else:
        rows = conn.execute(f"{PENDING_QUERY} LIMIT ?", (limit,))
    return [reminder_of(row) for row in rows]


def next_due_at(
    conn: sqlite3.Connection, messenger: str | None, user_id: str | None
) -> datetime | None:
    """Return the earliest due_at of any pending reminder (of the people selected)."""
    found = conn.execute(NEXT_DUE_QUERY, (messenger, messenger, user_id, user_id)).fetchone()
    return None if found is None else from_iso(found[0])


def reminder_of(row: sqlite3.Row) -> Reminder:
    """Return the reminder a row of PENDING_SELECT describes."""
    return Reminder(
        id=row["id"],
        case_number=row["number"],
        key=ConversationKey(row["messenger"], row["external_id"]),
        chat_id=row["chat_id"],
        language=row["language"],
        kind=row["kind"],
        due_at=from_iso(row["due_at"]),
        attempts=row["attempts"],
        unreachable=row["unreachable_at"] is not None,
    )
