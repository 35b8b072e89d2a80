"""`complaint-bot run` or `serve` with one deliberate bug, so the crash tests can show they catch it.

Run as `python crash_mutants.py run` (or `serve`) with CRASH_MUTANT set to one of MUTANTS: the
bug is patched in, then the ordinary command line runs. Only the crash test starts this file; the bot
never imports it and reads no mutant switch itself.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any


def forget_conversations() -> None:
    """At every start, delete every conversation: complaints in progress are lost."""
    db = Path(os.environ["COMPLAINT_BOT_STORAGE__DB_PATH"])
    if db.exists():
        conn = sqlite3.connect(db)
        try:
            if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'conversations'").fetchone():
                conn.execute("DELETE FROM conversations")
                conn.commit()
        finally:
            conn.close()


def drop_evidence_rows() -> None:
    """Leave out the first evidence row each process saves, and every other one after it."""
    from storage import evidence

    insert = evidence.insert
    seen = 0

    def insert_some(conn: sqlite3.Connection, user_id: int, rows: list[Any]) -> None:
        nonlocal seen
        kept = []
        for row in rows:
            seen += 1
            if seen % 2 == 0:
                kept.append(row)
        insert(conn, user_id, kept)

    evidence.insert = insert_some


def send_reminders_twice() -> None:
    """Send every due reminder twice before marking it sent."""
    from bot.scheduler import Scheduler

    start = Scheduler.start

    def start_twice(self: Scheduler, deliver: Callable[..., Awaitable[Any]], audience: Any) -> None:
        async def twice(*args: Any) -> Any:
            await deliver(*args)
            return await deliver(*args)

        start(self, twice, audience)

    Scheduler.start = start_twice  # type: ignore[method-assign]


def ignore_deliveries() -> None:
    """Forget which updates were handled: a redelivered update has its effect again."""
    from storage import deliveries, mailbox

    deliveries.handled = lambda conn, found: False
    accept = mailbox.accept

    def accept_again(conn: sqlite3.Connection, messenger: str, updates: Any, at: str) -> int:
        for update in updates:  # an update kept and handled before is kept as new
            conn.execute(
                "DELETE FROM inbox WHERE messenger = ? AND delivery_id = ? AND done_at IS NOT NULL",
                (messenger, update.delivery_id),
            )
        return accept(conn, messenger, updates, at)

    mailbox.accept = accept_again


def drop_kept_updates() -> None:
    """At every start, count every kept update as handled: what was in hand at a kill is lost.

    That is what acknowledging an update before it is kept costs (PTB's long polling confirms
    a batch when it fetches the next). The bot also pauses before handling a button press, so
    that the kill the test makes right after a press lands while the press is in hand.
    """
    import asyncio

    from bot.messengers.telegram import TelegramMessenger

    db = Path(os.environ["COMPLAINT_BOT_STORAGE__DB_PATH"])
    if db.exists():
        conn = sqlite3.connect(db)
        try:
            if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'inbox'").fetchone():
                conn.execute("UPDATE inbox SET done_at = received_at WHERE done_at IS NULL")
                conn.commit()
        finally:
            conn.close()
    on_button = TelegramMessenger.on_button

    async def slow_button(self: TelegramMessenger, update: Any, context: Any) -> None:
        query = update.callback_query
        await query.answer()
        await asyncio.sleep(0.5)
        await on_button(self, update, context)

    TelegramMessenger.on_button = slow_button  # type: ignore[method-assign]


def wecom_inbox_emptied_first() -> None:
    """Take pulled WeChat messages out of the inbox before handling them, not after."""
    from bot.messengers.wecom.messenger import WecomMessenger

    async def handle_inbox(self: WecomMessenger, open_kfid: str) -> None:
        people: dict[str, list[Any]] = {}
        for pulled in await self.state.inbox(open_kfid):
            people.setdefault(pulled.external_userid, []).append(pulled)
        for person, items in people.items():
            msgids = [i.msgid for i in items]
            await self.state.handled(msgids)
            await self.handle_person(open_kfid, person, items)
            self._begun.difference_update(msgids)

    WecomMessenger.handle_inbox = handle_inbox  # type: ignore[method-assign]


def wecom_outbox_never_resent() -> None:
    """Drop what a crash left in the WeChat outbox instead of sending it.

    The bot also pauses between keeping a turn and sending it, so that the kill the test makes
    once a turn is kept lands before it is sent.
    """
    import asyncio

    from bot.messengers.wecom.messenger import WecomMessenger

    async def resend(self: WecomMessenger, open_kfid: str) -> None:
        for kept in await self.state.unsent(open_kfid):
            await self.state.unkeep([kept.id], kept.external_userid, open_kfid, 0)

    send_kept = WecomMessenger._send_kept

    async def slow_send_kept(self: WecomMessenger, *args: Any, **kwargs: Any) -> int:
        await asyncio.sleep(0.5)
        return await send_kept(self, *args, **kwargs)

    WecomMessenger.resend = resend  # type: ignore[method-assign]
    WecomMessenger._send_kept = slow_send_kept  # type: ignore[method-assign]


MUTANTS: dict[str, Callable[[], None]] = {
    "forget_conversations": forget_conversations,
    "drop_evidence_rows": drop_evidence_rows,
    "send_reminders_twice": send_reminders_twice,
    "ignore_deliveries": ignore_deliveries,
    "wecom_inbox_emptied_first": wecom_inbox_emptied_first,
    "wecom_outbox_never_resent": wecom_outbox_never_resent,
    "drop_kept_updates": drop_kept_updates,
}

if __name__ == "__main__":
    MUTANTS[os.environ["CRASH_MUTANT"]]()
    from bot.__main__ import main

    sys.exit(main(sys.argv[1:]))
