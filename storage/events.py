"""SQL for events: the timeline of a draft, and later of the case filed from it."""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from typing import Any

from flows.records import CaseEvent
from storage.db import from_iso, from_json, select_by_case, to_iso, to_json

Row = tuple[Any, ...]


def encode(events: list[CaseEvent]) -> list[Row]:
    """Encode `events` as (kind, data, at) rows."""
    return [
        (e.kind, to_json(e.data, f"event {e.kind!r} data"), to_iso(e.at, f"event {e.kind!r} at"))
        for e in events
    ]


def insert(
    conn: sqlite3.Connection,
    user_id: int,
    draft_id: str | None,
    rows: list[Row],
    case_id: int | None = None,
) -> None:
    """Add events of `user_id`, tied to `draft_id` and/or a filed case."""
    conn.executemany(
        "INSERT INTO events (user_id, draft_id, case_id, kind, data, at) VALUES (?, ?, ?, ?, ?, ?)",
        [(user_id, draft_id, case_id, *row) for row in rows],
    )


def attach_to_case(conn: sqlite3.Connection, draft_id: str, case_id: int) -> None:
    """Give the draft's events to the case filed from it."""
    conn.execute(
        "UPDATE events SET case_id = ? WHERE draft_id = ? AND case_id IS NULL",
        (case_id, draft_id),
    )


def discard_draft(conn: sqlite3.Connection, draft_id: str) -> None:
    """Delete the events of a draft that was never filed."""
    conn.execute("DELETE FROM events WHERE draft_id = ? AND case_id IS NULL", (draft_id,))


def load_for_cases(conn: sqlite3.Connection, case_ids: list[int]) -> dict[int, list[CaseEvent]]:
    """Return the events of each case, oldest first."""
    found: dict[int, list[CaseEvent]] = defaultdict(list)
    for row in select_by_case(conn, "events", "kind, data, at", "julianday(at), id", case_ids):
        found[row["case_id"]].append(
            CaseEvent(kind=row["kind"], at=from_iso(row["at"]), data=from_json(row["data"]))
        )
    return found
