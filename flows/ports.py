"""The ports: what the engine needs from outside, as Protocols that `storage/` and `bot/` implement.

Storage (`Store`), the message check (`Explainer`, `TextReader`), letters and exports
(`Paperwork`) and deadline arithmetic (`DeadlinePolicy`). The records they exchange are in
`flows.records`; nothing here imports a wing of `flows`, so both wings may import it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from flows.model import ConversationKey, Document
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
    Letter,
    Profile,
    StepCommit,
)


class Store(Protocol):
    """The storage the engine talks to; `storage.SqliteStore` is the implementation."""

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
        """Store bytes content-addressed (idempotent) and return where they are."""
        ...

    async def list_cases(self, key: ConversationKey) -> list[CaseSummary]:
        """Return this person's cases, newest first."""
        ...

    async def get_case(self, key: ConversationKey, number: str) -> CaseRecord | None:
        """Return the case if it exists AND belongs to this person, else None."""
        ...

    async def change_case(self, change: CaseChange) -> bool:
        """Apply a lifecycle step; False when the case is missing, not theirs, or moved on."""
        ...

    async def forget(self, key: ConversationKey) -> Forgotten | None:
        """Delete everything about this person and their files; None if they never wrote."""
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
