"""The ports: what the engine needs from outside, as Protocols that `storage/` and `bot/` implement.

Storage (`Store`, the union of `ConversationStore`, `CaseStore`, `ReminderStore`,
`InboxStore` and `OperatorStore`), the message check (`Explainer`, `TextReader`), letters and
exports (`Paperwork`) and deadline arithmetic (`DeadlinePolicy`). The records they exchange are in
`flows.records`; nothing here imports a wing of `flows`, so both wings may import it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from flows.model import ConversationKey, Document, Reply
from flows.records import (
    BlobRef,
    CaseChange,
    CaseRecord,
    CaseSummary,
    Conversation,
    Deliveries,
    Due,
    Explanation,
    Forgotten,
    Inbound,
    InboxEntry,
    Letter,
    OutboxEntry,
    Profile,
    Reminder,
    StepCommit,
)

# Whose reminders: everyone's (None), a messenger's people ("telegram"), or one person.
Audience = str | ConversationKey | None


class ConversationStore(Protocol):
    """A person's conversation, the steps that change it, and the files they sent.

    Written by the engine alone: `commit` writes a whole step (the conversation, its evidence,
    its events, and a filed case with its first reminder) in one transaction.
    """

    async def load_conversation(self, key: ConversationKey) -> Conversation | None:
        """Return the saved conversation of this person, or None if they never wrote."""
        ...

    async def commit(self, step: StepCommit) -> str | None:
        """Write one step atomically; return the new case number when a case was filed.

        Raises AlreadyHandled, writing nothing, when every one of `step.deliveries` was
        recorded before, and StorageError when the database or the disk refuses the write.
        """
        ...

    async def handled(self, deliveries: Deliveries) -> bool:
        """Return True when every one of these deliveries was recorded as handled."""
        ...

    async def mark_handled(self, deliveries: Deliveries) -> None:
        """Record deliveries as handled (for a message that changed nothing else)."""
        ...

    async def put_blob(self, data: bytes) -> BlobRef:
        """Store bytes content-addressed (idempotent) and return where they are.

        A blob no committed step refers to may be deleted by a later step or by `forget`.
        """
        ...

    async def forget(self, key: ConversationKey) -> Forgotten | None:
        """Delete everything about this person and their files; None if they never wrote.

        Files another person's evidence also refers to stay.
        """
        ...


class CaseStore(Protocol):
    """Filed cases as their owner sees them: every read and write checks the owner."""

    async def list_cases(self, key: ConversationKey) -> list[CaseSummary]:
        """Return this person's cases, newest first."""
        ...

    async def get_case(self, key: ConversationKey, number: str) -> CaseRecord | None:
        """Return the case if it exists AND belongs to this person, else None."""
        ...

    async def change_case(self, change: CaseChange) -> bool:
        """Apply a lifecycle step; False when the case is missing, not theirs, or moved on.

        A step that does not apply writes nothing, its deliveries included. Its reminder
        (`change.reminder`) is scheduled and the case's pending ones cancelled
        (`change.cancel_reminders`) in the same transaction.
        """
        ...

    async def reminder_sent(self, reminder_id: int, changes: Sequence[CaseChange]) -> bool:
        """End a reminder as sent and record on its case what that means, in one transaction.

        The first of `changes` that applies is written (a state change, then the event alone
        when the case moved on). False, writing nothing, when the reminder had ended as sent
        already: a delivery recorded twice (a crash between send and record, then a resend)
        leaves one record.
        """
        ...


class ReminderStore(Protocol):
    """The delivery of reminders: what falls due, who sends it, how it ended.

    One owner per row and per moment of its life. A reminder is scheduled, and cancelled when
    its case moves on, only inside the case's own writes (`ConversationStore.commit` of a
    filed case, `CaseStore.change_case`): the engine's. Once due, the scheduler alone takes it
    (`claim_reminders`) and ends it (`finish_reminder`) or puts it off (`retry_reminder`,
    `release_reminder`); a sent one ends with the engine's record on the case of what the delivery
    means (`CaseStore.reminder_sent`), in one transaction.
    """

    async def due_reminders(
        self, now: datetime, limit: int = 100, *, audience: Audience = None
    ) -> list[Reminder]:
        """Return pending reminders due at or before `now`, earliest first (claimed or not).

        `audience` keeps to the reminders of people on one messenger, or of one person: a
        console session and a Telegram bot sharing one database each send only their own.
        """
        ...

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
        released, or until `lease` after `now` has passed (its sender died).
        """
        ...

    async def next_due_at(self, *, audience: Audience = None) -> datetime | None:
        """Return the earliest due_at of any pending reminder (of `audience`)."""
        ...

    async def finish_reminder(self, reminder_id: int, status: str) -> bool:
        """End a reminder as sent, undeliverable, failed or cancelled; False if it had ended.

        Only a pending reminder ends, except as `sent`: one the case cancelled while it was on
        its way went out all the same.
        """
        ...

    async def retry_reminder(self, reminder_id: int, due_at: datetime) -> bool:
        """Count a failed attempt and make a pending reminder due again at `due_at`."""
        ...

    async def release_reminder(self, reminder_id: int) -> None:
        """Give back a claimed reminder whose sending was interrupted: due again as it was.

        Nothing happens to a reminder that is not claimed or has ended.
        """
        ...

    async def set_unreachable(self, key: ConversationKey, unreachable: bool) -> None:
        """Mark the person as having blocked the bot, or as reachable again."""
        ...


class InboxStore(Protocol):
    """What messengers keep so that nothing is lost in flight: an inbox and an outbox.

    An update is kept (`accept_updates`) before its platform is told it arrived, and stays
    pending until the replies to it are kept (`keep_replies`, which finishes it in the same
    transaction) or it is finished without any (`finish_updates`). Kept replies stay until
    they were sent (`replies_sent`): after a crash, `unsent_replies` are what to send first.
    """

    async def accept_updates(self, messenger: str, updates: Sequence[Inbound]) -> int:
        """Keep updates not seen before, in their order; return how many were new.

        An update kept before, pending or finished, is not kept again (a platform's repeat).
        """
        ...

    async def pending_updates(
        self, messenger: str, after: int = 0, limit: int = 100, *, user_id: str | None = None
    ) -> list[InboxEntry]:
        """Return up to `limit` pending updates with an id above `after`, oldest first.

        With `user_id`, only that person's ('' for updates that came without a person).
        """
        ...

    async def finish_updates(self, messenger: str, delivery_ids: Sequence[str]) -> None:
        """Mark these updates handled, with nothing to send."""
        ...

    async def keep_replies(
        self,
        key: ConversationKey,
        chat_id: str,
        replies: Sequence[Reply],
        done: Sequence[str],
    ) -> int | None:
        """Keep a message's replies to send and finish its updates `done`, in one transaction.

        Return the outbox id to pass to `replies_sent` (None when there was nothing to keep).
        """
        ...

    async def unsent_replies(
        self, messenger: str, *, user_id: str | None = None
    ) -> list[OutboxEntry]:
        """Return the kept replies not yet sent (all, or that person's), oldest first."""
        ...

    async def replies_sent(self, outbox_id: int) -> None:
        """Forget kept replies once they went out."""
        ...


class OperatorStore(Protocol):
    """What an operator reads and does from the command line, whoever owns the data."""

    async def find_case(self, number: str) -> CaseRecord | None:
        """Return the case with this number whoever owns it."""
        ...

    async def list_all_cases(self, user: str | None = None) -> list[CaseRecord]:
        """Return every case, or those of `user` ("messenger:user_id"), newest first.

        Raise ValueError when `user` is not of that form.
        """
        ...

    async def pending_reminders(self, limit: int | None = None) -> list[Reminder]:
        """Return pending reminders (all, or the first `limit`), earliest first."""
        ...

    async def forget_preview(self, key: ConversationKey) -> Forgotten | None:
        """Return what `forget` would delete, or None if this person never wrote."""
        ...

    async def read_blob(self, path: str) -> bytes:
        """Return the bytes of a stored evidence file (OSError when it is gone)."""
        ...


class Store(ConversationStore, CaseStore, ReminderStore, InboxStore, OperatorStore, Protocol):
    """Everything kept between messages; each backend implements all of it.

    `storage.open_store` opens one; the contract suite (tests/storage/contract/) is what a
    backend must pass.
    """

    def documents_dir(self, key: ConversationKey) -> Path:
        """Return where documents saved for this person go (`forget` removes it)."""
        ...

    async def check_writable(self) -> None:
        """Raise StorageError now, at start-up, if evidence cannot be written."""
        ...

    async def close(self) -> None:
        """Close the store after the write in progress, if any; closing twice is fine."""
        ...


class Explainer(Protocol):
    """Explain a message: verdict, reasons and advice (bot/explain.py).

    Async so that an implementation can check off the event loop, within a time budget.
    """

    async def explain(
        self, text: str, sender: str | None, at: datetime | None, lang: str
    ) -> Explanation:
        """Return the verdict on `text`, sent by `sender` at `at`, told in `lang`."""
        ...

    async def explain_conversation(self, texts: Sequence[str], lang: str) -> Explanation:
        """Return the verdict on several messages read as one conversation, told in `lang`."""
        ...


class TextReader(Protocol):
    """Read the text of a screenshot (OCR); bot/ocr.py."""

    async def read(self, data: bytes) -> str:
        """Return the text in the image, lines joined by newlines ("" when there is none)."""
        ...


class Paperwork(Protocol):
    """Writes letters and exports; `bot` implements it with Jinja2 templates and a zip."""

    def letter(
        self, case: CaseRecord, lang: str, profile: Profile, rung: int | None = None
    ) -> Letter:
        """Return the letter to the case's current rung (or to `rung`), in `lang`.

        Raise LookupError when the case's flow has no such rung, LetterError when the letter
        cannot be written.
        """
        ...

    async def export(self, case: CaseRecord, lang: str, profile: Profile) -> Document:
        """Return the whole case as one zip: letters, evidence files, answers, timeline."""
        ...


class DeadlinePolicy(Protocol):
    """Turns a rung's deadline into a moment; `bot.deadlines` knows China's working days."""

    def due(
        self, start: datetime, *, days: int = 0, working_days: int = 0, binding: bool = True
    ) -> Due:
        """Return when a deadline of `days` or `working_days` counted from `start` passes.

        A binding period in calendar days whose last day is a rest day ends on the next working
        day (民法典 art. 203); a check-in (`binding=False`) is only when we ask, and stays.
        """
        ...

    def later(self, start: datetime, days: int) -> datetime:
        """Return the moment `days` from `start` (for "remind me later")."""
        ...
