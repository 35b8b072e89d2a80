"""The rules of the message check: rules/analysis.yaml read into typed records.

Loading is the only I/O of the check; a broken file raises RulesError with `analysis.yaml:LINE:`.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from flows.definition import yamlfile
from flows.errors import ComplaintBotError

RULES_FILE = Path(__file__).parent / "rules" / "analysis.yaml"
VERDICTS = ("fraud", "marketing", "legit", "unknown")
KINDS = ("fraud", "marketing", "legit")
LANGUAGES = ("zh", "en")
NUMBER_CLASSES = ("overseas", "cn_mobile", "cn_fixed")
CONTEXTS = ("links", "phones")
LINK_FINDINGS = (
    "link_ip",
    "link_lookalike",
    "link_not_official",
    "link_shortener",
    "link_risky_tld",
    "link_official",
    "link_unverified",
)
ROLES = ("contact", "money", "secret", "download", "impersonation")

Words = dict[str, str]


class RulesError(ComplaintBotError):
    """The rules file is broken; the message starts with `analysis.yaml:LINE: `."""


@dataclass(frozen=True, slots=True)
class Signal:
    """What a finding says and weighs, before its words are filled in."""

    id: str
    kind: str
    weight: float
    words: Words
    advice: tuple[str, ...] = ()
    role: str | None = None  # what a fraud finding asks of you (ROLES); rules out "legit"
    evidence: bool = False  # a legit finding that shows the message is genuine
    evidence_senders: frozenset[str] | None = None  # ... only from these sender types


@dataclass(frozen=True, slots=True)
class SenderRule:
    """A kind of sender number, by pattern or by what phonenumbers makes of it."""

    signal: Signal
    type: str
    pattern: re.Pattern[str] | None
    number: str | None


@dataclass(frozen=True, slots=True)
class Brand:
    """An organisation, its registered domains and the host fragments that claim to be it."""

    name: str
    domains: tuple[str, ...]
    claims: re.Pattern[str] | None
    topic: re.Pattern[str] | None


@dataclass(frozen=True, slots=True)
class TextRule:
    """A pattern in the text (with optional conditions) that points to one verdict."""

    signal: Signal
    match: tuple[re.Pattern[str], ...]
    unless: tuple[re.Pattern[str], ...] = ()
    not_after: re.Pattern[str] | None = None
    senders: frozenset[str] | None = None
    not_senders: frozenset[str] | None = None
    links: bool | None = None
    phones: bool | None = None
    contact: bool | None = None  # a link off the official domains, a phone number or chat account
    warned: bool | None = None  # a warning phrase (a rule that `negates`) is in the text
    group: str | None = None
    negates: bool = False


@dataclass(frozen=True, slots=True)
class Rules:
    """Everything analysis.yaml says: weights, patterns, thresholds, verdict and advice words."""

    thresholds: dict[str, float]
    verdicts: dict[str, Words]
    advice: dict[str, Words]
    verdict_advice: dict[str, tuple[str, ...]]
    advice_needs: dict[str, str]
    senders: tuple[SenderRule, ...]
    shorteners: frozenset[str]
    risky_tlds: frozenset[str]
    brands: tuple[Brand, ...]
    links: dict[str, Signal]
    text: tuple[TextRule, ...]
    finding_advice: dict[str, tuple[str, ...]]


# ---- loading ------------------------------------------------------------------------------


class _Reader:
    """Check the parsed YAML, raising RulesError with the file name and line."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.ids: dict[str, int] = {}  # finding id -> line where it is defined
        self.advice: dict[str, Words] = {}

    def claim_id(self, finding_id: str, line: int) -> str:
        if finding_id in self.ids:
            raise self.fail(line, f"id {finding_id!r} already used on line {self.ids[finding_id]}")
        self.ids[finding_id] = line
        return finding_id

    def advice_ids(self, m: yamlfile.Mapping_, key: str) -> tuple[str, ...]:
        ids = self.strings(m, key)
        for advice_id in ids:
            if advice_id not in self.advice:
                raise self.fail(m.line_of(key), f"{key}: unknown advice {advice_id!r}")
        return ids

    def fail(self, line: int, message: str) -> RulesError:
        return RulesError(f"{self.name}:{line}: {message}")

    def mapping(self, value: Any, line: int, what: str) -> yamlfile.Mapping_:
        if not isinstance(value, yamlfile.Mapping_):
            raise self.fail(line, f"{what}: expected a mapping, got {type(value).__name__}")
        return value

    def keys(self, m: yamlfile.Mapping_, required: Iterable[str], optional: Iterable[str]) -> None:
        required = tuple(required)
        allowed = set(required) | set(optional)
        for key in m:
            if key not in allowed:
                raise self.fail(m.line_of(key), f"unknown key {key!r}")
        for key in required:
            if key not in m:
                raise self.fail(m.line, f"missing key {key!r}")

    def number(self, m: yamlfile.Mapping_, key: str) -> float:
        value = m[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(m.line_of(key), f"{key}: expected a number, got {value!r}")
        return float(value)

    def text(self, m: yamlfile.Mapping_, key: str) -> str:
        value = m[key]
        if not isinstance(value, str) or not value.strip():
            raise self.fail(m.line_of(key), f"{key}: expected text, got {value!r}")
        return value

    def strings(self, m: yamlfile.Mapping_, key: str) -> tuple[str, ...]:
        value = m[key]
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(i, str) and i for i in items):
            raise self.fail(m.line_of(key), f"{key}: expected text or a list of texts")
        return tuple(items)

    def regexes(self, m: yamlfile.Mapping_, key: str) -> tuple[re.Pattern[str], ...]:
        compiled = []
        for source in self.strings(m, key):
            try:
                compiled.append(re.compile(source, re.IGNORECASE))
            except re.error as exc:
                raise self.fail(m.line_of(key), f"{key}: bad regex {source!r}: {exc}") from exc
        return tuple(compiled)

    def words(self, m: yamlfile.Mapping_, key: str, params: Iterable[str] = ()) -> Words:
        words = self.mapping(m[key], m.line_of(key), key)
        self.keys(words, LANGUAGES, ())
        result = {lang: self.text(words, lang) for lang in LANGUAGES}
        for lang, text in result.items():
            for _, field, _, _ in string.Formatter().parse(text):
                if field is not None and field not in params:
                    allowed = ", ".join("{" + p + "}" for p in params) or "none"
                    line = words.line_of(lang)
                    raise self.fail(line, f"{lang}: unknown placeholder {{{field}}} ({allowed})")
        return result

    def signal(self, m: yamlfile.Mapping_, rule_id: str, params: Iterable[str]) -> Signal:
        kind = self.text(m, "kind")
        if kind not in KINDS:
            raise self.fail(m.line_of("kind"), f"kind: expected one of {KINDS}, got {kind!r}")
        advice = self.advice_ids(m, "advice") if "advice" in m else ()
        role = self.choice(m, "role", ROLES) if "role" in m else None
        if role is not None and kind != "fraud":
            raise self.fail(m.line_of("role"), f"role: only a fraud finding has one, not {kind}")
        evidence, senders = False, None
        if "evidence" in m:
            if kind != "legit":
                raise self.fail(m.line_of("evidence"), f"evidence: only for legit, not {kind}")
            value = m["evidence"]
            if value is not True:
                senders = frozenset(self.strings(m, "evidence"))
            evidence = True
        return Signal(
            rule_id,
            kind,
            self.number(m, "weight"),
            self.words(m, "words", params),
            advice,
            role,
            evidence,
            senders,
        )

    def choice(self, m: yamlfile.Mapping_, key: str, allowed: Iterable[str]) -> str:
        value = self.text(m, key)
        if value not in allowed:
            raise self.fail(
                m.line_of(key), f"{key}: expected one of {tuple(allowed)}, got {value!r}"
            )
        return value


_SIGNAL_KEYS = ("id", "kind", "weight", "words")
_OPTIONAL_SIGNAL_KEYS = ("advice", "role", "evidence")
_TEXT_RULE_KEYS = (
    "match",
    "unless",
    "not_after",
    "senders",
    "not_senders",
    "links",
    "phones",
    "contact",
    "warned",
    "group",
    "negates",
)


def load_rules(path: Path | None = None) -> Rules:
    """Load and check the rules file (default: the packaged bot/rules/analysis.yaml)."""
    path = path or RULES_FILE
    reader = _Reader(path.name)
    try:
        data = yamlfile.load(path)
    except yamlfile.YamlSyntaxError as exc:
        raise reader.fail(exc.line, str(exc)) from exc
    top = reader.mapping(data, 1, "the file")
    sections = ("thresholds", "verdicts", "advice", "verdict_advice", "advice_needs")
    reader.keys(top, (*sections, "senders", "links", "rules"), ())
    part = {key: reader.mapping(top[key], top.line_of(key), key) for key in (*sections, "links")}

    reader.keys(part["thresholds"], KINDS, ())
    thresholds = {kind: reader.number(part["thresholds"], kind) for kind in KINDS}
    reader.keys(part["verdicts"], VERDICTS, ())
    verdicts = {v: reader.words(part["verdicts"], v) for v in VERDICTS}
    reader.advice = {key: reader.words(part["advice"], key) for key in part["advice"]}
    reader.keys(part["verdict_advice"], VERDICTS, ())
    verdict_advice = {v: reader.advice_ids(part["verdict_advice"], v) for v in VERDICTS}
    needs = part["advice_needs"]
    reader.keys(needs, (), reader.advice)
    advice_needs = {key: reader.choice(needs, key, CONTEXTS) for key in needs}

    senders = tuple(_sender_rule(reader, item) for item in _list(reader, top, "senders"))
    links = part["links"]
    reader.keys(links, ("shorteners", "risky_tlds", "brands", "findings"), ())
    brands = reader.mapping(links["brands"], links.line_of("brands"), "brands")
    findings = reader.mapping(links["findings"], links.line_of("findings"), "findings")
    reader.keys(findings, LINK_FINDINGS, ())
    link_signals = {}
    for fid in LINK_FINDINGS:
        item = reader.mapping(findings[fid], findings.line_of(fid), fid)
        reader.keys(item, ("kind", "weight", "words"), _OPTIONAL_SIGNAL_KEYS)
        reader.claim_id(fid, findings.line_of(fid))
        link_signals[fid] = reader.signal(item, fid, ("detail", "official"))
    text = tuple(_text_rule(reader, item) for item in _list(reader, top, "rules"))

    signals = [*(r.signal for r in senders), *link_signals.values(), *(r.signal for r in text)]
    return Rules(
        thresholds=thresholds,
        verdicts=verdicts,
        advice=reader.advice,
        verdict_advice=verdict_advice,
        advice_needs=advice_needs,
        senders=senders,
        shorteners=frozenset(s.lower() for s in reader.strings(links, "shorteners")),
        risky_tlds=frozenset(s.lower().lstrip(".") for s in reader.strings(links, "risky_tlds")),
        brands=tuple(_brand(reader, name, brands) for name in brands),
        links=link_signals,
        text=text,
        finding_advice={s.id: s.advice for s in signals if s.advice},
    )


def _list(reader: _Reader, top: yamlfile.Mapping_, key: str) -> list[yamlfile.Mapping_]:
    items = top[key]
    if not isinstance(items, list):
        raise reader.fail(top.line_of(key), f"{key}: expected a list")
    return [reader.mapping(i, top.line_of(key), f"an entry of {key}") for i in items]


def _sender_rule(reader: _Reader, item: yamlfile.Mapping_) -> SenderRule:
    reader.keys(item, (*_SIGNAL_KEYS, "type"), ("pattern", "number", *_OPTIONAL_SIGNAL_KEYS))
    if ("pattern" in item) == ("number" in item):
        raise reader.fail(item.line, "a sender needs exactly one of 'pattern' or 'number'")
    rid = reader.claim_id(reader.text(item, "id"), item.line_of("id"))
    return SenderRule(
        signal=reader.signal(item, rid, ("sender", "detail")),
        type=reader.text(item, "type"),
        pattern=reader.regexes(item, "pattern")[0] if "pattern" in item else None,
        number=reader.choice(item, "number", NUMBER_CLASSES) if "number" in item else None,
    )


def _text_rule(reader: _Reader, item: yamlfile.Mapping_) -> TextRule:
    reader.keys(item, _SIGNAL_KEYS, (*_TEXT_RULE_KEYS, *_OPTIONAL_SIGNAL_KEYS))
    rid = reader.claim_id(reader.text(item, "id"), item.line_of("id"))
    conditions = {"match", "senders", "not_senders", "links", "phones", "contact", "warned"}
    if not conditions & item.keys():
        raise reader.fail(item.line, f"a rule needs at least one of {sorted(conditions)}")
    flags = {
        key: _flag(reader, item, key) for key in ("links", "phones", "contact", "warned", "negates")
    }
    if flags["negates"] and "match" not in item:
        raise reader.fail(item.line_of("negates"), "negates: the rule needs a 'match'")
    return TextRule(
        signal=reader.signal(item, rid, ("detail", "sender")),
        match=reader.regexes(item, "match") if "match" in item else (),
        unless=reader.regexes(item, "unless") if "unless" in item else (),
        not_after=reader.regexes(item, "not_after")[0] if "not_after" in item else None,
        senders=frozenset(reader.strings(item, "senders")) if "senders" in item else None,
        not_senders=(
            frozenset(reader.strings(item, "not_senders")) if "not_senders" in item else None
        ),
        links=flags["links"],
        phones=flags["phones"],
        contact=flags["contact"],
        warned=flags["warned"],
        group=reader.text(item, "group") if "group" in item else None,
        negates=bool(flags["negates"]),
    )


def _flag(reader: _Reader, item: yamlfile.Mapping_, key: str) -> bool | None:
    value = item.get(key)
    if value is not None and not isinstance(value, bool):
        raise reader.fail(item.line_of(key), f"{key}: expected true or false, got {value!r}")
    return value


def _brand(reader: _Reader, name: str, brands: yamlfile.Mapping_) -> Brand:
    item = reader.mapping(brands[name], brands.line_of(name), name)
    reader.keys(item, ("domains",), ("claims", "topic"))
    domains = tuple(d.lower() for d in reader.strings(item, "domains"))
    claims = None
    if "claims" in item:
        # A short fragment like "jd" must stand alone in the host; a long one ("alipay") need not.
        parts = [
            re.escape(c) if len(c) > 3 else rf"(?<![a-z0-9]){re.escape(c)}(?![a-z0-9])"
            for c in (c.lower() for c in reader.strings(item, "claims"))
        ]
        claims = re.compile("|".join(parts))
    topic = reader.regexes(item, "topic")[0] if "topic" in item else None
    return Brand(name, domains, claims, topic)


@cache
def default_rules() -> Rules:
    """Return the packaged rules, loaded once."""
    return load_rules()


def advice_words(rules: Rules, advice_id: str, lang: str) -> str:
    """Return the sentence for an advice id in `lang` (zh or en)."""
    return rules.advice[advice_id][lang]


def verdict_words(rules: Rules, verdict: str, lang: str) -> str:
    """Return the verdict in words, e.g. "可能是诈骗" / "Likely fraud"."""
    return rules.verdicts[verdict][lang]
