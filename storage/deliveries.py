"""Which messenger updates were handled, so a redelivered one changes nothing."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

from flows.errors import AlreadyHandled
from flows.records import Deliveries
from storage.db import to_utc_iso

# Telegram keeps an unconfirmed update for 24 hours and retries a webhook for less; a week of
# records covers any redelivery with room to spare, and bounds the table.
KEEP = timedelta(days=7)


def handled(conn: sqlite3.Connection, deliveries: Deliveries) -> bool:
    """Return True when every one of `deliveries` is recorded."""
    ids = list(dict.fromkeys(deliveries.ids))
    found = 0
    for start in range(0, len(ids), 500):  # under SQLite's limit on bound parameters
        chunk = ids[start : start + 500]
        marks = ", ".join("?" * len(chunk))
        row = conn.execute(
            f"SELECT count(*) FROM deliveries WHERE messenger = ? AND delivery_id IN ({marks})",
            (deliveries.messenger, *chunk),
        ).fetchone()
        found += row[0]
    return bool(ids) and found == len(ids)


def record(conn: sqlite3.Connection, deliveries: Deliveries, at: str) -> None:
    """Record `deliveries` inside the caller's transaction; AlreadyHandled if all were before.

    Some ids may be known already (a burst that joined a redelivered update with new ones):
    the new ones are what this write is about, so it goes ahead.
    """
    if handled(conn, deliveries):
        raise AlreadyHandled(f"{deliveries.messenger}: {', '.join(deliveries.ids)[:200]}")
    conn.executemany(
        "INSERT INTO deliveries (messenger, delivery_id, handled_at) VALUES (?, ?, ?)"
        " ON CONFLICT DO NOTHING",
        [(deliveries.messenger, delivery_id, at) for delivery_id in deliveries.ids],
    )


def prune(conn: sqlite3.Connection, now: datetime) -> int:
    """Forget deliveries older than KEEP; return how many."""
    cursor = conn.execute(
        "DELETE FROM deliveries WHERE handled_at < ?", (to_utc_iso(now - KEEP, "now"),)
    )
    return cursor.rowcount
