"""Judge a forwarded SMS (fraud, marketing, legit or unknown) by the rules in rules/analysis.yaml.

Pure: text, sender and time in, findings and a verdict out. The only I/O is `load_rules`, and
nothing here ever touches the network (the domain splitter uses its bundled suffix snapshot).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from urllib.parse import urlsplit

import phonenumbers
import tldextract
from urlextract import URLExtract  # type: ignore[import-untyped]

from bot import scam_model
from bot.analysis_rules import (
    KINDS,
    Rules,
    Signal,
    TextRule,
    default_rules,
)

NEGATION_WINDOW = 6  # characters before a match searched for a negation such as 请勿 / never
DETAIL_MAX = 40


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
    verdict, findings = _with_model(verdict, findings, clean)  # the learned model (issue 15)
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


def _with_model(
    verdict: str, findings: tuple[Finding, ...], text: str
) -> tuple[str, tuple[Finding, ...]]:
    """Let the learned model add a warning the rules missed; it never clears one."""
    opinion = scam_model.classify(text)
    widened = scam_model.widen(verdict, opinion)
    if widened == verdict:
        return verdict, findings
    # Weight 0: the scores stay the rules' own sums; the model's share is in its words.
    words = scam_model.reason(widened, opinion)
    said = Finding(f"model_{widened}", widened, 0.0, words, "、".join(opinion.top_terms) or None)
    return widened, (said, *findings)


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
