"""Logging that never carries a bot token or a full phone number."""

from __future__ import annotations

import functools
import logging
import re
import sys
import traceback
import unicodedata
from types import TracebackType

import phonenumbers
from phonenumbers import Leniency, PhoneNumberMatcher, PhoneNumberType

# No \b before the bot id: in an API URL the token follows "bot" directly (".../bot123:AA...").
_TOKEN = re.compile(r"(?<!\d)\d{5,}:[A-Za-z0-9_-]{30,}(?![A-Za-z0-9_-])")
# Mainland mobiles (optionally +86) and 106 platform numbers, which phonenumbers does not take
# for valid numbers: keep the head and the last 4 digits.
# WeCom's access token and corp secret travel in query strings (httpx logs whole URLs).
_QUERY_SECRET = re.compile(r"(?i)\b(access_token|corpsecret|secret)=[^&\s\"']+")
# setWebhook's secret_token (PTB logs each call's parameters at DEBUG), in a dict, JSON or a
# query, and the header Telegram sends it back in.
_WEBHOOK_SECRET = re.compile(r"(?i)(secret[_-]token['\"]?\s*[:=]\s*['\"]?)[A-Za-z0-9_-]+")
_PHONE = re.compile(r"(?<!\d)((?:\+?86)?1\d{2})(\d{4,14})(\d{4})(?!\d)")
# Runs of digits (any script: \d is Unicode) with the separators people write inside a number.
# Only these go to phonenumbers: its matcher over a whole 16 KB DEBUG line of JSON takes 0.2 s.
_CANDIDATE = re.compile(r"[+＋]?\d[\d \u3000\-‐–—()（）]{5,}\d")
_DIGITS_KEPT_AT_END = 4
_DIGITS_MASKED = 4


def redact(text: str) -> str:
    """Return `text` without tokens or secrets, phone numbers masked (138****8000)."""
    text = _TOKEN.sub("<token>", text)
    text = _QUERY_SECRET.sub(lambda m: f"{m[1]}=<hidden>", text)
    text = _WEBHOOK_SECRET.sub(lambda m: f"{m[1]}<hidden>", text)
    text = _CANDIDATE.sub(_mask_phones_in, text)
    return _PHONE.sub(lambda m: f"{m[1]}****{m[3]}", text)


def _mask_phones_in(run: re.Match[str]) -> str:
    text = run[0]
    if text.isascii() and text.isdigit() and text[0] != "0":
        # Bare digits count only with a 0 prefix or as a mobile (see _written_as_phone), and
        # _PHONE masks mobiles: skipping the rest keeps ids and timestamps in DEBUG lines cheap.
        return text
    return _masked(text)


@functools.lru_cache(maxsize=4096)
def _masked(text: str) -> str:
    """Mask every number phonenumbers finds in one digit run, read as written in China."""
    pieces: list[str] = []
    end = 0
    for match in PhoneNumberMatcher(text, "CN", leniency=Leniency.VALID):
        if not _written_as_phone(match.raw_string, match.number):
            continue
        pieces += [text[end : match.start], _mask(match.raw_string, match.number)]
        end = match.end
    return "".join([*pieces, text[end:]])


def _written_as_phone(raw: str, number: phonenumbers.PhoneNumber) -> bool:
    # A bare run of digits is a phone number only as a mobile: a landline is written with its
    # 0 or + prefix, and without this every 10-digit Telegram chat id would be masked.
    if raw.lstrip()[:1] in ("+", "＋") or unicodedata.digit(raw.lstrip()[0], -1) == 0:
        return True
    kind = phonenumbers.number_type(number)
    return kind in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE)


def _mask(raw: str, number: phonenumbers.PhoneNumber) -> str:
    """Return `raw` as its prefixes and first digits, ****, and its last 4 digits."""
    positions = [i for i, char in enumerate(raw) if unicodedata.digit(char, -1) >= 0]
    national = len(phonenumbers.national_significant_number(number))
    prefix = len(positions) - national  # country code, 00 or the national 0, as written
    head = max(0, min(prefix + 3, len(positions) - _DIGITS_KEPT_AT_END - _DIGITS_MASKED))
    tail = positions[-_DIGITS_KEPT_AT_END]
    start = positions[head - 1] + 1 if head else 0
    return f"{raw[:start]}****{raw[tail:]}"


class RedactingFilter(logging.Filter):
    """Rewrite every record's final message through `redact`."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg, record.args = redact(message), None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def setup_logging(level: str) -> None:
    """Log to stderr, redacted; quiet the HTTP client, whose URLs hold the token."""
    handler = logging.StreamHandler()
    handler.addFilter(RedactingFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("transitions").setLevel(logging.WARNING)  # a line per state change
    logging.captureWarnings(True)  # warnings reach stderr through the filter too
    sys.excepthook = _redacted_excepthook


def _redacted_excepthook(
    kind: type[BaseException], value: BaseException, tb: TracebackType | None
) -> None:
    # The last resort: a traceback nobody caught is printed redacted like everything else.
    sys.stderr.write(redact("".join(traceback.format_exception(kind, value, tb))))
