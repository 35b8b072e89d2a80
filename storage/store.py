"""`SqliteStore`: the engine's `Store` on SQLite plus content-addressed evidence files."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import aiosqlite

import storage.cases as cases
import storage.conversations as conversations
import storage.deliveries as deliveries
import storage.documents as documents
import storage.forget as forget
import storage.mailbox as mailbox
import storage.reminders as reminders
import storage.screenshots as screenshots
import storage.steps as steps
from flows.model import ConversationKey, Reply
from flows.ports import Audience
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
from storage.blobs import BlobStore
from storage.db import FileIdentity, connect, run_sync, to_utc_iso, write_transaction
from storage.errors import StorageError
from storage.group_commit import GroupCommit
from storage.migrations import migrate

log = logging.getLogger(__name__)

T = TypeVar("T")

# A blob is written before the step that references it commits; until then a discarded draft
# that shared the same file must not delete it. Marks older than this belong to steps that
# failed, and are forgotten so the table cannot grow without bound.
_UNCLAIMED_TTL = 3600.0

# Every this many writes that record deliveries, records past their keeping time are dropped.
_PRUNE_EVERY = 1000


def _audience(audience: Audience) -> tuple[str | None, str | None]:
    if isinstance(audience, ConversationKey):
        return audience.messenger, audience.user_id
    return audience, None


class SqliteStore:
    """Keep conversations, cases, evidence and timelines in SQLite and files on disk.

    One process per database: claims on reminders are kept in memory, so that a restart after
    a crash sends at once what the dead process had claimed.
    """

    def __init__(
        self, conn: aiosqlite.Connection, data_dir: str | Path, db_file: FileIdentity | None = None
    ) -> None:
        self._conn = conn
        self._db_file = db_file  # None: in memory
        self._blobs = BlobStore(data_dir)
        # One writer: a commit deletes unused files after its transaction, and the next
        # commit must not start until that is done.
        self._write_lock = asyncio.Lock()
        self._group = GroupCommit(conn, self._write_lock)
        # Writing a file and deleting it as unused must not interleave, or a file just put
        # for a step that is about to commit could vanish under it.
        self._blob_lock = asyncio.Lock()
        self._unclaimed: dict[str, tuple[int, float]] = {}  # path -> (puts not committed, when)
        self._closed = False
        self._recorded = 0  # writes that recorded deliveries, to prune now and then
        self._accepted = 0  # writes that kept updates, likewise
        self._claims: dict[int, datetime] = {}  # claimed reminder id -> end of its lease
        self._claim_lock = asyncio.Lock()

    @classmethod
    async def open(cls, db_path: str | Path, data_dir: str | Path) -> SqliteStore:
        """Open (or create) the database and bring its schema up to date."""
        conn = await connect(db_path)
        try:
            await migrate(conn)
        except BaseException:
            await conn.close()
            raise
        in_memory = str(db_path) == ":memory:"
        return cls(conn, data_dir, None if in_memory else FileIdentity(Path(db_path)))

    async def check_writable(self) -> None:
        """Raise StorageError now, at start-up, if evidence files cannot be written.

        Files a killed process left half-written are deleted first: only one bot process runs
        on a database (storage/lock.py), and this is its start.
        """
        try:
            swept = await asyncio.to_thread(self._blobs.sweep_incoming)
            if swept:
                log.info("deleted %s half-written evidence files left by a crash", swept)
            await asyncio.to_thread(self._blobs.check_writable)
        except OSError as e:
            raise StorageError(
                f"storage.data_dir: cannot write evidence files under {str(self.data_dir)!r}:"
                f" {e.strerror or e} (check the path, and that the bot's user may write there)"
            ) from e

    @property
    def data_dir(self) -> Path:
        """Return the folder evidence files are stored under."""
        return self._blobs.data_dir

    async def close(self) -> None:
        """Close the database after the write in progress, if any; closing twice is fine."""
        async with self._write_lock:
            if not self._closed:
                self._closed = True
                await self._conn.close()

    async def load_conversation(self, key: ConversationKey) -> Conversation | None:
        """Return the saved conversation of this person, or None if they never wrote."""
        return await self._run(lambda conn: conversations.load(conn, key))

    async def read_blob(self, path: str) -> bytes:
        """Return the bytes of a stored evidence file (OSError when it is gone)."""
        return await asyncio.to_thread(self._blobs.path_of(path).read_bytes)

    async def put_blob(self, data: bytes) -> BlobRef:
        """Store bytes content-addressed (idempotent) and return where they are."""
        async with self._blob_lock:
            try:
                ref = await self._blobs.put(data)
            except OSError as e:
                raise StorageError(f"evidence folder {self.data_dir}: cannot write: {e}") from e
            now = time.monotonic()
            self._unclaimed = {
                p: mark for p, mark in self._unclaimed.items() if now - mark[1] < _UNCLAIMED_TTL
            }
            count, _ = self._unclaimed.get(ref.path, (0, now))
            self._unclaimed[ref.path] = (count + 1, now)
            return ref

    async def commit(self, step: StepCommit) -> str | None:
        """Write one step atomically; return the new case number when a case was filed.

        The whole step runs as one function on the database thread: one thread hop (~100 us
        each with aiosqlite) instead of one per statement, and no other coroutine's statement
        can land inside the transaction. Steps of other people waiting meanwhile share the hop
        (each in its own transaction): see storage/group_commit.py. The rows go in the order
        storage/steps.py gives every backend.
        """
        # Encoding here, before the transaction, reports bad data without touching the database.
        moment = datetime.now(UTC)
        now = moment.isoformat()
        delivered = self._delivery_writer(step.deliveries, moment)
        rows = steps.encode(step, now)

        def write(conn: sqlite3.Connection) -> tuple[str | None, list[str], list[str]]:
            conn.execute("BEGIN IMMEDIATE")
            try:
                delivered(conn)
                written = steps.write(conn, rows)
                orphans = [
                    path
                    for path in dict.fromkeys(written.dropped)
                    if not screenshots.used(conn, path)
                ]
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            return written.number, orphans, written.newly

        async def after(written: tuple[str | None, list[str], list[str]]) -> None:
            # A checked screenshot's file is claimed once its conversation refers to it.
            self._claim([*(record.path for record in step.evidence), *written[2]])
            if written[1]:
                await self._delete_files(written[1])

        if self._closed:
            raise StorageError("database: the store is closed")
        self._check_file()
        number, _, _ = await self._group.write(write, after)
        return number

    async def list_cases(self, key: ConversationKey) -> list[CaseSummary]:
        """Return this person's cases, newest first."""
        return await self._run(lambda conn: cases.summaries(conn, key))

    async def get_case(self, key: ConversationKey, number: str) -> CaseRecord | None:
        """Return the case if it exists AND belongs to this person, else None."""
        # One query with the owner in its WHERE: someone else's case and a missing one are
        # the same empty result, so neither the answer nor its timing tells them apart.
        found = await self._run(lambda conn: cases.load(conn, number=number, owner=key))
        return found[0] if found else None

    async def find_case(self, number: str) -> CaseRecord | None:
        """Return the case with this number whoever owns it (for operators)."""
        found = await self._run(lambda conn: cases.load(conn, number=number))
        return found[0] if found else None

    async def list_all_cases(self, user: str | None = None) -> list[CaseRecord]:
        """Return every case, or those of `user` ("messenger:user_id"), newest first."""
        owner = None
        if user is not None:
            messenger, _, user_id = user.partition(":")
            if not messenger or not user_id:
                raise ValueError(f"user: expected 'messenger:user_id', got {user!r}")
            owner = ConversationKey(messenger, user_id)
        return await self._run(lambda conn: cases.load(conn, owner=owner))

    async def change_case(self, change: CaseChange) -> bool:
        """Apply a lifecycle step; False when the case is missing, not theirs, or moved on."""
        moment = datetime.now(UTC)
        row = cases.encode_change(change, moment)
        delivered = self._delivery_writer(change.deliveries, moment)

        def write(conn: sqlite3.Connection) -> bool:
            applied = cases.apply_change(conn, row)
            if applied:  # a change that does not apply writes nothing, deliveries included
                delivered(conn)
            return applied

        return await self._write(write)

    async def reminder_sent(self, reminder_id: int, changes: Sequence[CaseChange]) -> bool:
        """End a reminder as sent with the first of `changes` that applies, in one transaction."""
        moment = datetime.now(UTC)
        rows = [cases.encode_change(change, moment) for change in changes]
        done_at = to_utc_iso(moment, "done_at")
        ended = await self._write(lambda conn: cases.record_sent(conn, reminder_id, rows, done_at))
        self._claims.pop(reminder_id, None)
        return ended

    async def handled(self, found: Deliveries) -> bool:
        """Return True when every one of these deliveries was recorded as handled."""
        return await self._run(lambda conn: deliveries.handled(conn, found))

    async def mark_handled(self, found: Deliveries) -> None:
        """Record deliveries as handled (for a message that changed nothing else)."""
        await self._write(self._delivery_writer(found, datetime.now(UTC)))

    def _delivery_writer(
        self, found: Deliveries | None, moment: datetime
    ) -> Callable[[sqlite3.Connection], None]:
        """Return what records `found` inside a write transaction (nothing when None)."""
        if found is None or not found.ids:
            return lambda conn: None
        at = to_utc_iso(moment, "handled_at")
        self._recorded += 1
        prune = self._recorded % _PRUNE_EVERY == 1

        def write(conn: sqlite3.Connection) -> None:
            deliveries.record(conn, found, at)
            if prune:
                deliveries.prune(conn, moment)

        return write

    def documents_dir(self, key: ConversationKey) -> Path:
        """Return where documents saved for this person go (forgetting them removes it)."""
        return documents.folder_of(self.data_dir, key)

    async def forget(self, key: ConversationKey) -> Forgotten | None:
        """Delete everything about this person and their files; None if they never wrote.

        The rows go in one transaction; then the files no one else references are removed,
        and the documents saved for them.
        """
        self._check_file()
        async with self._write_lock:
            forgotten, orphans = await self._run(
                lambda conn: write_transaction(conn, lambda c: forget.delete(c, key))
            )
            if orphans:
                await self._delete_files(orphans)
            removed = await asyncio.to_thread(documents.remove, self.documents_dir(key))
        return replace(forgotten, documents=removed) if forgotten else None

    async def forget_preview(self, key: ConversationKey) -> Forgotten | None:
        """Return what `forget` would delete, or None if this person never wrote."""
        preview = await self._run(lambda conn: forget.count(conn, key))
        if preview is None:
            return None
        saved = await asyncio.to_thread(documents.count, self.documents_dir(key))
        return replace(preview, documents=saved)

    async def due_reminders(
        self, now: datetime, limit: int = 100, *, audience: Audience = None
    ) -> list[Reminder]:
        """Return pending reminders due at or before `now`, earliest first.

        `audience` keeps to the reminders of people on one messenger, or of one person: a
        console session and a Telegram bot sharing one database each send only their own.
        """
        at = to_utc_iso(now, "now")
        messenger, user_id = _audience(audience)
        return await self._run(lambda conn: reminders.due(conn, at, limit, messenger, user_id))

    async def next_due_at(self, *, audience: Audience = None) -> datetime | None:
        """Return the earliest due_at of any pending reminder (of `audience`)."""
        messenger, user_id = _audience(audience)
        return await self._run(lambda conn: reminders.next_due_at(conn, messenger, user_id))

    async def claim_reminders(
        self,
        now: datetime,
        limit: int = 100,
        *,
        audience: Audience = None,
        lease: timedelta = timedelta(minutes=5),
    ) -> list[Reminder]:
        """Take up to `limit` due reminders of `audience` to send, earliest first.

        A claimed reminder is not given to another claim until it is finished, retried or
        released, or until `lease` after `now` has passed.
        """
        at = to_utc_iso(now, "now")
        messenger, user_id = _audience(audience)
        async with self._claim_lock:
            self._claims = {rid: until for rid, until in self._claims.items() if until > now}
            # Claimed rows are still pending and due: ask for enough to skip over them.
            wanted = limit + len(self._claims)
            due = await self._run(lambda conn: reminders.due(conn, at, wanted, messenger, user_id))
            taken = [reminder for reminder in due if reminder.id not in self._claims][:limit]
            for reminder in taken:
                self._claims[reminder.id] = now + lease
        return taken

    async def pending_reminders(self, limit: int | None = None) -> list[Reminder]:
        """Return pending reminders (all, or the first `limit`), earliest first."""
        return await self._run(lambda conn: reminders.pending(conn, limit))

    async def finish_reminder(self, reminder_id: int, status: str) -> bool:
        """End a reminder as sent, undeliverable, failed or cancelled; False if it had ended.

        Only a pending reminder ends, except as `sent`: one the case cancelled while it was on
        its way went out all the same.
        """
        reminders.check_ending(status)
        done_at = to_utc_iso(datetime.now(UTC), "done_at")
        ended = await self._write(lambda conn: reminders.finish(conn, reminder_id, status, done_at))
        self._claims.pop(reminder_id, None)
        return ended

    async def retry_reminder(self, reminder_id: int, due_at: datetime) -> bool:
        """Count a failed attempt and make a pending reminder due again at `due_at`."""
        at = to_utc_iso(due_at, "due_at")
        retried = await self._write(lambda conn: reminders.retry(conn, reminder_id, at))
        self._claims.pop(reminder_id, None)
        return retried

    async def release_reminder(self, reminder_id: int) -> None:
        """Give back a claimed reminder whose sending was interrupted: due again as it was.

        Nothing happens to a reminder that is not claimed or has ended.
        """
        self._claims.pop(reminder_id, None)

    async def set_unreachable(self, key: ConversationKey, unreachable: bool) -> None:
        """Mark the person as having blocked the bot, or as reachable again."""
        since = to_utc_iso(datetime.now(UTC), "since") if unreachable else None
        await self._write(lambda conn: conversations.set_unreachable(conn, key, since))

    async def accept_updates(self, messenger: str, updates: Sequence[Inbound]) -> int:
        """Keep updates not seen before, in their order; return how many were new."""
        moment = datetime.now(UTC)
        at = to_utc_iso(moment, "received_at")
        self._accepted += 1
        prune = self._accepted % _PRUNE_EVERY == 1

        def write(conn: sqlite3.Connection) -> int:
            if prune:
                mailbox.prune(conn, moment)
            return mailbox.accept(conn, messenger, updates, at)

        return await self._write(write)

    async def pending_updates(
        self, messenger: str, after: int = 0, limit: int = 100, *, user_id: str | None = None
    ) -> list[InboxEntry]:
        """Return up to `limit` pending updates with an id above `after`, oldest first.

        With `user_id`, only that person's ('' for updates without a person).
        """
        return await self._run(lambda conn: mailbox.pending(conn, messenger, after, limit, user_id))

    async def finish_updates(self, messenger: str, delivery_ids: Sequence[str]) -> None:
        """Mark these updates handled, with nothing to send."""
        at = to_utc_iso(datetime.now(UTC), "done_at")
        await self._write(lambda conn: mailbox.finish(conn, messenger, delivery_ids, at))

    async def keep_replies(
        self,
        key: ConversationKey,
        chat_id: str,
        replies: Sequence[Reply],
        done: Sequence[str],
    ) -> int | None:
        """Keep a message's replies to send and finish its updates `done`, in one transaction."""
        at = to_utc_iso(datetime.now(UTC), "created_at")

        def write(conn: sqlite3.Connection) -> int | None:
            mailbox.finish(conn, key.messenger, done, at)
            return mailbox.keep(conn, key, chat_id, replies, at) if replies else None

        return await self._write(write)

    async def unsent_replies(
        self, messenger: str, *, user_id: str | None = None
    ) -> list[OutboxEntry]:
        """Return the kept replies not yet sent (all, or that person's), oldest first."""
        return await self._run(lambda conn: mailbox.unsent(conn, messenger, user_id))

    async def replies_sent(self, outbox_id: int) -> None:
        """Forget kept replies once they went out."""
        await self._write(lambda conn: mailbox.sent(conn, outbox_id))

    async def read_sql(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn` on the connection, for a SQLite-only module's reads (the WeChat state)."""
        return await self._run(fn)

    async def write_sql(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn` in one write transaction, for a SQLite-only module's writes."""
        return await self._write(fn)

    async def _write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        self._check_file()
        async with self._write_lock:
            return await self._run(lambda conn: write_transaction(conn, fn))

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._closed:
            raise StorageError("database: the store is closed")
        return await run_sync(self._conn, fn)

    def _check_file(self) -> None:
        if self._db_file is not None:
            self._db_file.check()

    def _claim(self, paths: Iterable[str]) -> None:
        for path in paths:
            count, when = self._unclaimed.pop(path, (0, 0.0))
            if count > 1:
                self._unclaimed[path] = (count - 1, when)

    async def _delete_files(self, paths: list[str]) -> None:
        # The rows are already gone and committed; a file left behind is only wasted space,
        # so a failure here is logged rather than reported as a failed step.
        async with self._blob_lock:
            for path in paths:
                if path in self._unclaimed:
                    continue
                try:
                    await self._blobs.delete(path)
                except (OSError, ValueError):
                    log.warning("could not delete unused evidence file %s", path, exc_info=True)
