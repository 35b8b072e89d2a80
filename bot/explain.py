"""The engine's `Explainer` over bot/analysis.py: a verdict, its reasons and advice, in words.

A pasted SMS often starts with its sender on a line of its own (as the phone shows it, or as the
person typed it): that line is taken as the sender, not as part of the text.

Checking runs in a worker thread with a time budget, never on the event loop: a crafted message
must not hold up everyone else's replies. The check itself is linear and reads at most
`READ_LIMIT` characters (bot/analysis.py), so the budget is a second line of defence.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence
from datetime import datetime

from bot.analysis import READ_LIMIT, Analysis, analyse
from bot.analysis_rules import Rules, advice_words, load_rules, verdict_words
from flows.records import Explanation

log = logging.getLogger(__name__)

CHECK_BUDGET = 3.0  # seconds a check may take (waiting for a worker included) before we give up

# A first line that is only a number: digits with spaces, dashes, a leading + or 00.
_SENDER_LINE = re.compile(
    r"^\s*(?:发件人|发送方|来自|from)?\s*[:：]?\s*(\+?[\d][\d\s-]{3,22}\d)\s*$", re.I
)
_ICONS = {"fraud": "⚠️", "marketing": "📢", "legit": "✅", "unknown": "❔"}
_TOGETHER = {"zh": "连起来看：{verdict}", "en": "Read together: {verdict}"}
_CUT = {
    "zh": "消息太长，只检查了前 {limit} 个字",
    "en": "The message is long: only its first {limit} characters were checked",
}
_TOO_SLOW = {
    "zh": "这次没能及时检查完，请稍后再发一次",
    "en": "The check could not finish in time; please send it again later",
}


def split_sender(text: str) -> tuple[str | None, str]:
    """Return (sender, text) when the first line of `text` is only a number."""
    first, newline, rest = text.strip().partition("\n")
    match = _SENDER_LINE.match(first)
    if match is None or not newline or not rest.strip():
        return None, text.strip()
    return re.sub(r"[\s-]", "", match.group(1)), rest.strip()


class AnalysisExplainer:
    """Explain messages with the rules of bot/rules/analysis.yaml."""

    def __init__(self, rules: Rules | None = None, budget: float = CHECK_BUDGET) -> None:
        self.rules = rules or load_rules()
        self.budget = budget

    async def explain(
        self, text: str, sender: str | None, at: datetime | None, lang: str
    ) -> Explanation:
        """Check one message off the event loop; past the budget, say it is not verified."""
        try:
            return await asyncio.wait_for(
                asyncio.to_thread(self.explain_now, text, sender, at, lang), self.budget
            )
        except TimeoutError:
            log.warning(
                "a message check took longer than %.1f s (%d chars)", self.budget, len(text)
            )
            return self._too_slow(text, lang)

    async def explain_conversation(self, texts: Sequence[str], lang: str) -> Explanation:
        """Check several messages as one conversation ("I changed my number", then "pay here")."""
        bodies = [split_sender(text)[1] for text in texts]
        joined = "\n".join(bodies)
        try:
            together = await asyncio.wait_for(
                asyncio.to_thread(self.explain_now, joined, None, None, lang), self.budget
            )
        except TimeoutError:
            return self._too_slow(joined, lang)
        words = verdict_words(self.rules, together.verdict, lang)
        title = f"{_ICONS.get(together.verdict, '')} {_TOGETHER[lang].format(verdict=words)}"
        return Explanation(together.verdict, title, together.reasons, together.advice, None, joined)

    def explain_now(
        self, text: str, sender: str | None, at: datetime | None, lang: str
    ) -> Explanation:
        """Check one message here and now (in the calling thread)."""
        found_sender, body = split_sender(text)
        sender = sender or found_sender
        analysis = analyse(body, sender, at, rules=self.rules)
        words = verdict_words(self.rules, analysis.verdict, lang)
        title = f"{_ICONS.get(analysis.verdict, '')} {words}"
        advice = tuple(advice_words(self.rules, a, lang) for a in analysis.advice)
        return Explanation(
            analysis.verdict, title.strip(), reasons(analysis, lang), advice, analysis.sender, body
        )

    def _too_slow(self, text: str, lang: str) -> Explanation:
        words = verdict_words(self.rules, "unknown", lang)
        advice = tuple(
            advice_words(self.rules, a, lang)
            for a in self.rules.verdict_advice["unknown"]
            if a in self.rules.advice
        )
        return Explanation(
            "unknown", f"{_ICONS['unknown']} {words}", (_TOO_SLOW[lang],), advice, None, text
        )


def reasons(analysis: Analysis, lang: str, *, every: bool = False) -> tuple[str, ...]:
    """Return the reasons for the verdict in `lang`, strongest first (`every`: all findings)."""
    # The reasons for the verdict come first; findings pointing the other way are kept only
    # when there is no clear verdict (a scam that says 回T退订 is not "marketing" evidence).
    own = [f for f in analysis.findings if f.kind == analysis.verdict]
    clear = own and analysis.verdict != "unknown" and not every
    shown = own if clear else list(analysis.findings)
    said = [finding.words.get(lang) or finding.words["zh"] for finding in shown]
    if analysis.cut:
        said.append(_CUT[lang].format(limit=f"{READ_LIMIT:,}"))
    return tuple(said)
