"""Validators and actions flow files may name: plain tables of inputs and what they become."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from flows.actions import ACTIONS, VALIDATORS, Invalid, ValidationContext

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


@pytest.mark.parametrize("text", ["no idea", "13800138000, nope", ""])
def test_phone_numbers_rejects(text: str) -> None:
    with pytest.raises(Invalid):
        VALIDATORS["phone_numbers"](text, CTX)


@pytest.mark.parametrize(
    ("text", "amount", "currency"),
    [
        ("100", "100", "CNY"),
        ("¥1,234.50", "1234.50", "CNY"),
        ("￥88", "88", "CNY"),
        ("200元", "200", "CNY"),
        ("200 块", "200", "CNY"),
        ("50 USDT", "50", "USDT"),
        ("$20.5", "20.5", "USD"),
        ("0.01 btc", "0.01", "BTC"),
    ],
)
def test_amount(text: str, amount: str, currency: str) -> None:
    assert VALIDATORS["amount"](text, CTX) == {"text": text, "amount": amount, "currency": currency}


def test_amount_default_currency_comes_from_the_step() -> None:
    crypto = ValidationContext(today=CTX.today, currency="USDT")
    assert VALIDATORS["amount"]("50", crypto)["currency"] == "USDT"


@pytest.mark.parametrize("text", ["abc", "0", "-5", "1,23", "¥100元", "1e5", "100 dogecoins"])
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
        ("12月30日", "2025-12-30"),  # said in November: the last one, not the coming one
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


@pytest.mark.parametrize("text", ["2026-11-23", "2027-01-01", "2月30日", "1999-01-01", "soon", ""])
def test_date_rejects_future_impossible_and_garbage(text: str) -> None:
    with pytest.raises(Invalid):
        VALIDATORS["date"](text, CTX)


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
