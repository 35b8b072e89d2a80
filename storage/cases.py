"""SQL for cases: numbering, filing, lifecycle steps, and reading them back whole."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import storage.case_numbers as case_numbers
import storage.events as events
import storage.evidence as evidence
import storage.reminders as reminders
from flows.model import ConversationKey
from flows.records import CaseChange, CaseRecord, CaseSummary, NewCase
from storage.db import from_iso, from_json, to_iso, to_json, to_utc_iso
from storage.errors import StorageError
from storage.reminders import ReminderRow


@dataclass(frozen=True, slots=True)
class CaseRow:
    """A new case encoded for its table, ready to write from the database thread."""

    year: int
    values: tuple[Any, ...]  # category ... updated_at, in `_COLUMNS` order
    reminder: ReminderRow | None


@dataclass(frozen=True, slots=True)
class ChangeRow:
    """A lifecycle step encoded for the tables, ready to write from the database thread."""

    number: str
    owner: ConversationKey | None
    expect_states: frozenset[str] | None
    updates: dict[str, Any]  # cases column -> new value; always has updated_at
    events: list[events.Row]
    done_at: str  # when reminders this step ends were done with
    cancel_reminders: bool
    reminder: ReminderRow | None


_NAMES = (
    "category",
    "problem",
    "state",
    "rung",
    "due_at",
    "flow_id",
    "flow_version",
    "language",
    "answers",
    "remedies",
    "created_at",
    "updated_at",
)
_COLUMNS = ", ".join(_NAMES)
_MARKS = ", ".join("?" * (len(_NAMES) + 2))  # number, user_id, then _NAMES
# users has a `language` too, hence the prefix.
_SELECTED = ", ".join(f"c.{name}" for name in (*_NAMES, "rating", "comment"))


def encode(case: NewCase) -> CaseRow:
    """Encode a confirmed intake as a case in its first lifecycle state."""
    created_at = to_iso(case.created_at, "new_case.created_at")
    due_at = None if case.due_at is None else to_utc_iso(case.due_at, "new_case.due_at")
    reminder = None
    if case.reminder is not None:
        reminder = reminders.encode(case.reminder, case.created_at, "new_case.reminder")
    values = (
        case.category,
        case.problem,
        case.state,
        case.rung,
        due_at,
        case.flow_id,
        case.flow_version,
        case.language,
        to_json(case.answers, "new_case.answers"),
        to_json(case.remedies, "new_case.remedies"),
        created_at,
        created_at,
    )
    return CaseRow(case.created_at.year, values, reminder)


def new_number(conn: sqlite3.Connection, year: int) -> str:
    """Take a random case number of `year` no case has (see storage/case_numbers.py)."""
    # 29^5 = 20.5 million numbers a year: at 10,000 cases a try collides 1 time in 2,000.
    # case_counters, which numbered cases until 2026-11, is no longer written.
    while True:
        number = case_numbers.new_number(year)
        if conn.execute("SELECT 1 FROM cases WHERE number = ?", (number,)).fetchone() is None:
            return number


def insert(conn: sqlite3.Connection, user_id: int, number: str, row: CaseRow) -> int:
    """File the case under `number`, with its first reminder if any; return its row id."""
    case_id: int = conn.execute(
        f"INSERT INTO cases (number, user_id, {_COLUMNS}) VALUES ({_MARKS}) RETURNING id",
        (number, user_id, *row.values),
    ).fetchone()[0]
    if row.reminder is not None:
        reminders.insert(conn, case_id, row.reminder)
    return case_id


def encode_change(change: CaseChange, now: datetime) -> ChangeRow:
    """Encode a lifecycle step, dated by its latest event, or `now` when it has none."""
    what = f"change of {change.number}"
    timeline = events.encode(change.events)
    at = max((e.at for e in change.events), default=now)
    updates: dict[str, Any] = {}
    if change.state is not None:
        updates["state"] = change.state
    if change.rung is not None:
        updates["rung"] = change.rung
    if change.clear_due and change.due_at is not None:
        raise StorageError(f"{what}: expected due_at or clear_due, got both")
    if change.clear_due:
        updates["due_at"] = None
    elif change.due_at is not None:
        updates["due_at"] = to_utc_iso(change.due_at, f"{what}: due_at")
    if change.rating is not None:
        if not 1 <= change.rating <= 5:
            raise StorageError(f"{what}: rating: expected 1 to 5, got {change.rating!r}")
        updates["rating"] = change.rating
    if change.comment is not None:
        updates["comment"] = change.comment
    updates["updated_at"] = to_iso(at, f"{what}: updated_at")
    reminder = None
    if change.reminder is not None:
        reminder = reminders.encode(change.reminder, at, f"{what}: reminder")
    return ChangeRow(
        number=change.number,
        owner=change.owner,
        expect_states=change.expect_states,
        updates=updates,
        events=timeline,
        done_at=to_utc_iso(at, f"{what}: done_at"),
        cancel_reminders=change.cancel_reminders,
        reminder=reminder,
    )


def apply_change(conn: sqlite3.Connection, row: ChangeRow) -> bool:
    """Apply a lifecycle step; False, writing nothing, if the case is not found or moved on."""
    where, params = _where(row.number, row.owner)
    found = conn.execute(
        f"SELECT c.id, c.user_id, c.state FROM cases c JOIN users u ON u.id = c.user_id{where}",
        params,
    ).fetchone()
    if found is None:
        return False
    if row.expect_states is not None and found["state"] not in row.expect_states:
        return False
    case_id = found["id"]
    assignments = ", ".join(f"{column} = ?" for column in row.updates)
    conn.execute(f"UPDATE cases SET {assignments} WHERE id = ?", (*row.updates.values(), case_id))
    events.insert(conn, found["user_id"], None, row.events, case_id=case_id)
    if row.cancel_reminders:
        reminders.cancel_pending(conn, case_id, row.done_at)
    if row.reminder is not None:
        reminders.insert(conn, case_id, row.reminder)
    return True


def record_sent(
    conn: sqlite3.Connection, reminder_id: int, rows: Sequence[ChangeRow], done_at: str
) -> bool:
    """End a reminder as sent and apply the first of `rows` that applies; False if it had ended.

    Inside the caller's transaction, so a delivery is recorded with its reminder's end or not
    at all: a reminder sent again after a crash in between finds it ended and records nothing.
    """
    if not reminders.finish(conn, reminder_id, "sent", done_at):
        return False
    for row in rows:
        if apply_change(conn, row):
            break
    return True


def summaries(conn: sqlite3.Connection, key: ConversationKey) -> list[CaseSummary]:
    """Return the cases of `key`, newest first."""
    return [
        CaseSummary(
            number=row["number"],
            category=row["category"],
            problem=row["problem"],
            state=row["state"],
            created_at=from_iso(row["created_at"]),
            due_at=_maybe_time(row["due_at"]),
        )
        for row in conn.execute(
            "SELECT c.number, c.category, c.problem, c.state, c.created_at, c.due_at"
            " FROM cases c JOIN users u ON u.id = c.user_id"
            " WHERE u.messenger = ? AND u.external_id = ?"
            # julianday compares instants, so offsets other than +00:00 still sort right.
            " ORDER BY julianday(c.created_at) DESC, c.id DESC",
            (key.messenger, key.user_id),
        )
    ]


def load(
    conn: sqlite3.Connection, *, number: str | None = None, owner: ConversationKey | None = None
) -> list[CaseRecord]:
    """Return whole cases, newest first, filtered by number and/or owner."""
    where, params = _where(number, owner)
    rows = conn.execute(
        f"SELECT c.id, c.number, u.messenger, u.external_id, {_SELECTED}"
        f" FROM cases c JOIN users u ON u.id = c.user_id{where}"
        " ORDER BY julianday(c.created_at) DESC, c.id DESC",
        params,
    ).fetchall()
    ids = [row["id"] for row in rows]
    files = evidence.load_for_cases(conn, ids)
    timeline = events.load_for_cases(conn, ids)
    return [
        CaseRecord(
            number=row["number"],
            user=f"{row['messenger']}:{row['external_id']}",
            category=row["category"],
            problem=row["problem"],
            state=row["state"],
            flow_id=row["flow_id"],
            flow_version=row["flow_version"],
            language=row["language"],
            answers=from_json(row["answers"]),
            remedies=from_json(row["remedies"]),
            created_at=from_iso(row["created_at"]),
            updated_at=from_iso(row["updated_at"]),
            evidence=files.get(row["id"], []),
            events=timeline.get(row["id"], []),
            rung=row["rung"],
            due_at=_maybe_time(row["due_at"]),
            rating=row["rating"],
            comment=row["comment"],
        )
        for row in rows
    ]


def _where(number: str | None, owner: ConversationKey | None) -> tuple[str, list[str]]:
    """Return the WHERE clause (or "") and parameters over `cases c JOIN users u`."""
    where, params = [], []
    if number is not None:
        number = case_numbers.normalise(number)
        if case_numbers.well_formed(number):
            where.append("c.number = ?")
            params.append(number)
        else:  # mistyped (its check character does not match): no case, not even looked up
            where.append("1 = 0")
    if owner is not None:
        where.append("u.messenger = ? AND u.external_id = ?")
        params += [owner.messenger, owner.user_id]
    return (" WHERE " + " AND ".join(where) if where else ""), params


def _maybe_time(text: str | None) -> datetime | None:
    return None if text is None else from_iso(text)
