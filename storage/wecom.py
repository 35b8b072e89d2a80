"""What the WeChat messenger keeps: account cursors, the inbox, each person's window and screen,
and the messages of a turn until they are sent.

The inbox row of a pulled message is written in the same transaction as the cursor that moves
past it, so a crash between the two can neither lose a message nor skip one. A turn's messages
go into the messengers' outbox (`storage.mailbox`, messenger "wecom", one row per WeChat
message) in the same transaction that counts them against the person's 5 and removes the
messages they answer from the inbox; each row is deleted once WeCom took it. Rows are keyed by
WeCom's external_userid; forgetting a person deletes theirs (see `forget`).

SQLite and PostgreSQL run these same statements (PostgreSQL through
`storage.postgres.connection`): upserts say `ON CONFLICT` and name the existing row by its
table (PostgreSQL finds a bare column ambiguous there), the inbox is read in `seq` order.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

import storage.cases as cases
import storage.mailbox as mailbox
import storage.reminders as reminders
from flows.model import ConversationKey, Reply
from flows.records import Reminder
from storage.db import from_iso, to_utc_iso

MESSENGER = "wecom"


class Pulled(Protocol):
    """A pulled message as the inbox keeps it (the messenger's record has these fields)."""

    @property
    def msgid(self) -> str: ...
    @property
    def open_kfid(self) -> str: ...
    @property
    def external_userid(self) -> str: ...
    @property
    def body(self) -> dict[str, Any]: ...
    @property
    def sent_at(self) -> datetime | None: ...


# A person's row: open_kfid, window_at, sent, menu, pages (None: nothing kept yet).
PersonRow = tuple[str, datetime | None, int, dict[str, Any], list[dict[str, Any]]]
# An inbox row: msgid, open_kfid, external_userid, body.
InboxRow = tuple[str, str, str, dict[str, Any]]
# An outbox row of the messenger: its id, the person, and the one WeChat message it keeps.
KeptRow = tuple[int, str, Reply]


def record_page(
    conn: sqlite3.Connection,
    open_kfid: str,
    items: Sequence[Pulled],
    cursor: str,
    at: datetime | None = None,
    token: str | None = None,
) -> int:
    """Keep pulled messages (received `at`, by default now) and move the cursor past them (in
    the caller's transaction); keep `token`, the callback token the pull used, if any (an
    untokened pull leaves the one kept before)."""
    now = to_utc_iso(at or datetime.now(UTC), "received_at")
    added = 0
    for item in items:
        found = conn.execute(
            "INSERT INTO wecom_inbox (msgid, open_kfid, external_userid, body, received_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (msgid) DO NOTHING",
            (item.msgid, item.open_kfid, item.external_userid, json.dumps(item.body), now),
        )
        added += found.rowcount
        # A message pulled twice (the same cursor read again) opens no new window.
        if item.sent_at is not None and found.rowcount:
            _wrote(conn, item.external_userid, item.open_kfid, item.sent_at, now)
    conn.execute(
        "INSERT INTO wecom_cursors (open_kfid, cursor, updated_at, token, token_at)"
        " VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (open_kfid) DO UPDATE SET cursor = excluded.cursor,"
        " updated_at = excluded.updated_at,"
        " token = COALESCE(excluded.token, wecom_cursors.token),"
        " token_at = COALESCE(excluded.token_at, wecom_cursors.token_at)",
        (open_kfid, cursor, now, token, token and now),
    )
    return added


def _wrote(
    conn: sqlite3.Connection, person: str, open_kfid: str, sent_at: datetime, now: str
) -> None:
    """Open a new window (5 more messages) for a new message; an older one changes nothing.

    What is kept for the person and not yet sent goes out after this message (WeChat counts
    it in the new window), so the new window starts with it counted, not at 0.
    """
    at = to_utc_iso(sent_at, "sent_at")
    kept = conn.execute(
        "SELECT count(*) FROM outbox WHERE messenger = ? AND user_id = ?", (MESSENGER, person)
    ).fetchone()[0]
    conn.execute(
        "INSERT INTO wecom_people (external_userid, open_kfid, window_at, sent, updated_at)"
        " VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (external_userid) DO UPDATE SET"
        " sent = CASE WHEN wecom_people.window_at IS NULL"
        "  OR wecom_people.window_at <= excluded.window_at THEN excluded.sent"
        "  ELSE wecom_people.sent END,"
        " window_at = CASE WHEN wecom_people.window_at IS NULL"
        "  OR wecom_people.window_at <= excluded.window_at"
        "  THEN excluded.window_at ELSE wecom_people.window_at END,"
        " open_kfid = excluded.open_kfid, updated_at = excluded.updated_at",
        (person, open_kfid, at, int(kept), now),
    )


def cursor(conn: sqlite3.Connection, open_kfid: str) -> str | None:
    """Return where pulling resumes for an account (None: from the start)."""
    row = conn.execute(
        "SELECT cursor FROM wecom_cursors WHERE open_kfid = ?", (open_kfid,)
    ).fetchone()
    return None if row is None else str(row[0])


def pull_token(conn: sqlite3.Connection, open_kfid: str, since: datetime) -> str | None:
    """Return the callback token an account's last tokened pull used, if it used it `since`
    (None: none, or older)."""
    row = conn.execute(
        "SELECT token FROM wecom_cursors WHERE open_kfid = ? AND token_at >= ?",
        (open_kfid, to_utc_iso(since, "since")),
    ).fetchone()
    return None if row is None or row[0] is None else str(row[0])


def inbox(conn: sqlite3.Connection, open_kfid: str) -> list[InboxRow]:
    """Return the account's pulled messages not yet handled, in the order pulled."""
    rows = conn.execute(
        "SELECT msgid, open_kfid, external_userid, body FROM wecom_inbox"
        " WHERE open_kfid = ? ORDER BY seq",
        (open_kfid,),
    )
    return [(r[0], r[1], r[2], json.loads(r[3])) for r in rows]


def received(conn: sqlite3.Connection, msgids: Sequence[str]) -> dict[str, datetime]:
    """Return when each of these messages still in the inbox was first pulled."""
    found: dict[str, datetime] = {}
    for msgid in msgids:
        row = conn.execute("SELECT received_at FROM wecom_inbox WHERE msgid = ?", (msgid,))
        if (at := row.fetchone()) is not None:
            found[msgid] = from_iso(at[0])
    return found


def handled(conn: sqlite3.Connection, msgids: list[str]) -> None:
    """Remove handled messages from the inbox."""
    conn.executemany("DELETE FROM wecom_inbox WHERE msgid = ?", [(m,) for m in msgids])


def person(conn: sqlite3.Connection, external_userid: str) -> PersonRow | None:
    """Return a person's window, quota use, screen and waiting pages (None: none kept)."""
    row = conn.execute(
        "SELECT open_kfid, window_at, sent, menu, pages FROM wecom_people"
        " WHERE external_userid = ?",
        (external_userid,),
    ).fetchone()
    if row is None:
        return None
    window_at = from_iso(row["window_at"]) if row["window_at"] else None
    return (
        row["open_kfid"],
        window_at,
        row["sent"],
        json.loads(row["menu"]),
        json.loads(row["pages"]),
    )


def count_sent(conn: sqlite3.Connection, external_userid: str, open_kfid: str, sent: int) -> None:
    """Add `sent` messages to the person's use of their current window."""
    now = to_utc_iso(datetime.now(UTC), "updated_at")
    conn.execute(
        "INSERT INTO wecom_people (external_userid, open_kfid, sent, updated_at)"
        " VALUES (?, ?, ?, ?) ON CONFLICT (external_userid) DO UPDATE SET"
        " sent = wecom_people.sent + excluded.sent, updated_at = excluded.updated_at",
        (external_userid, open_kfid, sent, now),
    )


def save_screen(
    conn: sqlite3.Connection,
    external_userid: str,
    open_kfid: str,
    menu: dict[str, Any] | None,
    pages: list[dict[str, Any]],
) -> None:
    """Keep the buttons on the person's screen (None: unchanged) and the waiting pages."""
    now = to_utc_iso(datetime.now(UTC), "updated_at")
    menu_json = None if menu is None else json.dumps(menu, ensure_ascii=False)
    conn.execute(
        "INSERT INTO wecom_people (external_userid, open_kfid, menu, pages, updated_at)"
        " VALUES (?, ?, coalesce(?, '{}'), ?, ?) ON CONFLICT (external_userid) DO UPDATE"
        " SET menu = coalesce(?, wecom_people.menu), pages = excluded.pages,"
        " updated_at = excluded.updated_at",
        (external_userid, open_kfid, menu_json, json.dumps(pages), now, menu_json),
    )


def close_window(conn: sqlite3.Connection, external_userid: str) -> None:
    """Note that WeChat refused a send as out of the window or quota."""
    conn.execute(
        "UPDATE wecom_people SET window_at = NULL WHERE external_userid = ?", (external_userid,)
    )


def defer(conn: sqlite3.Connection, reminder_id: int, at: datetime) -> None:
    """Hold a reminder for its person's next message (the scheduler skips it meanwhile)."""
    conn.execute(
        "UPDATE reminders SET deferred_at = ? WHERE id = ? AND status = 'pending'",
        (to_utc_iso(at, "deferred_at"), reminder_id),
    )


def deferred(conn: sqlite3.Connection, external_userid: str) -> list[Reminder]:
    """Return the person's deferred reminders, earliest first."""
    query = (
        f"{reminders.PENDING_SELECT} AND r.deferred_at IS NOT NULL"
        " AND u.messenger = ? AND u.external_id = ? ORDER BY r.due_at, r.id"
    )
    rows = conn.execute(query, (MESSENGER, external_userid))
    return [reminders.reminder_of(row) for row in rows]


def forget(conn: sqlite3.Connection, key: ConversationKey) -> None:
    """Delete what the WeChat messenger keeps about a person (in the caller's transaction)."""
    if key.messenger != MESSENGER:
        return
    conn.execute("DELETE FROM wecom_inbox WHERE external_userid = ?", (key.user_id,))
    conn.execute("DELETE FROM wecom_people WHERE external_userid = ?", (key.user_id,))


def keep_turn(
    conn: sqlite3.Connection,
    external_userid: str,
    open_kfid: str,
    messages: Sequence[Reply],
    menu: dict[str, Any] | None,
    pages: list[dict[str, Any]],
    msgids: Sequence[str],
    reminders: Sequence[tuple[int, Sequence[cases.ChangeRow]]] = (),
    done_at: str = "",
) -> None:
    """Keep a turn's messages to send, counted against the person's 5, with the screen and
    pages after it, and take the messages it answers out of the inbox (the caller's transaction).

    The held reminders the turn carries end as sent, with their records on the cases, in the
    same transaction: once kept, the turn goes out (after a crash, or WeCom down, at the next
    pull), so a reminder held again would be sent twice.
    """
    _keep(conn, external_userid, open_kfid, messages)
    if messages:
        count_sent(conn, external_userid, open_kfid, len(messages))
    save_screen(conn, external_userid, open_kfid, menu, pages)
    handled(conn, list(msgids))
    for reminder_id, rows in reminders:
        cases.record_sent(conn, reminder_id, rows, done_at)


def rekeep(
    conn: sqlite3.Connection,
    external_userid: str,
    open_kfid: str,
    replaced: Sequence[int],
    messages: Sequence[Reply],
    pages: list[dict[str, Any]],
) -> None:
    """Put `messages` in place of the kept rows `replaced`, and keep the waiting pages."""
    _unkeep(conn, replaced)
    _keep(conn, external_userid, open_kfid, messages)
    save_screen(conn, external_userid, open_kfid, None, pages)


def unsent(conn: sqlite3.Connection, open_kfid: str) -> list[KeptRow]:
    """Return the messages kept for the account's people and not yet sent, oldest first."""
    rows = conn.execute(
        "SELECT id, user_id, chat_id, replies FROM outbox WHERE messenger = ? ORDER BY id",
        (MESSENGER,),
    ).fetchall()
    mine = f"{open_kfid}|"
    return [
        (int(row[0]), row[1], mailbox.decode_replies(row[3])[0])
        for row in rows
        if str(row[2]).startswith(mine)
    ]


def unkeep(
    conn: sqlite3.Connection,
    ids: Sequence[int],
    external_userid: str,
    open_kfid: str,
    given_back: int,
) -> None:
    """Forget kept messages (sent, or refused by WeCom); give back what was not sent."""
    _unkeep(conn, ids)
    if given_back:
        count_sent(conn, external_userid, open_kfid, -given_back)


def _keep(
    conn: sqlite3.Connection, external_userid: str, open_kfid: str, messages: Sequence[Reply]
) -> None:
    at = to_utc_iso(datetime.now(UTC), "created_at")
    key = ConversationKey(MESSENGER, external_userid)
    chat_id = f"{open_kfid}|{external_userid}"
    for message in messages:  # a row each: each is forgotten as soon as WeCom took it
        mailbox.keep(conn, key, chat_id, [message], at)


def _unkeep(conn: sqlite3.Connection, ids: Sequence[int]) -> None:
    conn.executemany("DELETE FROM outbox WHERE id = ?", [(i,) for i in ids])
