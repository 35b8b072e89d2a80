"""What the WeChat messenger keeps: account cursors, the inbox, each person's window and screen.

The inbox row of a pulled message is written in the same transaction as the cursor that moves
past it, so a crash between the two can neither lose a message nor skip one. Rows are keyed by
WeCom's external_userid; forgetting a person deletes theirs (see `forget`).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from flows.model import ConversationKey
from flows.records import Reminder
from storage import reminders
from storage.db import from_iso, to_utc_iso

if TYPE_CHECKING:  # storage.store imports storage.forget, which imports this module
    from storage.store import SqliteStore

MESSENGER = "wecom"


@dataclass(frozen=True, slots=True)
class Pulled:
    """A message pulled from kf/sync_msg, as the inbox keeps it."""

    msgid: str
    open_kfid: str
    external_userid: str
    body: dict[str, Any]
    sent_at: datetime | None = None  # when the person wrote it (None: not theirs, an event)


@dataclass(slots=True)
class Person:
    """A person's window (when they last wrote), sends since, buttons, and waiting pages."""

    external_userid: str
    open_kfid: str = ""
    window_at: datetime | None = None
    sent: int = 0
    menu: dict[str, Any] = field(default_factory=dict)
    pages: list[dict[str, Any]] = field(default_factory=list)


def record_page(conn: sqlite3.Connection, open_kfid: str, items: list[Pulled], cursor: str) -> int:
    """Keep pulled messages and move the cursor past them (in the caller's transaction)."""
    now = to_utc_iso(datetime.now(UTC), "received_at")
    added = 0
    for item in items:
        found = conn.execute(
            "INSERT OR IGNORE INTO wecom_inbox"
            " (msgid, open_kfid, external_userid, body, received_at) VALUES (?, ?, ?, ?, ?)",
            (item.msgid, item.open_kfid, item.external_userid, json.dumps(item.body), now),
        )
        added += found.rowcount
        # A message pulled twice (the same cursor read again) opens no new window.
        if item.sent_at is not None and found.rowcount:
            _wrote(conn, item.external_userid, item.open_kfid, item.sent_at, now)
    conn.execute(
        "INSERT INTO wecom_cursors (open_kfid, cursor, updated_at) VALUES (?, ?, ?)"
        " ON CONFLICT (open_kfid) DO UPDATE SET cursor = excluded.cursor,"
        " updated_at = excluded.updated_at",
        (open_kfid, cursor, now),
    )
    return added


def _wrote(
    conn: sqlite3.Connection, person: str, open_kfid: str, sent_at: datetime, now: str
) -> None:
    """Open a new window (5 more messages) for a new message; an older one changes nothing."""
    at = to_utc_iso(sent_at, "sent_at")
    conn.execute(
        "INSERT INTO wecom_people (external_userid, open_kfid, window_at, sent, updated_at)"
        " VALUES (?, ?, ?, 0, ?)"
        " ON CONFLICT (external_userid) DO UPDATE SET"
        " sent = CASE WHEN window_at IS NULL OR window_at <= excluded.window_at"
        "  THEN 0 ELSE sent END,"
        " window_at = CASE WHEN window_at IS NULL OR window_at <= excluded.window_at"
        "  THEN excluded.window_at ELSE window_at END,"
        " open_kfid = excluded.open_kfid, updated_at = excluded.updated_at",
        (person, open_kfid, at, now),
    )


def _person(row: sqlite3.Row | None, person: str) -> Person:
    if row is None:
        return Person(person)
    return Person(
        person,
        row["open_kfid"],
        from_iso(row["window_at"]) if row["window_at"] else None,
        row["sent"],
        json.loads(row["menu"]),
        json.loads(row["pages"]),
    )


class WecomState:
    """The messenger's rows, read and written through the store's connection."""

    def __init__(self, store: SqliteStore) -> None:
        self.store = store

    async def record_page(self, open_kfid: str, items: list[Pulled], cursor: str) -> int:
        """Keep a page of pulled messages and its cursor, together; return how many were new."""
        return await self.store._write(lambda c: record_page(c, open_kfid, items, cursor))

    async def cursor(self, open_kfid: str) -> str | None:
        """Return where pulling resumes for an account (None: from the start)."""

        def read(conn: sqlite3.Connection) -> str | None:
            row = conn.execute(
                "SELECT cursor FROM wecom_cursors WHERE open_kfid = ?", (open_kfid,)
            ).fetchone()
            return None if row is None else str(row[0])

        return await self.store._run(read)

    async def inbox(self, open_kfid: str) -> list[Pulled]:
        """Return the account's pulled messages not yet handled, in the order pulled."""

        def read(conn: sqlite3.Connection) -> list[Pulled]:
            rows = conn.execute(
                "SELECT msgid, open_kfid, external_userid, body FROM wecom_inbox"
                " WHERE open_kfid = ? ORDER BY rowid",
                (open_kfid,),
            )
            return [Pulled(r[0], r[1], r[2], json.loads(r[3])) for r in rows]

        return await self.store._run(read)

    async def handled(self, msgids: list[str]) -> None:
        """Remove handled messages from the inbox."""
        await self.store._write(
            lambda c: c.executemany(
                "DELETE FROM wecom_inbox WHERE msgid = ?", [(m,) for m in msgids]
            )
        )

    async def person(self, person: str) -> Person:
        """Return a person's window, quota use, screen and waiting pages."""
        return await self.store._run(
            lambda c: _person(
                c.execute(
                    "SELECT * FROM wecom_people WHERE external_userid = ?", (person,)
                ).fetchone(),
                person,
            )
        )

    async def count_sent(self, person: str, open_kfid: str, sent: int) -> None:
        """Add `sent` messages to the person's use of their current window."""
        now = to_utc_iso(datetime.now(UTC), "updated_at")
        await self.store._write(
            lambda c: c.execute(
                "INSERT INTO wecom_people (external_userid, open_kfid, sent, updated_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (external_userid) DO UPDATE SET"
                " sent = sent + excluded.sent, updated_at = excluded.updated_at",
                (person, open_kfid, sent, now),
            )
        )

    async def save_screen(
        self, person: str, open_kfid: str, menu: dict[str, Any] | None, pages: list[dict[str, Any]]
    ) -> None:
        """Keep the buttons on the person's screen (None: unchanged) and the waiting pages."""
        now = to_utc_iso(datetime.now(UTC), "updated_at")
        menu_json = None if menu is None else json.dumps(menu, ensure_ascii=False)
        await self.store._write(
            lambda c: c.execute(
                "INSERT INTO wecom_people (external_userid, open_kfid, menu, pages, updated_at)"
                " VALUES (?, ?, coalesce(?, '{}'), ?, ?) ON CONFLICT (external_userid) DO UPDATE"
                " SET menu = coalesce(?, menu), pages = excluded.pages,"
                " updated_at = excluded.updated_at",
                (person, open_kfid, menu_json, json.dumps(pages), now, menu_json),
            )
        )

    async def close_window(self, person: str) -> None:
        """Note that WeChat refused a send as out of the window or quota."""
        await self.store._write(
            lambda c: c.execute(
                "UPDATE wecom_people SET window_at = NULL WHERE external_userid = ?", (person,)
            )
        )

    async def defer(self, reminder_id: int, at: datetime) -> None:
        """Hold a reminder for its person's next message (the scheduler skips it meanwhile)."""
        when = to_utc_iso(at, "deferred_at")
        await self.store._write(
            lambda c: c.execute(
                "UPDATE reminders SET deferred_at = ? WHERE id = ? AND status = 'pending'",
                (when, reminder_id),
            )
        )

    async def deferred(self, person: str) -> list[Reminder]:
        """Return the person's deferred reminders, earliest first."""
        query = (
            f"{reminders._PENDING} AND r.deferred_at IS NOT NULL"
            " AND u.messenger = ? AND u.external_id = ? ORDER BY r.due_at, r.id"
        )
        return await self.store._run(
            lambda c: [reminders._reminder(row) for row in c.execute(query, (MESSENGER, person))]
        )

    async def forget(self, key: ConversationKey) -> None:
        """Delete what is kept about a person who has no conversation (left, or forgotten)."""
        await self.store._write(lambda c: forget(c, key))


def forget(conn: sqlite3.Connection, key: ConversationKey) -> None:
    """Delete what the WeChat messenger keeps about a person (in the caller's transaction)."""
    if key.messenger != MESSENGER:
        return
    conn.execute("DELETE FROM wecom_inbox WHERE external_userid = ?", (key.user_id,))
    conn.execute("DELETE FROM wecom_people WHERE external_userid = ?", (key.user_id,))
