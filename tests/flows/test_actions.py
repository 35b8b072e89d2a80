"""Validators and actions flow files may name: plain tables of inputs and what they become."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from flows.definition.actions import ACTIONS, VALIDATORS, Invalid, ValidationContext, one_phone

CTX = ValidationContext(today=date(2026, 11, 22))


@pytest.mark.parametrize(
    ("text", "number", "kind"),
    [
        ("10690123456789", "10690123456789", "106"),
        ("1069 0123 4567 89", "10690123456789", "106"),
        ("+8610690123456789", "10690123456789", "106"),
        ("106575000", "106575000", "106"),
        ("13800138000", "+8613800138000", "phone"),
        ("138-0013-8000", "+8613800138000", "phone"),
        ("+85291234567", "+85291234567", "overseas"),
        ("95588", "95588", "service"),
    ],
)
def test_sms_sender_accepts(text: str, number: str, kind: str) -> None:
    assert VALIDATORS["sms_sender"](text, CTX) == {"text": text, "number": number, "kind": kind}


# Typed on other keyboards: full-width, Arabic-Indic or Persian digits, zero-width and direction
# marks. Stored as plain digits, both the number and the text (the letter and 12321 report use them).
@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("１０６９０１２３４５６７８９", "10690123456789"),
        ("10690１２３４５６７８９", "10690123456789"),
        ("١٠٦٩٠١٢٣٤٥٦٧٨٩", "10690123456789"),
        ("۱۰۶۹۰۱۲۳۴۵۶۷۸۹", "10690123456789"),
        ("1069\u200b0123\u200b456789", "10690123456789"),
        ("\ufeff\u200e10690123456789\u200f", "10690123456789"),
        ("１３８００１３８０００", "13800138000"),
        ("＋８６ １３８－００１３－８０００", "+86 138-0013-8000"),
    ],
)
def test_sms_sender_typed_in_other_digits_is_stored_in_plain_digits(text: str, stored: str) -> None:
    answer = VALIDATORS["sms_sender"](text, CTX)
    assert answer["text"] == stored
    assert answer["number"].lstrip("+86") == stored.replace(" ", "").replace("-", "").lstrip("+86")
    assert answer["number"].isascii()


@pytest.mark.parametrize(
    "text", ["hello", "12", "106", "1234567", "10690abc", "'; DROP TABLE cases;--"]
)
def test_sms_sender_rejects(text: str) -> None:
    with pytest.raises(Invalid):
        VALIDATORS["sms_sender"](text, CTX)


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("13800138000", ["+8613800138000"]),
        ("13800138000, 021-12345678", ["+8613800138000", "+862112345678"]),
        ("13800138000\n4008123123", ["+8613800138000", "+864008123123"]),
        ("13800138000 02112345678", ["+8613800138000", "+862112345678"]),
        ("138 0013 8000", ["+8613800138000"]),
    ],
)
def test_phone_numbers(text: str, numbers: list[str]) -> None:
    assert VALIDATORS["phone_numbers"](text, CTX)["numbers"] == numbers


def test_phone_numbers_typed_full_width_are_plain() -> None:
    answer = VALIDATORS["phone_numbers"]("１３８００１３８０００，０２１－１２３４５６７８", CTX)
    assert answer == {
        "text": "13800138000,021-12345678",
        "numbers": ["+8613800138000", "+862112345678"],
    }


@pytest.mark.parametrize("text", ["no idea", "13800138000, nope", ""])
def test_phone_numbers_rejects(text: str) -> None:
    with pytest.raises(Invalid):
        VALIDATORS["phone_numbers"](text, CTX)


@pytest.mark.parametrize(
    ("text", "amount", "currency"),
    [
        ("100", "100", "CNY"),
        ("¥1,234.50", "1234.50", "CNY"),
        ("200元", "200", "CNY"),
        ("200 块", "200", "CNY"),
        ("50 USDT", "50", "USDT"),
        ("$20.5", "20.5", "USD"),
        ("0.01 btc", "0.01", "BTC"),
        ("100000000", "100000000", "CNY"),  # the cap itself
    ],
)
def test_amount(text: str, amount: str, currency: str) -> None:
    assert VALIDATORS["amount"](text, CTX) == {"text": text, "amount": amount, "currency": currency}


# Written as people write money: units (万, 千, w, k), Chinese numerals, 大写, other digits.
@pytest.mark.parametrize(
    ("text", "stored_text", "amount", "currency"),
    [
        ("1.2万元", "1.2万元", "12000", "CNY"),
        ("1.2万", "1.2万", "12000", "CNY"),
        ("三千二百元", "三千二百元", "3200", "CNY"),
        ("3千", "3千", "3000", "CNY"),
        ("5w", "5w", "50000", "CNY"),
        ("5W 块", "5W 块", "50000", "CNY"),
        ("2k USDT", "2k USDT", "2000", "USDT"),
        ("一万五", "一万五", "15000", "CNY"),
        ("两千五百万", "两千五百万", "25000000", "CNY"),
        ("壹仟贰佰元", "壹仟贰佰元", "1200", "CNY"),
        ("一百零五块钱", "一百零五块钱", "105", "CNY"),
        ("0.5 ETH", "0.5 ETH", "0.5", "ETH"),
        ("¥１，２３４．５０", "¥1,234.50", "1234.50", "CNY"),
        ("￥88", "¥88", "88", "CNY"),
        ("￥\u200b88", "¥88", "88", "CNY"),
        ("٥٠ USDT", "50 USDT", "50", "USDT"),
    ],
)
def test_amount_in_words_and_units_is_stored_as_the_exact_number(
    text: str, stored_text: str, amount: str, currency: str
) -> None:
    expected = {"text": stored_text, "amount": amount, "currency": currency}
    assert VALIDATORS["amount"](text, CTX) == expected


# Refused with a hint of their own (the text key and what it names), or with the step's (None).
@pytest.mark.parametrize(
    ("text", "hint", "values"),
    [
        ("¥50,000,000,000", "amount_too_large", {"amount": "50,000,000,000", "cap": "100,000,000"}),
        ("100000001", "amount_too_large", {"amount": "100,000,001", "cap": "100,000,000"}),
        ("1.5亿元", "amount_too_large", {"amount": "150,000,000", "cap": "100,000,000"}),
        ("20000000 USDT", "amount_too_large", {"amount": "20,000,000", "cap": "15,000,000"}),
        ("5000 btc", "amount_too_large", {"amount": "5,000", "cap": "1,000", "currency": "BTC"}),
        ("0", "amount_not_positive", {}),
        ("0.00", "amount_not_positive", {}),
        ("零元", "amount_not_positive", {}),
        ("-5", "amount_not_positive", {}),
        ("－５", "amount_not_positive", {}),
        ("负100元", "amount_not_positive", {}),
        ("三百千", None, {}),
        ("3 5", None, {}),
        ("1.2万万美元", None, {}),
    ],
)
def test_amount_refusals_say_why(text: str, hint: str | None, values: dict[str, str]) -> None:
    with pytest.raises(Invalid) as refused:
        VALIDATORS["amount"](text, CTX)
    assert refused.value.hint == hint
    assert values.items() <= refused.value.values.items()


def test_amount_default_currency_comes_from_the_step() -> None:
    crypto = ValidationContext(today=CTX.today, currency="USDT")
    assert VALIDATORS["amount"]("50", crypto)["currency"] == "USDT"


@pytest.mark.parametrize(
    "text", ["abc", "0", "-5", "1,23", "¥100元", "1e5", "100 dogecoins", "", "万", "¥"]
)
def test_amount_rejects(text: str) -> None:
    with pytest.raises(Invalid):
        VALIDATORS["amount"](text, CTX)


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("2026-11-03", "2026-11-03"),
        ("2026/11/3", "2026-11-03"),
        ("2026年11月3日", "2026-11-03"),
        ("11月3日", "2026-11-03"),
        ("今天", "2026-11-22"),
        ("昨天", "2026-11-21"),
        ("前天", "2026-11-20"),
        ("3天前", "2026-11-19"),
        ("yesterday", "2026-11-21"),
        ("10 days ago", "2026-11-12"),
    ],
)
def test_date(text: str, day: str) -> None:
    assert VALIDATORS["date"](text, CTX) == {"text": text, "date": day}


# Today is Sunday 22 November 2026 (weeks run Monday to Sunday, as 上周 counts them).
@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("两天前", "2026-11-20"),
        ("三天前", "2026-11-19"),
        ("十天以前", "2026-11-12"),
        ("大前天", "2026-11-19"),
        ("一周前", "2026-11-15"),
        ("两个星期前", "2026-11-08"),
        ("半个月前", "2026-11-07"),
        ("一个月前", "2026-10-22"),
        ("上周五", "2026-11-13"),
        ("上个星期五", "2026-11-13"),
        ("上礼拜天", "2026-11-15"),
        ("上上周一", "2026-11-02"),
        ("周五", "2026-11-20"),  # the latest Friday
        ("这周三", "2026-11-18"),
        ("星期日", "2026-11-22"),
        ("十一月三日", "2026-11-03"),
        ("十一月三号", "2026-11-03"),
        ("二〇二五年十二月二十五日", "2025-12-25"),
        ("去年12月25日", "2025-12-25"),
        ("3号", "2026-11-03"),
        ("30号", "2026-10-30"),  # the 30th has not come this month: last month's
        ("１１月３日", "2026-11-03"),
        ("2026－11－03", "2026-11-03"),
        ("11\u200b月3日", "2026-11-03"),
        ("2026/11/3", "2026-11-03"),
        ("1月5日", "2026-01-05"),
        ("two days ago", "2026-11-20"),
        ("a week ago", "2026-11-15"),
        ("last Friday", "2026-11-20"),  # in English: the Friday before today
        ("on Friday", "2026-11-20"),
        ("this Monday", "2026-11-16"),
        ("the day before yesterday", "2026-11-20"),
        ("Nov 3", "2026-11-03"),
        ("3rd of November", "2026-11-03"),
        ("November 3, 2025", "2025-11-03"),
        ("25 December 2025", "2025-12-25"),
        ("a year ago", "2025-11-22"),
    ],
)
def test_date_as_people_say_it(text: str, day: str) -> None:
    assert VALIDATORS["date"](text, CTX)["date"] == day


# A month, a week or part of a month resolves to a stated day, and the answer says which part.
@pytest.mark.parametrize(
    ("text", "day", "part"),
    [
        ("上个月", "2026-10-01", "month"),
        ("上月底", "2026-10-31", "end"),
        ("上个月中旬", "2026-10-15", "mid"),
        ("11月初", "2026-11-01", "early"),
        ("十一月初", "2026-11-01", "early"),
        ("11月中旬", "2026-11-15", "mid"),
        ("11月下旬", "2026-11-21", "late"),
        ("11月", "2026-11-01", "month"),
        ("本月初", "2026-11-01", "early"),
        ("2025年12月", "2025-12-01", "month"),
        ("去年12月底", "2025-12-31", "end"),
        ("6月底", "2026-06-30", "end"),
        ("上周", "2026-11-09", "week"),
        ("last month", "2026-10-01", "month"),
        ("end of last month", "2026-10-31", "end"),
        ("early November", "2026-11-01", "early"),
        ("mid-November", "2026-11-15", "mid"),
        ("late November", "2026-11-21", "late"),
        ("November", "2026-11-01", "month"),
        ("December 2025", "2025-12-01", "month"),
        ("last week", "2026-11-09", "week"),
    ],
)
def test_date_of_a_month_or_week_names_the_day_it_stands_for(
    text: str, day: str, part: str
) -> None:
    assert VALIDATORS["date"](text, CTX) == {"text": text, "date": day, "part": part}


# A day without a year that is still to come this year: last year's when that is recent,
# otherwise the person is asked, with the day it would be.
@pytest.mark.parametrize(
    ("today", "text", "outcome"),
    [
        (date(2027, 1, 5), "12月30日", "2026-12-30"),
        (date(2027, 1, 5), "December 30", "2026-12-30"),
        (date(2027, 3, 1), "十二月", "2026-12-01"),
        (date(2026, 11, 22), "12月25日", "ask 2025-12-25"),
        (date(2026, 11, 22), "12月30日", "ask 2025-12-30"),
        (date(2026, 11, 22), "Dec 25", "ask 2025-12-25"),
        (date(2026, 11, 22), "12月", "ask 2025-12-01"),
        (date(2026, 11, 22), "11月底", "ask 2025-11-30"),
        (date(2026, 11, 22), "end of November", "ask 2025-11-30"),
    ],
)
def test_date_without_a_year_in_the_future(today: date, text: str, outcome: str) -> None:
    ctx = ValidationContext(today=today)
    if not outcome.startswith("ask "):
        assert VALIDATORS["date"](text, ctx)["date"] == outcome
        return
    with pytest.raises(Invalid) as refused:
        VALIDATORS["date"](text, ctx)
    day = date.fromisoformat(outcome[4:])
    assert refused.value.hint == "date_which_year"
    assert refused.value.values == {"date": day, "example": outcome[4:]}


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-23",
        "2027-01-01",
        "2月30日",
        "1999-01-01",
        "soon",
        "",
        "本月底",  # 30 November has not come
        "this Friday next week",
        "next Friday",
        "13月",
        "9999天前",
        "999999 days ago",
        "三月三十二日",
        "0号",
    ],
)
def test_date_rejects_future_impossible_and_garbage(text: str) -> None:
    with pytest.raises(Invalid) as refused:
        VALIDATORS["date"](text, CTX)
    assert refused.value.hint is None  # the step's own hint


@pytest.mark.parametrize(
    ("text", "ok"),
    [("4200001234202611220001", True), ("TX-88_a", True), ("abc", False), ("有空格 的", False)],
)
def test_transaction_id(text: str, ok: bool) -> None:
    if ok:
        assert VALIDATORS["transaction_id"](text, CTX)["id"] == text
    else:
        with pytest.raises(Invalid):
            VALIDATORS["transaction_id"](text, CTX)


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("ＴＸ－８８＿ａ", "TX-88_a"),
        ("4200\u200b0012\u200b3420", "420000123420"),
        ("\ufeffTX2026\u2013001", "TX2026-001"),
    ],
)
def test_transaction_id_typed_full_width_is_stored_plain(text: str, stored: str) -> None:
    assert VALIDATORS["transaction_id"](text, CTX) == {"text": stored, "id": stored}


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        ("13800138000", "13800138000"),
        ("１３８００１３８０００", "13800138000"),
        ("١٣٨٠٠١٣٨٠٠٠", "13800138000"),
        ("138\u200b0013\u200b8000", "13800138000"),
        ("10690123456789", None),  # the profile wants a phone, not a platform number
    ],
)
def test_one_phone_reads_other_digits(text: str, phone: str | None) -> None:
    assert one_phone(text) == phone


@pytest.mark.parametrize(
    ("sender", "expected"),
    [
        ({"number": "10690123456789", "kind": "106"}, "industry_national"),
        ({"number": "1066123456", "kind": "106"}, "commercial_national"),
        ({"number": "106575000", "kind": "106"}, "carrier_mobile"),
        ({"number": "1068888", "kind": "106"}, "platform_unknown"),
        ({"number": "+8613800138000", "kind": "phone"}, "phone"),
    ],
)
def test_classify_sender(sender: dict[str, Any], expected: str) -> None:
    assert ACTIONS["classify_sender"]({"sender": sender}) == {"sender_type": expected}


def test_classify_sender_without_a_sender_derives_nothing() -> None:
    assert ACTIONS["classify_sender"]({}) == {}
