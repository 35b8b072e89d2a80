"""Judge a forwarded SMS (fraud, marketing, legit or unknown) by the rules in rules/analysis.yaml.

Pure: text, sender and time in, findings and a verdict out. The only I/O is `load_rules`, and
nothing here ever touches the network (the domain splitter uses its bundled suffix snapshot).

The check is linear in the text's length and reads at most READ_LIMIT characters: a long SMS is
about 700 characters, and a crafted one must not be able to stall the bot. Finding the reasons
(`findings`) and weighing them into a verdict (`decide`) are separate steps, so that another
judge (a learned model) can weigh the same findings: `analyse(..., judge=...)`; whatever it
says, "legit" stands only where `may_be_legit` allows it.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import phonenumbers

from bot import scam_model
from bot.analysis_rules import (
    KINDS,
    Rules,
    Signal,
    TextRule,
    default_rules,
)

if TYPE_CHECKING:
    import tldextract

READ_LIMIT = 1000  # characters of a message the check reads; the rest is ignored
NEGATION_WINDOW = 6  # characters before a match searched for a negation such as 请勿 / never
DETAIL_MAX = 40
URL_LIMIT = 20  # links looked at per message: ten short links are no more a scam than three
PHONE_LIMIT = 10
# Roles of a fraud finding that rule out "looks legitimate": the message asks you to get in
# touch somewhere else, to pay, to give a secret, to install something, or poses as someone.
BLOCKS_LEGIT = frozenset({"contact", "money", "secret", "download", "impersonation"})


@dataclass(frozen=True, slots=True)
class Finding:
    """One reason for a verdict, in words the person reads."""

    id: str
    kind: str
    weight: float
    words: dict[str, str]
    detail: str | None = None
    role: str | None = None  # contact | money | secret | download | impersonation | None
    evidence: bool = False  # positive evidence that the message is genuine (see `decide`)


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
    cut: bool = False  # the text was longer than READ_LIMIT and only its start was read


Judge = Callable[[Sequence[Finding], str, Rules], str]


# ---- analysing ----------------------------------------------------------------------------

# Full-width letters, digits and symbols become ASCII (回Ｔ退订 -> 回T退订); the full-width
# punctuation Chinese text is written with (，：！？；（）～) stays, so details read naturally.
_HALF_WIDTH = {
    code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F) if chr(code) not in "，：！？；（）～"
} | {0x3000: 0x20}
_NON_ASCII = re.compile(r"[^\x21-\x7e]+")
# Links: with a scheme, a bare IPv4 address, or a bare domain ("t.cn/A6xyz" squeezed between
# Chinese characters). Each may start only where no letter, digit or dot precedes it, so a run
# such as "1.1.1.1..." is tried once, not from every position (which made it quadratic).
_URL = re.compile(
    r"(?<![\w@.-])(?:"
    r"(?:https?|hxxps?)://[^\s/?#]+[^\s]*"
    r"|(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?(?:/[^\s]*)?"
    r"|(?:[a-z0-9-]++\.)++[a-z]{2,}(?::\d+)?(?:/[\w\-./?=&%#~+]*)?"
    r")",
    re.I,
)
# Phone number candidates for phonenumbers to parse: how Chinese numbers start (a mobile 13x-19x,
# an area code 0xx, 400/800) or a +country code; an order number such as 2983746510 is not one.
_PHONE_CANDIDATE = re.compile(
    r"(?<![0-9a-z.+])(?:\+\d|\(?0\d|1[3-9]\d|[48]00)[\d\s\-()]{4,17}\d(?!\d)", re.I
)
# A WeChat / QQ / Telegram account given in the text ("微信 fz9527", "QQ：2883456712").
_CHAT_ID = re.compile(
    r"(微信|威信|薇信|vx|v信|wx|weixin|wechat|qq|telegram|whatsapp|tg)\s*(号|号码|账号|群|id)?\s*"
    r"[:：]?\s*@?[a-z0-9][\w-]{4,}",
    re.I,
)
# Runs of digits or letters longer than any number, code or word in an SMS are cut short: they
# can only be padding, and a pattern such as \d+元 tried at each digit of a long run costs its
# square.
_LONG_DIGITS = re.compile(r"(\d{24})\d+")
_LONG_LETTERS = re.compile(r"([a-z]{64})[a-z]+", re.I)
# A full bank card or account number (16-19 digits, maybe in groups): somewhere to send money.
_CARD = re.compile(r"(?<![\d-])(?:\d[ -]?){15,18}\d(?![\d-])")
_SEPARATORS = re.compile(r"[\s\-()（）]")
_CN_PREFIX = re.compile(r"^(?:\+86|0086)(?=\d{5,})")


@cache
def _domains() -> tldextract.TLDExtract:
    # Imported here, when the first link is checked: tldextract brings requests and urllib3,
    # the largest part of start-up no command needs before then.
    import tldextract

    # No suffix-list URLs and no cache: the bundled snapshot only, so never a network request.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


@dataclass(frozen=True, slots=True)
class _Seen:
    """What the text carries, worked out once for every rule."""

    text: str
    sender_type: str | None
    links: bool
    phones: bool
    contact: bool  # a link off the official domains, a phone number, a chat account or a card
    warnings: tuple[tuple[int, int], ...]  # spans of the text a warning phrase covers


def analyse(
    text: str,
    sender: str | None = None,
    at: datetime | None = None,
    *,
    rules: Rules | None = None,
    judge: Judge | None = None,
) -> Analysis:
    """Judge one message; `at` (when it arrived) is accepted for rules that may need it."""
    rules = rules or default_rules()
    stripped = text.strip()
    cut = len(stripped) > READ_LIMIT
    clean = stripped[:READ_LIMIT].translate(_HALF_WIDTH)
    clean = _LONG_LETTERS.sub(r"\1", _LONG_DIGITS.sub(r"\1", clean))
    urls, spans = _find_urls(clean)
    phones, phone_like = _find_phones(clean, spans)
    given = _SEPARATORS.sub("", sender) if sender and sender.strip() else None
    sender_type, sender_signal = _classify_sender(rules, given)
    findings: list[Finding] = []
    if sender_signal is not None and given is not None:
        findings.append(_finding(sender_signal, given, sender_type, sender=given))
    links = _link_findings(rules, clean, urls, sender_type)
    findings += links
    unofficial = any(f.kind == "fraud" for f in links)
    contact = bool(unofficial or phone_like or _CHAT_ID.search(clean) or _CARD.search(clean))
    warnings = tuple(
        m.span() for r in rules.text if r.negates for p in r.match for m in p.finditer(clean)
    )
    seen = _Seen(clean, sender_type, bool(urls), bool(phones), contact, warnings)
    groups: set[str] = set()
    for rule in rules.text:
        if rule.group is not None and rule.group in groups:
            continue
        detail = _match(rule, seen)
        if detail is not None:
            findings.append(_finding(rule.signal, detail or None, sender_type, sender=given or "-"))
            if rule.group is not None:
                groups.add(rule.group)
    findings.sort(key=lambda f: -f.weight)
    found = tuple(findings)
    verdict = (judge or decide)(found, clean, rules)
    if verdict == "legit" and not may_be_legit(found):
        verdict = "unknown"  # whoever judges, "looks legitimate" keeps its guarantees
    verdict, found = _with_model(verdict, found, clean)  # the learned model (issue 15)
    scores = _scores(found)
    advice = _advice(rules, verdict, found, has={"links": bool(urls), "phones": bool(phones)})
    return Analysis(verdict, found, advice, given, sender_type, urls, phones, scores, cut)


def _scores(findings: Sequence[Finding]) -> dict[str, float]:
    return {k: round(float(sum(f.weight for f in findings if f.kind == k)), 2) for k in KINDS}


def decide(findings: Sequence[Finding], text: str, rules: Rules) -> str:
    """Return the verdict the findings support: fraud, marketing, legit or unknown.

    Fraud when the fraud weights reach their threshold, even with marketing or legit signs: a
    scam that says 回T退订 or 谨防诈骗 is still a scam. Marketing when its weights reach their
    threshold and beat fraud. Legit only with positive evidence (a finding marked `evidence`,
    such as a code, a transaction alert or an official link), a legit score that beats the
    others, and no finding that asks for contact elsewhere, money or secrets, an install, or
    poses as someone; never from the sender number or polite wording alone. Else unknown.
    `text` is unused here; a judge that reads the words (a model) gets it too.
    """
    scores = _scores(findings)
    fraud, marketing, legit = scores["fraud"], scores["marketing"], scores["legit"]
    thresholds = rules.thresholds
    if fraud >= thresholds["fraud"]:
        return "fraud"
    if marketing >= thresholds["marketing"] and marketing > fraud:
        return "marketing"
    if legit >= thresholds["legit"] and legit > fraud + marketing and may_be_legit(findings):
        return "legit"
    return "unknown"


def may_be_legit(findings: Sequence[Finding]) -> bool:
    """Return True when "looks legitimate" is allowed: positive evidence and no request."""
    blocked = any(f.kind == "fraud" and f.role in BLOCKS_LEGIT for f in findings)
    return not blocked and any(f.kind == "legit" and f.evidence for f in findings)


def _finding(signal: Signal, detail: str | None, sender_type: str | None, **params: str) -> Finding:
    values = {"detail": detail or "", **params}
    words = {lang: text.format(**values) for lang, text in signal.words.items()}
    # Evidence that needs an official sender (a warning from 12381 or a bank) counts only then.
    evidence = signal.evidence and (
        signal.evidence_senders is None or sender_type in signal.evidence_senders
    )
    return Finding(signal.id, signal.kind, signal.weight, words, detail, signal.role, evidence)


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


def _find_urls(text: str) -> tuple[tuple[str, ...], list[tuple[int, int]]]:
    """Return the links in `text` (one per host, at most URL_LIMIT) and the spans of all found."""
    # Chinese text around a link becomes spaces, so a link ends where the Chinese starts.
    ascii_only = _NON_ASCII.sub(lambda m: " " * len(m.group()), text)
    found: list[str] = []
    seen: set[str] = set()
    suffixes: dict[str, bool] = {}  # host -> on a public suffix (asked once per host)
    spans: list[tuple[int, int]] = []
    for match in _URL.finditer(ascii_only):
        url = match.group().rstrip(".,;:!?'\")]}")
        host = _host(url)
        if not host:
            continue
        if _is_ip(host):
            # A bare "1.2.3.4" is a version number more often than a link; with a path it is.
            if not any(c in url for c in "/:"):
                continue
        else:
            if host not in suffixes:
                suffixes[host] = bool(_domains()(host).suffix)
            if not suffixes[host]:
                continue
        if host not in seen:
            seen.add(host)
            found.append(url)
        spans.append((match.start(), match.start() + len(url)))
        if len(found) >= URL_LIMIT:
            break
    return tuple(found), spans


def _host(url: str) -> str:
    parts = urlsplit(url if "://" in url else "http://" + url)
    try:
        return (parts.hostname or "").rstrip(".").lower()
    except ValueError:
        return ""


def _find_phones(text: str, url_spans: list[tuple[int, int]]) -> tuple[tuple[str, ...], bool]:
    """Return the valid phone numbers in `text`, and whether anything looks like one."""
    found: list[str] = []
    phone_like = False
    for candidate in _PHONE_CANDIDATE.finditer(text):
        start, end = candidate.span()
        if any(a < end and start < b for a, b in url_spans):
            continue  # digits inside a link are not a phone number
        # A number to call need not be valid to be a way to get in touch: 0871-6543210 is one.
        phone_like = True
        # Each candidate is short, so the matcher's cost stays bounded however long the text.
        for match in phonenumbers.PhoneNumberMatcher(candidate.group(), "CN"):
            number = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
            if number not in found:
                found.append(number)
        if len(found) >= PHONE_LIMIT:
            break
    return tuple(found), phone_like


def _link_findings(
    rules: Rules, text: str, urls: tuple[str, ...], sender_type: str | None
) -> list[Finding]:
    findings: dict[str, Finding] = {}

    def add(fid: str, detail: str, official: str = "") -> None:
        if fid not in findings:  # one of each kind: ten short links do not make ten times the fraud
            findings[fid] = _finding(rules.links[fid], detail, sender_type, official=official)

    topical = [b for b in rules.brands if b.topic is not None and b.topic.search(text)]
    for url in urls:
        host = _host(url)
        owners = [b for b in rules.brands if any(_on(host, d) for d in b.domains)]
        flagged = len(findings)
        if _is_ip(host):
            add("link_ip", host)
        elif any(_on(host, s) for s in rules.shorteners):
            add("link_shortener", host)
        elif owners:
            add("link_official", host)
        elif host.rsplit(".", 1)[-1] in rules.risky_tlds:
            add("link_risky_tld", host)
        for brand in rules.brands:
            if brand not in owners and brand.claims is not None and brand.claims.search(host):
                add("link_lookalike", host, " / ".join(brand.domains))
        for brand in topical:
            if brand not in owners:
                add("link_not_official", host, " / ".join(brand.domains))
        if not owners and len(findings) == flagged:
            add("link_unverified", host)
    return list(findings.values())


def _on(host: str, domain: str) -> bool:
    return host == domain or host.endswith("." + domain)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _match(rule: TextRule, seen: _Seen) -> str | None:
    """Return the matched detail ("" when there is none) if the rule holds, else None."""
    sender_type = seen.sender_type or "none"  # "none": the message came without a sender
    if rule.senders is not None and sender_type not in rule.senders:
        return None
    if rule.not_senders is not None and sender_type in rule.not_senders:
        return None
    for wanted, has in (
        (rule.links, seen.links),
        (rule.phones, seen.phones),
        (rule.contact, seen.contact),
        (rule.warned, bool(seen.warnings)),
    ):
        if wanted is not None and wanted != has:
            return None
    text = seen.text
    if any(p.search(text) for p in rule.unless):
        return None
    named, whole = None, None
    for pattern in rule.match:
        hit = next((m for m in pattern.finditer(text) if not _negated(rule, seen, m)), None)
        if hit is None:
            return None
        whole = whole or hit.group(0)
        named = named or next((g for g in hit.groupdict().values() if g), None)
    return (named or whole or "").strip(" ,，。:：")[:DETAIL_MAX]


def _negated(rule: TextRule, seen: _Seen, hit: re.Match[str]) -> bool:
    """Return True when `hit` is said as a warning ("请勿告知验证码", "凡是…安全账户的都是诈骗")."""
    start, end = hit.span()
    window = seen.text[max(0, start - NEGATION_WINDOW) : start]
    if rule.not_after is not None and rule.not_after.search(window) is not None:
        return True
    # Words inside a warning phrase are the warning speaking, not a request; but a way to get in
    # touch (a link, a number, a chat account) is never taken back by a warning around it.
    if rule.signal.kind != "fraud" or rule.signal.role == "contact":
        return False
    return any(a <= start and end <= b for a, b in seen.warnings)


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
