"""SQL for cases: numbering, filing, and reading them back with their evidence and timeline."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from flows.model import ConversationKey
from flows.store import CaseRecord, CaseSummary, NewCase
from storage import events, evidence
from storage.db import from_iso, from_json, to_iso, to_json

FILED = "filed"


@dataclass(frozen=True, slots=True)
class CaseRow:
    """A new case encoded for its table, ready to write from the database thread."""

    year: int
    values: tuple[Any, ...]  # category ... updated_at, in `_COLUMNS` order


_NAMES = (
    "category",
    "problem",
    "state",
    "flow_id",
    "flow_version",
    "language",
    "answers",
    "remedies",
    "created_at",
    "updated_at",
)
_COLUMNS = ", ".join(_NAMES)
_SELECTED = ", ".join(f"c.{name}" for name in _NAMES)  # users has a `language` too


def encode(case: NewCase) -> CaseRow:
    """Encode a confirmed intake as a case in state `filed`."""
    created_at = to_iso(case.created_at, "new_case.created_at")
    values = (
        case.category,
        case.problem,
        FILED,
        case.flow_id,
        case.flow_version,
        case.language,
        to_json(case.answers, "new_case.answers"),
        to_json(case.remedies, "new_case.remedies"),
        created_at,
        created_at,
    )
    return CaseRow(case.created_at.year, values)


def next_number(conn: sqlite3.Connection, year: int) -> str:
    """Take the next case number of `year`, e.g. TS-2026-000001; numbers restart each year."""
    last = conn.execute(
        "INSERT INTO case_counters (year, last) VALUES (?, 1)"
        " ON CONFLICT (year) DO UPDATE SET last = last + 1 RETURNING last",
        (year,),
    ).fetchone()[0]
    return f"TS-{year}-{last:06d}"


def insert(conn: sqlite3.Connection, user_id: int, number: str, row: CaseRow) -> int:
    """File the case under `number`; return its row id."""
    case_id: int = conn.execute(
        f"INSERT INTO cases (number, user_id, {_COLUMNS})"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (number, user_id, *row.values),
    ).fetchone()[0]
    return case_id


def summaries(conn: sqlite3.Connection, key: ConversationKey) -> list[CaseSummary]:
    """Return the cases of `key`, newest first."""
    return [
        CaseSummary(
            number=row["number"],
            category=row["category"],
            problem=row["problem"],
            state=row["state"],
            created_at=from_iso(row["created_at"]),
        )
        for row in conn.execute(
            "SELECT c.number, c.category, c.problem, c.state, c.created_at"
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
    where, params = [], []
    if number is not None:
        where.append("c.number = ?")
        params.append(number)
    if owner is not None:
        where.append("u.messenger = ? AND u.external_id = ?")
        params += [owner.messenger, owner.user_id]
    rows = conn.execute(
        f"SELECT c.id, c.number, u.messenger, u.external_id, {_SELECTED}"
        " FROM cases c JOIN users u ON u.id = c.user_id"
        + (" WHERE " + " AND ".join(where) if where else "")
        + " ORDER BY julianday(c.created_at) DESC, c.id DESC",
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
        )
        for row in rows
    ]
