"""Someone describing their own problem, told apart from a message they pasted to be checked.

"我的支付宝提现三天了还没到账" is the person telling what happened to them: it gets the category
menu with the category it sounds like offered first, not a fraud verdict. A pasted message
addresses its reader ("您的账户…", "Your parcel…") or carries a sender header ("【某某银行】").
The words each language uses for this, and the keywords of each category, are data: the
`describing:` section of common.yaml, read here and checked by `flows check`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flows.definition.problems import Problems
from flows.definition.yamlfile import Mapping_

# A sender signature in brackets at the start or the end, as Chinese SMS carry one.
_SIGNATURE = re.compile(r"^\s*[【\[][^】\]\n]{1,24}[】\]]|[【\[][^】\]\n]{1,24}[】\]]\s*$")
# A first line that is only a number (the sender of a pasted SMS: "10690123456789").
_NUMBER_LINE = re.compile(r"^\s*\+?\d[\d\s-]{4,}\s*[:：]?\s*$", re.MULTILINE)
_WORD_GROUPS = ("first_person", "addressed", "not_addressed", "headers")


@dataclass(frozen=True, slots=True)
class Words:
    """Words or phrases, in every language, found in a text as whole words (CJK: anywhere)."""

    words: tuple[str, ...] = ()
    _pattern: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def of(cls, words: Iterable[str]) -> Words:
        unique = tuple(dict.fromkeys(w.strip().casefold() for w in words if w.strip()))
        if not unique:
            return cls()
        # Latin words count only whole ("i" is not the i in "bill"); CJK has no spaces to bound.
        parts = [
            rf"(?<![a-z0-9]){re.escape(w)}(?![a-z0-9])" if w.isascii() else re.escape(w)
            for w in sorted(unique, key=len, reverse=True)
        ]
        return cls(unique, re.compile("|".join(parts)))

    def count(self, text: str) -> int:
        """Return how many times any of the words occurs in `text`."""
        if self._pattern is None:
            return 0
        return len(self._pattern.findall(text.casefold()))

    def remove(self, text: str) -> str:
        """Return `text` (case-folded) without any of the words."""
        folded = text.casefold()
        return folded if self._pattern is None else self._pattern.sub(" ", folded)


@dataclass(frozen=True, slots=True)
class Describing:
    """The words that tell a description from a message, and each category's keywords."""

    first_person: Words = Words()
    addressed: Words = Words()
    not_addressed: Words = Words()  # phrases with an addressed word that address no reader (你好)
    headers: Words = Words()
    categories: Mapping[str, Words] = field(default_factory=dict)  # flow id -> keywords

    def about(self, text: str, order: Iterable[str]) -> str | None:
        """Return the category the person's own description `text` names, None if it is not one.

        Only a first-person text naming a category is taken for a description: a scam written
        in the first person ("妈，我换号了…") names none, and is checked as the message it is.
        """
        return self.category(text, order) if self.in_first_person(text) else None

    def in_first_person(self, text: str) -> bool:
        """Return True when `text` speaks of "me" more than to "you", with no sender header."""
        if self.has_header(text):
            return False
        first = self.first_person.count(text)
        return first > 0 and first > self.addressed.count(self.not_addressed.remove(text))

    def has_header(self, text: str) -> bool:
        """Return True when `text` starts like a pasted message: a signature or sender line."""
        first_line = text.strip().split("\n", 1)[0]
        if _SIGNATURE.search(text.strip()) or _NUMBER_LINE.fullmatch(first_line):
            return True
        head = first_line.casefold()
        return any(
            head.startswith(w) and head[len(w) :].lstrip()[:1] in (":", "：")
            for w in self.headers.words
        )

    def category(self, text: str, order: Iterable[str]) -> str | None:
        """Return the category (of `order`, a flow id each) `text` names most, or None."""
        best, score = None, 0
        for flow_id in order:
            words = self.categories.get(flow_id)
            hits = words.count(text) if words else 0
            if hits > score:
                best, score = flow_id, hits
        return best


def read_describing(
    checker: Problems, raw: Any, line: int, languages: tuple[str, ...]
) -> Describing:
    """Read common.yaml's `describing:` section; report what is wrong as file:LINE."""
    if raw is None:
        return Describing()
    if not isinstance(raw, Mapping_):
        checker.report(line, "describing: expected a mapping with first_person, addressed, ...")
        return Describing()
    groups: dict[str, Words] = {}
    for key in raw:
        if key not in (*_WORD_GROUPS, "categories"):
            checker.report(raw.line_of(key), f"describing.{key}: unknown key")
    for key in _WORD_GROUPS:
        groups[key] = _words(
            checker, raw.get(key), raw.line_of(key), f"describing.{key}", languages
        )
    categories: dict[str, Words] = {}
    raw_categories = raw.get("categories", {})
    if not isinstance(raw_categories, Mapping_):
        checker.report(raw.line_of("categories"), "describing.categories: expected flow: words")
    else:
        for flow_id, words in raw_categories.items():
            where = f"describing.categories.{flow_id}"
            categories[str(flow_id)] = _words(
                checker, words, raw_categories.line_of(flow_id), where, languages
            )
    return Describing(**groups, categories=categories)


def _words(checker: Problems, raw: Any, line: int, where: str, languages: tuple[str, ...]) -> Words:
    if not isinstance(raw, dict):
        checker.report(line, f"{where}: expected a list of words per language {list(languages)}")
        return Words()
    found: list[str] = []
    for language in languages:
        words = raw.get(language)
        if not isinstance(words, list) or not words or not all(isinstance(w, str) for w in words):
            checker.report(line, f"{where}: expected a list of words for '{language}'")
            continue
        found += words
    for language in raw:
        if language not in languages:
            checker.report(line, f"{where}: unknown language '{language}'")
    return Words.of(found)
