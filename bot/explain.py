"""The engine's `Explainer` over bot/analysis.py: a verdict, its reasons and advice, in words.

A pasted SMS often starts with its sender on a line of its own (as the phone shows it, or as the
person typed it): that line is taken as the sender, not as part of the text.
"""

from __future__ import annotations

import re
from datetime import datetime

from bot.analysis import analyse
from bot.analysis_rules import Rules, advice_words, load_rules, verdict_words
from flows.suspect import Explanation

# A first line that is only a number: digits with spaces, dashes, a leading + or 00.
_SENDER_LINE = re.compile(
    r"^\s*(?:发件人|发送方|来自|from)?\s*[:：]?\s*(\+?[\d][\d\s-]{3,22}\d)\s*$", re.I
)
_ICONS = {"fraud": "⚠️", "marketing": "📢", "legit": "✅", "unknown": "❔"}


def split_sender(text: str) -> tuple[str | None, str]:
    """Return (sender, text) when the first line of `text` is only a number."""
    first, newline, rest = text.strip().partition("\n")
    match = _SENDER_LINE.match(first)
    if match is None or not newline or not rest.strip():
        return None, text.strip()
    return re.sub(r"[\s-]", "", match.group(1)), rest.strip()


class AnalysisExplainer:
    """Explain messages with the rules of bot/rules/analysis.yaml."""

    def __init__(self, rules: Rules | None = None) -> None:
        self.rules = rules or load_rules()

    def explain(self, text: str, sender: str | None, at: datetime | None, lang: str) -> Explanation:
        found_sender, body = split_sender(text)
        sender = sender or found_sender
        analysis = analyse(body, sender, at, rules=self.rules)
        # The reasons for the verdict come first; findings pointing the other way are kept only
        # when there is no clear verdict (a scam that says 回T退订 is not "marketing" evidence).
        own = [f for f in analysis.findings if f.kind == analysis.verdict]
        shown = own if own and analysis.verdict != "unknown" else list(analysis.findings)
        reasons = tuple(
            finding.words.get(lang) or next(iter(finding.words.values()), finding.id)
            for finding in shown
        )
        words = verdict_words(self.rules, analysis.verdict, lang)
        title = f"{_ICONS.get(analysis.verdict, '')} {words}"
        advice = tuple(advice_words(self.rules, a, lang) for a in analysis.advice)
        return Explanation(analysis.verdict, title.strip(), reasons, advice, analysis.sender, body)
