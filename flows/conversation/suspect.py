"""A suspicious message: what checks it, and what is kept of it until a case is filed.

The engine does not analyse text itself: an `Explainer` (bot/explain.py over bot/analysis.py)
turns a message into a verdict with reasons and advice in the person's language, and a
`TextReader` (bot/ocr.py) reads the text off a screenshot. Both are injected, so `flows/` stays
free of the analyser's rules and of the OCR package; without a reader, screenshots are refused
with a clear message and everything else works. The turn that checks
is in flows/conversation/handlers/check.py, the one that files a case from a check in
flows/conversation/handlers/check_filing.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

VERDICT_ORDER = ("fraud", "marketing", "unknown", "legit")  # the worst first
BATCH_MAX = 10  # messages explained from one burst; the rest are only counted


@dataclass(frozen=True, slots=True)
class Suspect:
    """One message to check, as far as we know where it came from."""

    text: str
    origin: str  # "forward:user" | "forward:hidden_user" | "forward:chat" | "forward:channel"
    # | "pasted" | "image"
    sender_name: str | None = None  # who a forward came from (Telegram name or channel)
    sender_id: str | None = None
    at: datetime | None = None
    image: dict[str, Any] | None = None  # {sha256, path, size, mime, name} of its screenshot

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "origin": self.origin,
            "sender_name": self.sender_name,
            "sender_id": self.sender_id,
            "at": self.at.isoformat() if self.at else None,
            "image": self.image,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Suspect:
        at = data.get("at")
        return cls(
            text=str(data.get("text") or ""),
            origin=str(data.get("origin") or "pasted"),
            sender_name=data.get("sender_name"),
            sender_id=data.get("sender_id"),
            at=datetime.fromisoformat(at) if at else None,
            image=data.get("image"),
        )


def looks_like_a_message(text: str) -> bool:
    """Return True for pasted text worth checking, False for chit-chat such as "hi"."""
    stripped = text.strip()
    if len(stripped) >= 12:
        return True
    digits = sum(c.isdigit() for c in stripped)
    return "http" in stripped.lower() or ("." in stripped and digits >= 1) or digits >= 6


def is_worse(verdict: str, than: str) -> bool:
    """Return True when `verdict` is worse than `than` (fraud is the worst, legit the least)."""
    return VERDICT_ORDER.index(verdict) < VERDICT_ORDER.index(than)


def worst(verdicts: list[str]) -> str:
    """Return the verdict of a batch: the worst of its messages."""
    return min(verdicts, key=VERDICT_ORDER.index) if verdicts else "unknown"
