"""`PostgresStore`: the engine's `Store` on PostgreSQL, evidence bytes included.

The same public methods as `SqliteStore`, with the same meaning and errors (StorageError,
AlreadyHandled), running the same SQL modules through storage/postgres/connection.py. The
driver is psycopg 3's blocking API on a pool of connections, each call one transaction run in a
worker thread: one thread hop per step, as on SQLite, and no statement-by-statement awaits.
What PostgreSQL changes: several processes may share the database, so reminders are claimed
with a lease (storage/postgres/reminders.py) and a redelivered update is caught by the
deliveries table's key, not by a read before the write; evidence bytes live in the database
(no disk is shared between machines); and steps commit one by one, with no group commit.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg_pool import ConnectionPool

import storage.cases as cases
import storage.conversations as conversations
import storage.deliveries as deliveries
import storage.documents as documents
import storage.forget as forget
import storage.mailbox as mailbox
import storage.postgres.blobs as blobs
import storage.postgres.reminders as claims
import storage.reminders as reminders
import storage.screenshots as screenshots
import storage.steps as steps
from flows.errors import AlreadyHandled
from flows.model import ConversationKey, Reply
from flows.records import (
    BlobRef,
    CaseChange,
    CaseRecord,
    CaseSummary,
    Conversation,
    Deliveries,
    Forgotten,
    Inbound,
    InboxEntry,
    OutboxEntry,
    Reminder,
    StepCommit,
)
from storage.db import to_utc_iso
from storage.errors import StorageError
from storage.postgres.connection import Connection, row_factory
from storage.postgres.migrations import MIGRATIONS, apply_migrations

log = logging.getLogger(__name__)

T = TypeVar("T")

# How long a claimed reminder is held for its sender; one whose sender died is due again after.
LEASE = timedelta(minutes=5)

# Notified with the messenger's name whenever updates are kept: workers sharing the inbox
# (storage/postgres/conversation_locks.py) look for work at once instead of at their next timer.
INBOX_CHANNEL = "complaint_bot_inbox"
_NOTICE_BYTES = 7000

# As in SqliteStore: bytes put for a step not yet committed are not deleted as unused meanwhile.
_UNCLAIMED_TTL = 3600.0
_PRUNE_EVERY = 1000
# Advisory key serialising inbox writes across processes (any constant of our own).
_INBOX_LOCK = 7_318_046_211

Audience = str | ConversationKey | None


def _audience(audience: Audience) -> tuple[str | None, str | None]:
    if isinstance(audience, ConversationKey):
        return audience.messenger, audience.user_id
    return audience, None


def inbox_notice(messenger: str, updates: Sequence[Inbound]) -> str:
    """Return the notice of updates kept: the messenger, then the people they are from.

    One per line ('' for an update without a person); only the messenger when they would not
    fit in a notice (8,000 bytes), which tells a listener to look at every conversation.
    """
    lanes = "\n".join(dict.fromkeys(update.user_id or "" for update in updates))
    notice = f"{messenger}\n{lanes}"
    return notice if len(notice.encode()) < _NOTICE_BYTES else messenger


def redact(url: str) -> str:
    """Return `url` without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def migrate(url: str) -> list[str]:
    """Bring the database at `url` up to date; return the names of the migrations applied."""
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as raw:
            return apply_migrations(raw, MIGRATIONS)
    except psycopg.Error as e:
        raise StorageError(
            f"storage.url: cannot use {redact(url)!r}: {e} (is the server running, and may"
            " this user create tables in that database?)"
        ) from e


class PostgresStore:
    """Keep conversations, cases, evidence and timelines, and evidence bytes, in PostgreSQL."""

    def __init__(self, pool: ConnectionPool, data_dir: str | Path, workers: int) -> None:
        self._pool = pool
        self._data_dir = Path(data_dir)
        self._threads = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="postgres")
        self._unclaimed: dict[str, tuple[int, float]] = {}  # path -> (puts not committed, when)
        self._closed = False
        self._recorded = 0
        self._accepted = 0  # writes that kept updates, to prune now and then

    @classmethod
    async def open(cls, url: str, data_dir: str | Path, pool_size: int = 10) -> PostgresStore:
        """Connect to the database at `url` and bring its schema up to date."""
        await asyncio.to_thread(migrate, url)
        pool = ConnectionPool(
            url,
            min_size=1,
            max_size=pool_size,
            kwargs={"row_factory": row_factory},
            open=False,
            name="complaint-bot",
        )
        try:
            await asyncio.to_thread(pool.open, True, 10.0)
        except psycopg.Error as e:
            await asyncio.to_thread(pool.close)
            raise StorageError(f"storage.url: cannot connect to {redact(url)!r}: {e}") from e
        return cls(pool, data_dir, pool_size)

    async def check_writable(self) -> None:
        """Raise StorageError now, at start-up, if the evidence table cannot be reached."""
        await self._run(lambda c: c.execute("SELECT 1 FROM blobs LIMIT 1").fetchall())

    @property
    def data_dir(self) -> Path:
        """Return the folder documents saved for people go under (evidence is in the database)."""
        return self._data_dir

    async def close(self) -> None:
        """Close the pool once the calls in progress are done; closing twice is fine."""
        if self._closed:
            return
        self._closed = True
        await asyncio.to_thread(self._threads.shutdown, True)
        await asyncio.to_thread(self._pool.close)

    async def load_conversation(self, key: ConversationKey) -> Conversation | None:
        """Return the saved conversation of this person, or None if they never wrote."""
        return await self._run(lambda c: conversations.load(c.as_sqlite(), key))

    async def read_blob(self, path: str) -> bytes:
        """Return the bytes of a stored evidence file (OSError when it is gone)."""
        found = await self._run(lambda c: blobs.read(c, path))
        if found is None:
            raise FileNotFoundError(f"evidence file {path} is not in the database")
        return found

    async def put_blob(self, data: bytes) -> BlobRef:
        """Store bytes content-addressed (idempotent) and return where they are."""
        at = datetime.now(UTC).isoformat()

        def write(c: Connection) -> BlobRef:
            ref = blobs.ref_of(data)  # hashing 20 MB blocks: keep it off the event loop
            blobs.put(c, ref, data, at)
            return ref

        ref = await self._run(write)
        now = time.monotonic()
        self._unclaimed = {
            p: mark for p, mark in self._unclaimed.items() if now - mark[1] < _UNCLAIMED_TTL
        }
        count, _ = self._unclaimed.get(ref.path, (0, now))
        self._unclaimed[ref.path] = (count + 1, now)
        return ref

    async def commit(self, step: StepCommit) -> str | None:
        """Write one step atomically; return the new case number when a case was filed."""
        moment = datetime.now(UTC)
        now = moment.isoformat()
        delivered = self._delivery_writer(step.deliveries, moment)
        rows = steps.encode(step, now)
        keep = frozenset(self._unclaimed)

        def write(c: Connection) -> tuple[str | None, list[str]]:
            conn = c.as_sqlite()
            delivered(c)
            written = steps.write(conn, rows)
            # Unused bytes go in the same transaction: no window where rows and bytes disagree.
            blobs.delete(c, _unused(conn, written.dropped, keep))
            return written.number, written.newly

        number, newly = await self._run(write)
        self._claim([*(record.path for record in step.evidence), *newly])
        return number

    async def list_cases(self, key: ConversationKey) -> list[CaseSummary]:
        """Return this person's cases, newest first."""
        return await self._run(lambda c: cases.summaries(c.as_sqlite(), key))

    async def get_case(self, key: ConversationKey, number: str) -> CaseRecord | None:
        """Return the case if it exists AND belongs to this person, else None."""
        found = await self._run(lambda c: cases.load(c.as_sqlite(), number=number, owner=key))
        return found[0] if found else None

    async def find_case(self, number: str) -> CaseRecord | None:
        """Return the case with this number whoever owns it (for operators)."""
        found = await self._run(lambda c: cases.load(c.as_sqlite(), number=number))
        return found[0] if found else None

    async def list_all_cases(self, user: str | None = None) -> list[CaseRecord]:
        """Return every case, or those of `user` ("messenger:user_id"), newest first."""
        owner = None
        if user is not None:
            messenger, _, user_id = user.partition(":")
            if not messenger or not user_id:
                raise ValueError(f"user: expected 'messenger:user_id', got {user!r}")
            owner = ConversationKey(messenger, user_id)
        return await self._run(lambda c: cases.load(c.as_sqlite(), owner=owner))

    async def change_case(self, change: CaseChange) -> bool:
        """Apply a lifecycle step; False when the case is missing, not theirs, or moved on."""
        moment = datetime.now(UTC)
        row = cases.encode_change(change, moment)
        delivered = self._delivery_writer(change.deliveries, moment)

        def write(c: Connection) -> bool:
            applied = cases.apply_change(c.as_sqlite(), row)
            if applied:
                delivered(c)
            return applied

        return await self._run(write)

    async def reminder_sent(self, reminder_id: int, changes: Sequence[CaseChange]) -> bool:
        """End a reminder as sent with the first of `changes` that applies, in one transaction."""
        moment = datetime.now(UTC)
        rows = [cases.encode_change(change, moment) for change in changes]
        done_at = to_utc_iso(moment, "done_at")
        return await self._run(
            lambda c: cases.record_sent(c.as_sqlite(), reminder_id, rows, done_at)
        )

    async def handled(self, found: Deliveries) -> bool:
        """Return True when every one of these deliveries was recorded as handled."""
        return await self._run(lambda c: deliveries.handled(c.as_sqlite(), found))

    async def mark_handled(self, found: Deliveries) -> None:
        """Record deliveries as handled (for a message that changed nothing else)."""
        await self._run(self._delivery_writer(found, datetime.now(UTC)))

    def _delivery_writer(
        self, found: Deliveries | None, moment: datetime
    ) -> Callable[[Connection], None]:
        """Return what records `found` inside a write transaction (nothing when None)."""
        if found is None or not found.ids:
            return lambda c: None
        at = to_utc_iso(moment, "handled_at")
        self._recorded += 1
        prune = self._recorded % _PRUNE_EVERY == 1

        def write(c: Connection) -> None:
            # Two processes handling one update: the second one's insert waits on the key
            # until the first commits, then inserts nothing. Counting what was inserted, not
            # reading first, is what catches it.
            inserted = 0
            for delivery_id in dict.fromkeys(found.ids):
                inserted += c.execute(
                    "INSERT INTO deliveries (messenger, delivery_id, handled_at)"
                    " VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                    (found.messenger, delivery_id, at),
                ).rowcount
            if inserted == 0:
                raise AlreadyHandled(f"{found.messenger}: {', '.join(found.ids)[:200]}")
            if prune:
                deliveries.prune(c.as_sqlite(), moment)

        return write

    def documents_dir(self, key: ConversationKey) -> Path:
        """Return where documents saved for this person go (forgetting them removes it)."""
        return documents.folder_of(self.data_dir, key)

    async def forget(self, key: ConversationKey) -> Forgotten | None:
        """Delete everything about this person, their evidence bytes included; None if unknown."""
        keep = frozenset(self._unclaimed)

        def write(c: Connection) -> Forgotten | None:
            forgotten, orphans = forget.delete(c.as_sqlite(), key)
            blobs.delete(c, [path for path in orphans if path not in keep and _is_blob(path)])
            return forgotten

        forgotten = await self._run(write)
        removed = await asyncio.to_thread(documents.remove, self.documents_dir(key))
        return replace(forgotten, documents=removed) if forgotten else None

    async def forget_preview(self, key: ConversationKey) -> Forgotten | None:
        """Return what `forget` would delete, or None if this person never wrote."""
        preview = await self._run(lambda c: forget.count(c.as_sqlite(), key))
        if preview is None:
            return None
        saved = await asyncio.to_thread(documents.count, self.documents_dir(key))
        return replace(preview, documents=saved)

    async def due_reminders(
        self, now: datetime, limit: int = 100, *, audience: Audience = None
    ) -> list[Reminder]:
        """Return pending reminders due at or before `now`, earliest first.

        One that a sender has claimed (claim_reminders) is left out until its lease runs out.
        """
        at = to_utc_iso(now, "now")
        messenger, user_id = _audience(audience)
        return await self._run(lambda c: claims.due(c, at, limit, messenger, user_id))

    async def claim_reminders(
        self,
        now: datetime,
        limit: int = 100,
        *,
        audience: Audience = None,
        lease: timedelta = LEASE,
    ) -> list[Reminder]:
        """Claim the reminders due_reminders would return, for `lease`, and return them.

        Another process sharing the database gets none of them until the lease runs out; the
        caller ends each one (finish_reminder), retries it or releases it.
        """
        at = to_utc_iso(now, "now")
        until = to_utc_iso(now + lease, "lease_until")
        messenger, user_id = _audience(audience)
        return await self._run(lambda c: claims.claim(c, at, until, limit, messenger, user_id))

    async def next_due_at(self, *, audience: Audience = None) -> datetime | None:
        """Return when the next pending reminder (of `audience`) may be claimed."""
        messenger, user_id = _audience(audience)
        return await self._run(lambda c: claims.next_due_at(c, messenger, user_id))

    async def pending_reminders(self, limit: int | None = None) -> list[Reminder]:
        """Return pending reminders (all, or the first `limit`), earliest first."""
        return await self._run(lambda c: reminders.pending(c.as_sqlite(), limit))

    async def finish_reminder(self, reminder_id: int, status: str) -> bool:
        """End a pending reminder as sent, undeliverable, failed or cancelled."""
        reminders.check_ending(status)
        done_at = to_utc_iso(datetime.now(UTC), "done_at")
        return await self._run(
            lambda c: reminders.finish(c.as_sqlite(), reminder_id, status, done_at)
        )

    async def retry_reminder(self, reminder_id: int, due_at: datetime) -> bool:
        """Count a failed attempt and make the reminder due again at `due_at`."""
        at = to_utc_iso(due_at, "due_at")

        def write(c: Connection) -> bool:
            retried = reminders.retry(c.as_sqlite(), reminder_id, at)
            claims.release(c, reminder_id)
            return retried

        return await self._run(write)

    async def release_reminder(self, reminder_id: int) -> None:
        """Give up a claim without an attempt (a pass that stopped): due again for anyone."""
        await self._run(lambda c: claims.release(c, reminder_id))

    async def set_unreachable(self, key: ConversationKey, unreachable: bool) -> None:
        """Mark the person as having blocked the bot, or as reachable again."""
        since = to_utc_iso(datetime.now(UTC), "since") if unreachable else None
        await self._run(lambda c: conversations.set_unreachable(c.as_sqlite(), key, since))

    async def read_sql(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run a shared SQL module's reads `fn` (the WeChat state) in one transaction."""
        return await self._run(lambda c: fn(c.as_sqlite()))

    async def write_sql(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run a shared SQL module's writes `fn` (the WeChat state) in one transaction."""
        return await self._run(lambda c: fn(c.as_sqlite()))

    async def accept_updates(self, messenger: str, updates: Sequence[Inbound]) -> int:
        """Keep updates not seen before, in their order; return how many were new."""
        moment = datetime.now(UTC)
        at = to_utc_iso(moment, "received_at")
        self._accepted += 1
        prune = self._accepted % _PRUNE_EVERY == 1

        def write(c: Connection) -> int:
            # One keeper at a time, so that inbox ids become visible in their order: a leader
            # reading "after id N" must never pass an id another process has yet to commit.
            c.execute("SELECT pg_advisory_xact_lock(?)", (_INBOX_LOCK,))
            if prune:
                mailbox.prune(c.as_sqlite(), moment)
            added = mailbox.accept(c.as_sqlite(), messenger, updates, at)
            if added:  # delivered at commit, to every process listening
                notice = inbox_notice(messenger, updates)
                c.execute("SELECT pg_notify(?, ?)", (INBOX_CHANNEL, notice))
            return added

        return await self._run(write)

    async def pending_updates(
        self, messenger: str, after: int = 0, limit: int = 100, *, user_id: str | None = None
    ) -> list[InboxEntry]:
        """Return up to `limit` pending updates with an id above `after`, oldest first.

        With `user_id`, only that person's ('' for updates without a person).
        """
        return await self._run(
            lambda c: mailbox.pending(c.as_sqlite(), messenger, after, limit, user_id)
        )

    async def finish_updates(self, messenger: str, delivery_ids: Sequence[str]) -> None:
        """Mark these updates handled, with nothing to send."""
        at = to_utc_iso(datetime.now(UTC), "done_at")
        await self._run(lambda c: mailbox.finish(c.as_sqlite(), messenger, delivery_ids, at))

    async def keep_replies(
        self,
        key: ConversationKey,
        chat_id: str,
        replies: Sequence[Reply],
        done: Sequence[str],
    ) -> int | None:
        """Keep a message's replies to send and finish its updates `done`, in one transaction."""
        at = to_utc_iso(datetime.now(UTC), "created_at")

        def write(c: Connection) -> int | None:
            conn = c.as_sqlite()
            mailbox.finish(conn, key.messenger, done, at)
            return mailbox.keep(conn, key, chat_id, replies, at) if replies else None

        return await self._run(write)

    async def unsent_replies(
        self, messenger: str, *, user_id: str | None = None
    ) -> list[OutboxEntry]:
        """Return the kept replies not yet sent (all, or that person's), oldest first."""
        return await self._run(lambda c: mailbox.unsent(c.as_sqlite(), messenger, user_id))

    async def replies_sent(self, outbox_id: int) -> None:
        """Forget kept replies once they went out."""
        await self._run(lambda c: mailbox.sent(c.as_sqlite(), outbox_id))

    async def _run(self, fn: Callable[[Connection], T]) -> T:
        """Run `fn` as one transaction on a pooled connection, in a worker thread."""
        if self._closed:
            raise StorageError("database: the store is closed")

        def work() -> T:
            # The pool's context commits when `fn` returns and rolls back when it raises.
            with self._pool.connection() as raw:
                return fn(Connection(raw))

        try:
            return await asyncio.get_running_loop().run_in_executor(self._threads, work)
        except psycopg.Error as e:
            raise StorageError(f"database: {e}") from e

    def _claim(self, paths: list[str]) -> None:
        for path in paths:
            count, when = self._unclaimed.pop(path, (0, 0.0))
            if count > 1:
                self._unclaimed[path] = (count - 1, when)


def _is_blob(path: str) -> bool:
    try:
        blobs.sha256_of(path)
    except ValueError:
        return False
    return True


def _unused(conn: sqlite3.Connection, dropped: list[str], keep: frozenset[str]) -> list[str]:
    """Return the dropped files nobody uses any more and no step of ours is about to."""
    return [
        path
        for path in dict.fromkeys(dropped)
        if path not in keep and _is_blob(path) and not screenshots.used(conn, path)
    ]
