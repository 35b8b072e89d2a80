"""Due reminders on PostgreSQL: claimed with a lease, so two senders never take the same one.

Several processes may share the database (a leader and a standby, or two started by mistake):
reading what is due and marking it later, as one SQLite process may, would let both send it.
Here the due rows are claimed in the statement that finds them (`FOR UPDATE SKIP LOCKED`: a row
another sender is claiming is passed over, not waited for) by setting `lease_until`. A claimed
reminder is ended (sent, failed...) or retried by its sender; one whose sender died is due
again when its lease runs out. Times are the app's clock, not the server's `now()`, so tests
with a manual clock keep working.
"""

from __future__ import annotations

from datetime import datetime

import storage.reminders as reminders
from flows.records import Reminder
from storage.db import from_iso
from storage.postgres.connection import Connection

_AUDIENCE = reminders.OF_AUDIENCE
# A deferred reminder (WeChat's window closed) waits for its person's next message instead.
_NOT_DEFERRED = " AND r.deferred_at IS NULL"

# A reminder under another sender's lease is in flight: not due for anyone else meanwhile.
_FREE = " AND (r.lease_until IS NULL OR r.lease_until <= ?)"

DUE_QUERY = (
    f"{reminders.PENDING_SELECT} AND r.due_at <= ?{_NOT_DEFERRED}{_FREE}{_AUDIENCE}"
    " ORDER BY r.due_at, r.id LIMIT ?"
)

CLAIM_QUERY = (
    "WITH claimed AS ("
    " UPDATE reminders SET lease_until = ? WHERE id IN ("
    "  SELECT r.id FROM reminders r"
    "  JOIN cases c ON c.id = r.case_id"
    "  JOIN users u ON u.id = c.user_id"
    f"  WHERE r.status = 'pending' AND r.due_at <= ?{_NOT_DEFERRED}"
    f"  AND (r.lease_until IS NULL OR r.lease_until <= ?){_AUDIENCE}"
    "  ORDER BY r.due_at, r.id LIMIT ?"
    "  FOR UPDATE OF r SKIP LOCKED)"
    " RETURNING id)"
    f" {reminders.PENDING_SELECT} AND r.id IN (SELECT id FROM claimed) ORDER BY r.due_at, r.id"
)

# The earliest moment a reminder may be claimed: the first free one in index order, or the
# end of a lease (the few in flight), whichever comes first.
NEXT_QUERY = (
    "SELECT min(at) FROM ("
    " (SELECT r.due_at AS at FROM reminders r"
    "  JOIN cases c ON c.id = r.case_id JOIN users u ON u.id = c.user_id"
    f"  WHERE r.status = 'pending' AND r.lease_until IS NULL{_NOT_DEFERRED}{_AUDIENCE}"
    "  ORDER BY r.due_at LIMIT 1)"
    " UNION ALL"
    " SELECT greatest(r.due_at, r.lease_until) FROM reminders r"
    "  JOIN cases c ON c.id = r.case_id JOIN users u ON u.id = c.user_id"
    f"  WHERE r.status = 'pending' AND r.lease_until IS NOT NULL{_NOT_DEFERRED}{_AUDIENCE}"
    ") AS due"
)


def due(
    conn: Connection, now: str, limit: int, messenger: str | None, user_id: str | None
) -> list[Reminder]:
    """Return up to `limit` reminders due at `now` and free of any lease, earliest first."""
    audience = (messenger, messenger, user_id, user_id)
    rows = conn.execute(DUE_QUERY, (now, now, *audience, limit)).fetchall()
    return [reminders.reminder_of(row) for row in rows]


def claim(
    conn: Connection,
    now: str,
    lease_until: str,
    limit: int,
    messenger: str | None,
    user_id: str | None,
) -> list[Reminder]:
    """Claim up to `limit` reminders due at `now` and free of any lease, earliest first."""
    audience = (messenger, messenger, user_id, user_id)
    rows = conn.execute(CLAIM_QUERY, (lease_until, now, now, *audience, limit)).fetchall()
    return [reminders.reminder_of(row) for row in rows]


def next_due_at(conn: Connection, messenger: str | None, user_id: str | None) -> datetime | None:
    """Return when the next reminder (of the people selected) may be claimed, or None."""
    audience = (messenger, messenger, user_id, user_id)
    found = conn.execute(NEXT_QUERY, (*audience, *audience)).fetchone()
    return None if found is None or found[0] is None else from_iso(found[0])


def release(conn: Connection, reminder_id: int) -> None:
    """Drop the lease of a reminder made due again, so it is not held past its new time."""
    conn.execute("UPDATE reminders SET lease_until = NULL WHERE id = ?", (reminder_id,))
