"""What the engine hands out about a filed case: complaint letters and whole-case exports.

The engine asks for them through `Paperwork`; `bot.letters` writes letters from templates and
`bot.export` packs a case into a zip. Both are injected, so flows/ stays free of file I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from flows.model import Document
from flows.store import CaseRecord, Profile


@dataclass(frozen=True, slots=True)
class ShortReport:
    """A ready-to-send one-line report: text `text` to `to`."""

    to: str
    text: str
    unconfirmed: str | None = None  # why the format may be wrong, when it is not confirmed


@dataclass(frozen=True, slots=True)
class Letter:
    """A complaint letter to one channel, as plain text (to paste) and as Markdown."""

    channel: str
    addressee: str
    text: str
    markdown: str
    file_stem: str  # e.g. "SMS-2026-0001-china_mobile-zh"
    short: ShortReport | None = None
    # One-line reports to the channels used at the same time (12321 beside the carrier).
    also_short: tuple[ShortReport, ...] = ()

    def documents(self) -> tuple[Document, Document]:
        """Return the letter as a .txt and a .md file."""
        return (
            Document(f"{self.file_stem}.txt", self.text.encode(), "text/plain"),
            Document(f"{self.file_stem}.md", self.markdown.encode(), "text/markdown"),
        )


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
