"""The WeChat messenger's state in the bot's database (see `bot.messengers.wecom.state`).

Composition, not messenger code: it is the one place that joins the messenger's records to
`storage.wecom`'s SQL, and WeCom's access tokens to `storage.wecom_tokens`. Both stores run
that SQL (SQLite on its connection, PostgreSQL through its sqlite3-style one), each write in one
transaction, so one class serves both backends and the store chooses the dialect.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar, runtime_checkable

import storage.cases as cases
import storage.wecom as sql
import storage.wecom_tokens as tokens
from bot.config import ConfigError
from bot.messengers.wecom.state import Kept, Person, Pulled
from flows.model import ConversationKey, Reply
from flows.ports import Store
from flows.records import CaseChange, Reminder
from storage.db import to_utc_iso

T = TypeVar("T")


@runtime_checkable
class SqlRunner(Protocol):
    """A store that runs a storage module's sqlite3-style reads and writes (both backends)."""

    async def read_sql(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn` on a connection of the store."""
        ...

    async def write_sql(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn` in one write transaction."""
        ...


def wecom_state(store: Store) -> StoredWecomState:
    """Return the WeChat state (and token cache) kept in `store`'s database."""
    if not isinstance(store, SqlRunner):
        raise ConfigError(
            f"the WeChat messenger keeps its state in the bot's database, and this store"
            f" ({type(store).__name__}) runs no SQL: use SQLite or storage.url"
        )
    return StoredWecomState(store)


class StoredWecomState:
    """The messenger's rows, read and written through the store's connections.

    Also the API's `TokenCache`: the access token is kept beside the cursors.
    """

    def __init__(self, store: SqlRunner) -> None:
        self.store = store

    async def record_page(
        self,
        open_kfid: str,
        items: list[Pulled],
        cursor: str,
        at: datetime | None = None,
        token: str | None = None,
    ) -> int:
        """Keep a page of pulled messages (pulled `at`) and its cursor, together, and the
        callback token the pull used (None: keep the one before); return how many were new."""
        return await self.store.write_sql(
            lambda c: sql.record_page(c, open_kfid, items, cursor, at, token)
        )

    async def cursor(self, open_kfid: str) -> str | None:
        """Return where pulling resumes for an account (None: from the start)."""
        return await self.store.read_sql(lambda c: sql.cursor(c, open_kfid))

    async def pull_token(self, open_kfid: str, since: datetime) -> str | None:
        """Return the callback token the account's last tokened pull used, if used `since`."""
        return await self.store.read_sql(lambda c: sql.pull_token(c, open_kfid, since))

    async def inbox(self, open_kfid: str) -> list[Pulled]:
        """Return the account's pulled messages not yet handled, in the order pulled."""
        rows = await self.store.read_sql(lambda c: sql.inbox(c, open_kfid))
        return [Pulled(*row) for row in rows]

    async def received(self, msgids: list[str]) -> dict[str, datetime]:
        """Return when each of these messages still in the inbox was first pulled."""
        return await self.store.read_sql(lambda c: sql.received(c, msgids))

    async def handled(self, msgids: list[str]) -> None:
        """Remove handled messages from the inbox."""
        await self.store.write_sql(lambda c: sql.handled(c, msgids))

    async def person(self, person: str) -> Person:
        """Return a person's window, quota use, screen and waiting pages."""
        row = await self.store.read_sql(lambda c: sql.person(c, person))
        return Person(person) if row is None else Person(person, *row)

    async def count_sent(self, person: str, open_kfid: str, sent: int) -> None:
        """Add `sent` messages to the person's use of their current window."""
        await self.store.write_sql(lambda c: sql.count_sent(c, person, open_kfid, sent))

    async def save_screen(
        self, person: str, open_kfid: str, menu: dict[str, Any] | None, pages: list[dict[str, Any]]
    ) -> None:
        """Keep the buttons on the person's screen (None: unchanged) and the waiting pages."""
        await self.store.write_sql(lambda c: sql.save_screen(c, person, open_kfid, menu, pages))

    async def close_window(self, person: str) -> None:
        """Note that WeChat refused a send as out of the window or quota."""
        await self.store.write_sql(lambda c: sql.close_window(c, person))

    async def defer(self, reminder_id: int, at: datetime) -> None:
        """Hold a reminder for its person's next message (the scheduler skips it meanwhile)."""
        await self.store.write_sql(lambda c: sql.defer(c, reminder_id, at))

    async def deferred(self, person: str) -> list[Reminder]:
        """Return the person's deferred reminders, earliest first."""
        return await self.store.read_sql(lambda c: sql.deferred(c, person))

    async def forget(self, key: ConversationKey) -> None:
        """Delete what is kept about a person who has no conversation (left, or forgotten)."""
        await self.store.write_sql(lambda c: sql.forget(c, key))

    async def keep_turn(
        self,
        person: str,
        open_kfid: str,
        messages: list[Reply],
        menu: dict[str, Any] | None,
        pages: list[dict[str, Any]],
        msgids: list[str],
        reminders: Sequence[tuple[int, Sequence[CaseChange]]] = (),
    ) -> None:
        """Keep a turn's messages (counted against the person's 5), its screen and pages, and
        take the messages it answers out of the inbox; end the held `reminders` it carries as
        sent, with their records on the cases: all or nothing."""
        moment = datetime.now(UTC)
        sent = [(i, [cases.encode_change(c, moment) for c in changes]) for i, changes in reminders]
        done_at = to_utc_iso(moment, "done_at")
        await self.store.write_sql(
            lambda c: sql.keep_turn(
                c, person, open_kfid, messages, menu, pages, msgids, sent, done_at
            )
        )

    async def rekeep(
        self,
        person: str,
        open_kfid: str,
        replaced: list[int],
        messages: list[Reply],
        pages: list[dict[str, Any]],
    ) -> None:
        """Put `messages` in place of the kept messages `replaced`, and keep the waiting pages."""
        await self.store.write_sql(
            lambda c: sql.rekeep(c, person, open_kfid, replaced, messages, pages)
        )

    async def unsent(self, open_kfid: str) -> list[Kept]:
        """Return the messages kept for the account's people and not yet sent, oldest first."""
        rows = await self.store.read_sql(lambda c: sql.unsent(c, open_kfid))
        return [Kept(*row) for row in rows]

    async def unkeep(self, ids: list[int], person: str, open_kfid: str, given_back: int) -> None:
        """Forget kept messages (sent, or refused); give `given_back` back to the person's 5."""
        await self.store.write_sql(lambda c: sql.unkeep(c, ids, person, open_kfid, given_back))

    async def load_token(self, corp_id: str, secret_hash: str) -> tuple[str, datetime] | None:
        """Return the kept access token and when it expires (None: none kept)."""
        return await self.store.read_sql(lambda c: tokens.load(c, corp_id, secret_hash))

    async def save_token(
        self, corp_id: str, secret_hash: str, token: str, expires_at: datetime, fetched_at: datetime
    ) -> None:
        """Keep a freshly fetched access token in place of the one before."""
        await self.store.write_sql(
            lambda c: tokens.save(c, corp_id, secret_hash, token, expires_at, fetched_at)
        )
