"""SQL for evidence: files and forwarded messages gathered during an intake."""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from typing import Any

from flows.records import EvidenceRecord
from storage.db import from_iso, from_json, select_by_case, to_iso, to_json

_COLUMNS = (
    "draft_id, step, kind, sha256, path, size, file_name, mime_type, file_id,"
    " file_unique_id, group_id, text, meta, created_at"
)

Row = tuple[Any, ...]


def encode(records: list[EvidenceRecord], now: str) -> list[Row]:
    """Encode `records` as rows (without user_id); `now` stands in for a missing `created_at`."""
    return [
        (
            r.draft_id,
            r.step,
            r.kind,
            r.sha256,
            r.path,
            r.size,
            r.file_name,
            r.mime_type,
            r.file_id,
            r.file_unique_id,
            r.group_id,
            r.text,
            to_json(r.meta, "evidence.meta"),
            to_iso(r.created_at, "evidence.created_at") if r.created_at else now,
        )
        for r in records
    ]


def insert(conn: sqlite3.Connection, user_id: int, rows: list[Row]) -> None:
    """Add evidence rows; a file already in the same draft (same sha256) is kept once."""
    conn.executemany(
        f"INSERT INTO evidence (user_id, {_COLUMNS})"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        [(user_id, *row) for row in rows],
    )


def attach_to_case(conn: sqlite3.Connection, draft_id: str, case_id: int) -> None:
    """Give the draft's evidence to the case filed from it."""
    conn.execute(
        "UPDATE evidence SET case_id = ? WHERE draft_id = ? AND case_id IS NULL",
        (case_id, draft_id),
    )


def discard_draft(conn: sqlite3.Connection, draft_id: str) -> list[str]:
    """Delete the unfiled evidence of a draft; return the file paths those rows pointed to."""
    paths = conn.execute(
        # A forwarded message may have no file behind it.
        "SELECT DISTINCT path FROM evidence"
        " WHERE draft_id = ? AND case_id IS NULL AND path != '' ORDER BY path",
        (draft_id,),
    ).fetchall()
    conn.execute("DELETE FROM evidence WHERE draft_id = ? AND case_id IS NULL", (draft_id,))
    return [row[0] for row in paths]


def unused(conn: sqlite3.Connection, paths: list[str]) -> list[str]:
    """Return those of `paths` that no evidence row points to."""
    return [
        path
        for path in paths
        if conn.execute("SELECT 1 FROM evidence WHERE path = ? LIMIT 1", (path,)).fetchone() is None
    ]


def load_for_cases(
    conn: sqlite3.Connection, case_ids: list[int]
) -> dict[int, list[EvidenceRecord]]:
    """Return the evidence of each case, oldest first."""
    found: dict[int, list[EvidenceRecord]] = defaultdict(list)
    for row in select_by_case(conn, "evidence", _COLUMNS, "julianday(created_at), id", case_ids):
        found[row["case_id"]].append(
            EvidenceRecord(
                draft_id=row["draft_id"],
                step=row["step"],
                kind=row["kind"],
                sha256=row["sha256"],
                path=row["path"],
                size=row["size"],
                file_name=row["file_name"],
                mime_type=row["mime_type"],
                file_id=row["file_id"],
                file_unique_id=row["file_unique_id"],
                group_id=row["group_id"],
                text=row["text"],
                meta=from_json(row["meta"]),
                created_at=from_iso(row["created_at"]),
            )
        )
    return found
