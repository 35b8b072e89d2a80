"""What the WeChat messenger keeps between pulls: the records and the Protocol that keeps them.

The messenger is handed a `WecomState` (see `bot.wecom_state` for the SQLite one); it never
opens storage itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from flows.model import ConversationKey, Reply
from flows.records import CaseChange, Reminder


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


@dataclass(frozen=True, slots=True)
class Kept:
    """One WeChat message of a turn, kept until WeCom has taken it (a menu's items as rows)."""

    id: int
    external_userid: str
    message: Reply


class WecomState(Protocol):
    """Account cursors, the inbox, each person's window and screen, and deferred reminders."""

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
        ...

    async def cursor(self, open_kfid: str) -> str | None:
        """Return where pulling resumes for an account (None: from the start)."""
        ...

    async def pull_token(self, open_kfid: str, since: datetime) -> str | None:
        """Return the callback token the account's last tokened pull used, if used `since`."""
        ...

    async def inbox(self, open_kfid: str) -> list[Pulled]:
        """Return the account's pulled messages not yet handled, in the order pulled."""
        ...

    async def received(self, msgids: list[str]) -> dict[str, datetime]:
        """Return when each of these messages still in the inbox was first pulled."""
        ...

    async def handled(self, msgids: list[str]) -> None:
        """Remove handled messages from the inbox."""
        ...

    async def person(self, person: str) -> Person:
        """Return a person's window, quota use, screen and waiting pages."""
        ...

    async def count_sent(self, person: str, open_kfid: str, sent: int) -> None:
        """Add `sent` messages to the person's use of their current window."""
        ...

    async def save_screen(
        self, person: str, open_kfid: str, menu: dict[str, Any] | None, pages: list[dict[str, Any]]
    ) -> None:
        """Keep the buttons on the person's screen (None: unchanged) and the waiting pages."""
        ...

    async def close_window(self, person: str) -> None:
        """Note that WeChat refused a send as out of the window or quota."""
        ...

    async def defer(self, reminder_id: int, at: datetime) -> None:
        """Hold a reminder for its person's next message (the scheduler skips it meanwhile)."""
        ...

    async def deferred(self, person: str) -> list[Reminder]:
        """Return the person's deferred reminders, earliest first."""
        ...

    async def forget(self, key: ConversationKey) -> None:
        """Delete what is kept about a person who has no conversation (left, or forgotten)."""
        ...

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
        ...

    async def rekeep(
        self,
        person: str,
        open_kfid: str,
        replaced: list[int],
        messages: list[Reply],
        pages: list[dict[str, Any]],
    ) -> None:
        """Put `messages` in place of the kept messages `replaced`, and keep the waiting pages."""
        ...

    async def unsent(self, open_kfid: str) -> list[Kept]:
        """Return the messages kept for the account's people and not yet sent, oldest first."""
        ...

    async def unkeep(self, ids: list[int], person: str, open_kfid: str, given_back: int) -> None:
        """Forget kept messages (sent, or refused); give `given_back` back to the person's 5."""
        ...
