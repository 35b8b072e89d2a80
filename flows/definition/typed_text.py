"""Typed numbers read the same whatever keyboard wrote them: width, digits of any script, marks.

A phone keyboard may type full-width digits (１３８), Arabic-Indic ones (١٣٨), or slip in
zero-width spaces, a BOM or direction marks that show nothing. Numbers, amounts, dates, senders,
transaction ids and case numbers are read and stored in their plain form; free text is not
passed through here and stays exactly as typed.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal

# Format marks show nothing: zero-width space/joiners, BOM, LRM/RLM and the bidi controls.
_INVISIBLE = re.compile(r"[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
# Dashes NFKC leaves alone but people type for "-" (hyphen, en/em dash, minus sign).
_DASHES = str.maketrans(dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"))


def _digit(ch: str) -> str:
    value = unicodedata.decimal(ch, None)
    return ch if value is None else str(value)


def normalised(text: str) -> str:
    """Return `text` in NFKC, every decimal digit as 0-9, dashes as '-', invisible marks gone."""
    plain = unicodedata.normalize("NFKC", _INVISIBLE.sub("", text)).translate(_DASHES)
    # NFKC turns full-width digits into 0-9 but leaves Arabic-Indic, Devanagari... as they are.
    return "".join(_digit(ch) if not ch.isascii() else ch for ch in plain)


def typed_number(text: str) -> int | None:
    """Return a line typed as a whole number (an option's number), its digits read as
    `normalised` reads them ("１", "①", "٣"); None for anything else, or for more digits than a
    list has options (int() refuses thousands of them)."""
    plain = normalised(text).strip()
    if not (plain.isascii() and plain.isdigit()) or len(plain) > 9:
        return None
    return int(plain)


# Chinese numerals, ordinary and the 大写 forms of receipts and bank slips.
_DIGITS = {
    "〇": 0, "零": 0, "一": 1, "壹": 1, "二": 2, "贰": 2, "两": 2, "三": 3, "叁": 3,
    "四": 4, "肆": 4, "五": 5, "伍": 5, "六": 6, "陆": 6, "七": 7, "柒": 7,
    "八": 8, "捌": 8, "九": 9, "玖": 9,
}  # fmt: skip
# "w" and "k" are how people type 万 and 千 in chats: 5w, 3k.
_SMALL_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000, "k": 1000}
_BIG_UNITS = {"万": 10_000, "萬": 10_000, "w": 10_000, "亿": 100_000_000}
_TOKEN = re.compile(r"\d+(?:\.\d+)?|.", re.DOTALL)


def numeral_value(text: str) -> Decimal | None:
    """Return the number written with Chinese numerals and units: 三千二百, 1.2万, 一万五, 5w.

    Digits may mix with units (3千, 1.2万); a digit after a unit is one place below it, as
    people say it (一万五 = 15000, 三千五 = 3500, but 一万零五 = 10005). A run of bare numerals
    reads digit by digit (二〇二五 = 2025). None when the text is not one number.
    """
    tokens = [t for t in _TOKEN.findall(text.lower()) if not t.isspace()]
    if not tokens:
        return None
    if all(t in _DIGITS for t in tokens):  # 二〇二五: a year written digit by digit
        return Decimal("".join(str(_DIGITS[t]) for t in tokens))
    total = section = Decimal(0)
    current: Decimal | None = None
    last_unit = 0  # the unit just read, for 一万五; 0 once a 零 or a full number breaks the run
    section_unit = 10**9  # small units within a section must come in falling order
    for token in tokens:
        if token[0].isdigit() or token in _DIGITS:
            if current is not None:
                return None  # two numbers in a row: "3 5", "三三"
            current = Decimal(token) if token[0].isdigit() else Decimal(_DIGITS[token])
            if token in ("零", "〇"):
                current, last_unit = None, 0
        elif token in _SMALL_UNITS:
            unit = _SMALL_UNITS[token]
            if unit >= section_unit:
                return None  # 三百千
            section += (current if current is not None else Decimal(1)) * unit
            current, last_unit, section_unit = None, unit, unit
        elif token in _BIG_UNITS:
            unit = _BIG_UNITS[token]
            value = section + (current or 0)
            if value == 0:
                return None
            total = (total + value) * unit if unit > 10_000 else total + value * unit
            section, current, last_unit, section_unit = Decimal(0), None, unit, 10**9
        else:
            return None
    if current is not None:
        # 一万五 / 三千五: a trailing digit is one place below the unit said before it
        section += current * (last_unit // 10) if last_unit >= 10 and current < 10 else current
    return total + section
