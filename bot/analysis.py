"""Judge a forwarded SMS (fraud, marketing, legit or unknown) by the rules in rules/analysis.yaml.

Pure: text, sender and time in, findings and a verdict out. The only I/O is `load_rules`, and
nothing here ever touches the network (the domain splitter uses its bundled suffix snapshot).
"""

from __future__ import annotations

import ipaddress
import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import phonenumbers
import tldextract
from urlextract import URLExtract  # type: ignore[import-untyped]

from flows import yamlfile
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
)
NEGATION_WINDOW = 6  # characters before a match searched for a negation such as 请勿 / never
DETAIL_MAX = 40

Words = dict[str, str]


class RulesError(ComplaintBotError):
    """The rules file is broken; the message starts with `analysis.yaml:LINE: `."""


@dataclass(frozen=True, slots=True)
class Finding:
    """One reason for a verdict, in words the person reads."""

    id: str
    kind: str
    weight: float
    words: dict[str, str]
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class Analysis:
    """The verdict on one message, with its reasons and what to do now."""

    verdict: str
    findings: tuple[Finding, ...]
    advice: tuple[str, ...]
    sender: str | None
    sender_type: str | None
    urls: tuple[str, ...]
    phones: tuple[str, ...]
    scores: dict[str, float]


@dataclass(frozen=True, slots=True)
class Signal:
    """What a finding says and weighs, before its words are filled in."""

    id: str
    kind: str
    weight: float
    words: Words
    advice: tuple[str, ...] = ()


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
    links: bool | None = None
    group: str | None = None
    suppresses: frozenset[str] = frozenset()


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
        self.suppress_lines: list[int] = []

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
        return Signal(
            rule_id, kind, self.number(m, "weight"), self.words(m, "words", params), advice
        )

    def choice(self, m: yamlfile.Mapping_, key: str, allowed: Iterable[str]) -> str:
        value = self.text(m, key)
        if value not in allowed:
            raise self.fail(
                m.line_of(key), f"{key}: expected one of {tuple(allowed)}, got {value!r}"
            )
        return value


_SIGNAL_KEYS = ("id", "kind", "weight", "words")
_TEXT_RULE_KEYS = ("match", "unless", "not_after", "senders", "links", "group", "suppresses")


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
        reader.keys(item, ("kind", "weight", "words"), ("advice",))
        reader.claim_id(fid, findings.line_of(fid))
        link_signals[fid] = reader.signal(item, fid, ("detail", "official"))
    text = tuple(_text_rule(reader, item) for item in _list(reader, top, "rules"))
    for rule, line in zip(text, reader.suppress_lines, strict=True):
        for name in rule.suppresses - set(KINDS) - reader.ids.keys():
            raise reader.fail(line, f"suppresses: no finding or kind {name!r}")

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
    reader.keys(item, (*_SIGNAL_KEYS, "type"), ("pattern", "number", "advice"))
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
    reader.keys(item, _SIGNAL_KEYS, (*_TEXT_RULE_KEYS, "advice"))
    rid = reader.claim_id(reader.text(item, "id"), item.line_of("id"))
    if not {"match", "senders", "links"} & item.keys():
        raise reader.fail(item.line, "a rule needs at least one of 'match', 'senders', 'links'")
    links = item.get("links")
    if links is not None and not isinstance(links, bool):
        raise reader.fail(item.line_of("links"), f"links: expected true or false, got {links!r}")
    reader.suppress_lines.append(item.line_of("suppresses"))
    return TextRule(
        signal=reader.signal(item, rid, ("detail", "sender")),
        match=reader.regexes(item, "match") if "match" in item else (),
        unless=reader.regexes(item, "unless") if "unless" in item else (),
        not_after=reader.regexes(item, "not_after")[0] if "not_after" in item else None,
        senders=frozenset(reader.strings(item, "senders")) if "senders" in item else None,
        links=links,
        group=reader.text(item, "group") if "group" in item else None,
        suppresses=frozenset(reader.strings(item, "suppresses") if "suppresses" in item else ()),
    )


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


# ---- analysing ----------------------------------------------------------------------------

# Full-width letters, digits and symbols become ASCII (回Ｔ退订 -> 回T退订); the full-width
# punctuation Chinese text is written with (，：！？；（）～) stays, so details read naturally.
_HALF_WIDTH = {
    code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F) if chr(code) not in "，：！？；（）～"
} | {0x3000: 0x20}
_NON_ASCII = re.compile(r"[^\x21-\x7e]+")
# Bare domains urlextract may miss, e.g. "t.cn/A6xyz" squeezed between other characters.
_BARE_DOMAIN = re.compile(
    r"(?<![\w@.-])(?:[a-z0-9-]+\.)+[a-z]{2,}(?::\d+)?(?:/[\w\-./?=&%#~+]*)?", re.I
)
_SEPARATORS = re.compile(r"[\s\-()（）]")
_CN_PREFIX = re.compile(r"^(?:\+86|0086)(?=\d{5,})")


@cache
def _url_extractor() -> URLExtract:
    return URLExtract(extract_localhost=False, cache_dns=False)


@cache
def _domains() -> tldextract.TLDExtract:
    # No suffix-list URLs and no cache: the bundled snapshot only, so never a network request.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def analyse(
    text: str, sender: str | None = None, at: datetime | None = None, *, rules: Rules | None = None
) -> Analysis:
    """Judge one message; `at` (when it arrived) is accepted for rules that may need it."""
    rules = rules or default_rules()
    clean = text.translate(_HALF_WIDTH).strip()
    urls = _find_urls(clean)
    phones = _find_phones(clean, urls)
    given = _SEPARATORS.sub("", sender) if sender and sender.strip() else None
    sender_type, sender_signal = _classify_sender(rules, given)

    candidates: list[tuple[Finding, TextRule | None]] = []
    if sender_signal is not None and given is not None:
        candidates.append((_finding(sender_signal, given, sender=given), None))
    candidates += [(f, None) for f in _link_findings(rules, clean, urls)]
    for rule in rules.text:
        detail = _match(rule, clean, sender_type, bool(urls))
        if detail is not None:
            candidates.append((_finding(rule.signal, detail or None, sender=given or "-"), rule))

    findings = _settle(candidates)
    scores = {k: round(float(sum(f.weight for f in findings if f.kind == k)), 2) for k in KINDS}
    verdict = _verdict(rules.thresholds, scores)
    advice = _advice(rules, verdict, findings, has={"links": bool(urls), "phones": bool(phones)})
    return Analysis(verdict, findings, advice, given, sender_type, urls, phones, scores)


def _finding(signal: Signal, detail: str | None, **params: str) -> Finding:
    values = {"detail": detail or "", **params}
    words = {lang: text.format(**values) for lang, text in signal.words.items()}
    return Finding(signal.id, signal.kind, signal.weight, words, detail)


def _classify_sender(rules: Rules, sender: str | None) -> tuple[str | None, Signal | None]:
    if sender is None:
        return None, None
    national = _CN_PREFIX.sub("", sender)
    number_class = _number_class(sender)
    for rule in rules.senders:
        if rule.pattern is not None and rule.pattern.search(national):
            return rule.type, rule.signal
        if rule.number is not None and rule.number == number_class:
            return rule.type, rule.signal
    return "unknown", None


def _number_class(sender: str) -> str | None:
    international = sender.startswith(("+", "00"))
    try:
        number = phonenumbers.parse("+" + sender[2:] if sender.startswith("00") else sender, "CN")
    except phonenumbers.NumberParseException:
        return None
    if number.country_code != 86:
        return "overseas" if international and phonenumbers.is_possible_number(number) else None
    if not phonenumbers.is_valid_number(number):
        return None
    kind = phonenumbers.number_type(number)
    if kind in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        return "cn_mobile"
    return "cn_fixed" if kind == phonenumbers.PhoneNumberType.FIXED_LINE else None


def _find_urls(text: str) -> tuple[str, ...]:
    # urlextract stops a URL only at whitespace, so Chinese text around it becomes spaces first.
    ascii_only = _NON_ASCII.sub(" ", text)
    found: list[str] = []
    for url in [*_url_extractor().find_urls(ascii_only), *_BARE_DOMAIN.findall(ascii_only)]:
        url = url.rstrip(".,;:!?'\")]}")
        host = _host(url)
        # A bare "1.2.3.4" is a version number more often than a link; with a path it is a link.
        ip_link = _is_ip(host) and any(c in url for c in "/:")
        known = host and (ip_link or _domains()(host).suffix)
        if known and not any(host == _host(u) for u in found):
            found.append(url)
    return tuple(found)


def _host(url: str) -> str:
    parts = urlsplit(url if "://" in url else "http://" + url)
    try:
        return (parts.hostname or "").rstrip(".").lower()
    except ValueError:
        return ""


def _find_phones(text: str, urls: tuple[str, ...]) -> tuple[str, ...]:
    for url in urls:
        text = text.replace(url, " ")
    found: list[str] = []
    for match in phonenumbers.PhoneNumberMatcher(text, "CN"):
        number = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
        if number not in found:
            found.append(number)
    return tuple(found)


def _link_findings(rules: Rules, text: str, urls: tuple[str, ...]) -> list[Finding]:
    findings: dict[str, Finding] = {}

    def add(fid: str, detail: str, official: str = "") -> None:
        if fid not in findings:  # one of each kind: ten short links do not make ten times the fraud
            findings[fid] = _finding(rules.links[fid], detail, official=official)

    for url in urls:
        host = _host(url)
        owners = [b for b in rules.brands if any(_on(host, d) for d in b.domains)]
        if _is_ip(host):
            add("link_ip", host)
        elif any(_on(host, s) for s in rules.shorteners):
            add("link_shortener", host)
        elif owners:
            add("link_official", host)
        elif host.rsplit(".", 1)[-1] in rules.risky_tlds:
            add("link_risky_tld", host)
        for brand in rules.brands:
            if brand in owners:
                continue
            if brand.claims is not None and brand.claims.search(host):
                add("link_lookalike", host, " / ".join(brand.domains))
            if brand.topic is not None and brand.topic.search(text):
                add("link_not_official", host, " / ".join(brand.domains))
    return list(findings.values())


def _on(host: str, domain: str) -> bool:
    return host == domain or host.endswith("." + domain)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _match(rule: TextRule, text: str, sender_type: str | None, has_links: bool) -> str | None:
    """Return the matched detail ("" when there is none) if the rule holds, else None."""
    if rule.senders is not None and sender_type not in rule.senders:
        return None
    if rule.links is not None and rule.links != has_links:
        return None
    if any(p.search(text) for p in rule.unless):
        return None
    named, whole = None, None
    for pattern in rule.match:
        hit = next((m for m in pattern.finditer(text) if not _negated(rule, text, m.start())), None)
        if hit is None:
            return None
        whole = whole or hit.group(0)
        named = named or next((g for g in hit.groupdict().values() if g), None)
    return (named or whole or "").strip(" ,，。:：")[:DETAIL_MAX]


def _negated(rule: TextRule, text: str, start: int) -> bool:
    window = text[max(0, start - NEGATION_WINDOW) : start]
    return rule.not_after is not None and rule.not_after.search(window) is not None


def _settle(candidates: list[tuple[Finding, TextRule | None]]) -> tuple[Finding, ...]:
    """Drop what a stronger rule suppresses and all but the first of a group; strongest first."""
    suppressed = set().union(*(r.suppresses for _, r in candidates if r is not None))
    groups: set[str] = set()
    kept = []
    for finding, rule in candidates:
        # A kind in `suppresses` drops text findings of that kind, never sender or link ones.
        if finding.id in suppressed or (rule is not None and finding.kind in suppressed):
            continue
        if rule is not None and rule.group is not None:
            if rule.group in groups:
                continue
            groups.add(rule.group)
        kept.append(finding)
    return tuple(sorted(kept, key=lambda f: -f.weight))


def _verdict(thresholds: Mapping[str, float], scores: Mapping[str, float]) -> str:
    fraud, marketing, legit = scores["fraud"], scores["marketing"], scores["legit"]
    if fraud >= thresholds["fraud"]:
        return "fraud"  # a scam that also says 回T退订 is still a scam
    if marketing >= thresholds["marketing"] and marketing > fraud:
        return "marketing"  # an opt-out or a sales pitch makes it marketing, however polite
    if legit >= thresholds["legit"] and legit > fraud + marketing:
        return "legit"
    return "unknown"


def _advice(
    rules: Rules, verdict: str, findings: tuple[Finding, ...], has: Mapping[str, bool]
) -> tuple[str, ...]:
    # The verdict's advice that needs a link or a phone number is left out when there is none;
    # advice a finding brings (e.g. "don't call back" for "call this number now") always stays.
    wanted = {
        a for a in rules.verdict_advice[verdict] if has.get(rules.advice_needs.get(a, ""), True)
    }
    if verdict != "legit":
        for finding in findings:
            if finding.kind != "legit":
                wanted.update(rules.finding_advice.get(finding.id, ()))
    return tuple(a for a in rules.advice if a in wanted)
