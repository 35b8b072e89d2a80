"""Checked screenshots: files a conversation's scratch points to until they are filed or dropped.

A screenshot sent to be checked is stored before anyone knows whether it becomes evidence; until
then only the conversation's `pending` JSON refers to it. When that reference goes (the person
said "it's fine", checked another message, or started a complaint), so must the file, unless an
evidence row or another conversation still uses the same content.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any


def paths_in(pending: Any) -> list[str]:
    """Return the files of checked screenshots waiting in a conversation's scratch."""
    check = pending.get("check") if isinstance(pending, dict) else None
    items = check.get("items") if isinstance(check, dict) else None
    paths = []
    for item in items if isinstance(items, list) else []:
        image = item.get("image") if isinstance(item, dict) else None
        if isinstance(image, dict) and isinstance(image.get("path"), str):
            paths.append(image["path"])
    return paths


def waiting_for(conn: sqlite3.Connection, user_id: int) -> list[str]:
    """Return the screenshot files the user's saved conversation refers to."""
    found = conn.execute("SELECT pending FROM conversations WHERE user_id = ?", (user_id,))
    row = found.fetchone()
    # Most scratch holds no screenshot: skip parsing JSON that cannot have one.
    if row is None or '"image"' not in row[0]:
        return []
    return paths_in(json.loads(row[0]))


def used(conn: sqlite3.Connection, path: str, *, besides: int | None = None) -> bool:
    """Return True when an evidence row or a pending check uses the file (`besides`: not theirs)."""
    other = -1 if besides is None else besides
    if conn.execute(
        "SELECT 1 FROM evidence WHERE path = ? AND user_id != ? LIMIT 1", (path, other)
    ).fetchone():
        return True
    found = conn.execute(
        "SELECT 1 FROM conversations WHERE user_id != ? AND instr(pending, ?) > 0 LIMIT 1",
        (other, path),
    ).fetchone()
    return found is not None
