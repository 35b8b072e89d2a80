"""Typed numbers in their plain form, Chinese numerals, and how a read date or amount is said."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from flows.definition.actions import spoken_amount
from flows.definition.typed_date import read_in_full, spoken
from flows.definition.typed_text import normalised, numeral_value


@pytest.mark.parametrize(
    ("typed", "plain"),
    [
        ("１３８００１３８０００", "13800138000"),  # full-width
        ("١٣٨٠٠١٣٨٠٠٠", "13800138000"),  # Arabic-Indic
        ("۱۳۸۰۰۱۳۸۰۰۰", "13800138000"),  # Extended Arabic-Indic (Persian)
        ("१३८", "138"),  # Devanagari
        ("TS-2026-\u200b000123", "TS-2026-000123"),  # zero-width space
        ("\ufeffTS-2026-000123\u200e", "TS-2026-000123"),  # BOM, left-to-right mark
        ("\u202eTS\u2060-2026-000123\u202c", "TS-2026-000123"),  # bidi override, word joiner
        ("ＴＳ－２０２６－０００１２３", "TS-2026-000123"),
        ("TS\u20132026\u2014000123", "TS-2026-000123"),  # en and em dashes
        ("￥１，２３４．５０", "¥1,234.50"),
        ("11月3日", "11月3日"),  # nothing to change
        ("Ｈｅｌｌｏ　ｗｏｒｌｄ", "Hello world"),  # ideographic space
    ],
)
def test_normalised(typed: str, plain: str) -> None:
    assert normalised(typed) == plain


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("三千二百", 3200),
        ("一万五", 15000),  # as people say it: 一万五千
        ("三千五", 3500),
        ("一万零五", 10005),
        ("一百零五", 105),
        ("十五", 15),
        ("二十五", 25),
        ("1.2万", 12000),
        ("1.2 万", 12000),
        ("3千", 3000),
        ("5w", 50000),
        ("2K", 2000),
        ("两千五百万", 25_000_000),
        ("一亿两千万", 120_000_000),
        ("壹仟贰佰", 1200),
        ("二〇二五", 2025),
        ("零", 0),
    ],
)
def test_numeral_value(text: str, value: int) -> None:
    assert numeral_value(text) == Decimal(value)


@pytest.mark.parametrize("text", ["", "abc", "三百千", "3 5", "万", "1.2万万", "三三十"])
def test_numeral_value_refuses_what_is_not_one_number(text: str) -> None:
    assert numeral_value(text) is None


@pytest.mark.parametrize(
    ("day", "lang", "said"),
    [
        (date(2026, 11, 13), "zh", "2026年11月13日（星期五）"),
        (date(2026, 11, 22), "zh", "2026年11月22日（星期日）"),
        (date(2026, 11, 13), "en", "Friday 13 November 2026"),
        (date(2025, 5, 1), "en", "Thursday 1 May 2025"),
    ],
)
def test_spoken_date(day: date, lang: str, said: str) -> None:
    assert spoken(day, lang) == said


def test_spoken_date_without_weekday() -> None:
    assert spoken(date(2025, 12, 25), "zh", weekday=False) == "2025年12月25日"
    assert spoken(date(2025, 12, 25), "en", weekday=False) == "25 December 2025"


@pytest.mark.parametrize(
    ("text", "full"),
    [
        ("2026-11-03", True),
        ("2026年11月3日", True),
        ("２０２６/１１/３", True),
        ("November 3, 2025", True),
        ("3 November 2025", True),
        ("11月3日", False),
        ("两天前", False),
        ("November 3", False),
        ("11月初", False),
    ],
)
def test_read_in_full(text: str, full: bool) -> None:
    assert read_in_full(text) is full


@pytest.mark.parametrize(
    ("amount", "currency", "lang", "said"),
    [
        ("12000", "CNY", "zh", "12,000 元"),
        ("12000", "CNY", "en", "CNY 12,000"),
        ("1234.50", "CNY", "zh", "1,234.50 元"),
        ("50", "USDT", "zh", "50 USDT"),
        ("0.5", "ETH", "en", "0.5 ETH"),
        ("100", "USD", "zh", "100 美元"),
    ],
)
def test_spoken_amount(amount: str, currency: str, lang: str, said: str) -> None:
    assert spoken_amount(amount, currency, lang) == said
