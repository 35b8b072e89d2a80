"""The registry of names a flow file may use: text-answer validators and derived-answer actions.

A YAML file can only name what is registered here; nothing is ever imported by name from a file.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import phonenumbers

from flows.definition import typed_date
from flows.definition.typed_text import normalised, numeral_value


class Invalid(ValueError):
    """The answer does not fit: the step's hint is said, or the text `hint` names with `values`."""

    def __init__(self, text: str, hint: str | None = None, **values: Any) -> None:
        super().__init__(text)
        self.hint = hint
        self.values = values


@dataclass(frozen=True, slots=True)
class ValidationContext:
    """What a validator may know besides the text: today's date and the step's settings."""

    today: date
    currency: str = "CNY"


Validator = Callable[[str, ValidationContext], dict[str, Any]]
Action = Callable[[Mapping[str, Any]], dict[str, Any]]

VALIDATORS: dict[str, Validator] = {}
ACTIONS: dict[str, Action] = {}


def validator(name: str) -> Callable[[Validator], Validator]:
    """Register a validator under the name flow files use; it is given the text normalised."""

    def register(func: Validator) -> Validator:
        def on_normalised(text: str, ctx: ValidationContext) -> dict[str, Any]:
            # Full-width or Arabic-Indic digits and zero-width marks would otherwise reach the
            # letter and the one-line SMS report as typed, or make a good answer fail.
            return func(normalised(text), ctx)

        VALIDATORS[name] = on_normalised
        return func

    return register


def action(name: str) -> Callable[[Action], Action]:
    """Register an action under the name flow files use."""

    def register(func: Action) -> Action:
        ACTIONS[name] = func
        return func

    return register


_SEPARATORS = re.compile(r"[\s\-–—()（）.]+")
_COUNTRY_PREFIX = re.compile(r"^(?:\+86|0086|86)(?=1\d{4,})")
_PLATFORM_106 = re.compile(r"^106\d{2,18}$")
# Service numbers phonenumbers does not know: 95xxx/96xxx company lines, 100xx carriers, 12xxx.
_SERVICE_NUMBER = re.compile(r"^(?:95\d{3,6}|96\d{3,6}|100\d{2,3}|101\d{2,3}|12\d{3,4})$")


def _digits(text: str) -> str:
    return _COUNTRY_PREFIX.sub("", _SEPARATORS.sub("", text.strip()))


def _phone(number: str) -> tuple[str, str] | None:
    """Return (normalised number, kind) for a phone or service number, else None."""
    if _PLATFORM_106.match(number):
        return number, "106"
    if _SERVICE_NUMBER.match(number):
        return number, "service"
    try:
        parsed = phonenumbers.parse(number, "CN")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    kind = "overseas" if parsed.country_code != 86 else "phone"
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164), kind


def national(number: str) -> str:
    """Return a number as dialled in China: +8613800138000 -> 13800138000, +86211234 -> 0211234."""
    if not number.startswith("+86"):
        return number
    rest = number[3:]
    return rest if rest.startswith("1") else "0" + rest


def one_phone(text: str) -> str | None:
    """Return the one phone number in `text` as dialled in China, or None if it is not one."""
    found = _phone(_digits(normalised(text)))
    return national(found[0]) if found is not None and found[1] in ("phone", "overseas") else None


@validator("sms_sender")
def sms_sender(text: str, ctx: ValidationContext) -> dict[str, Any]:
    """Accept a 106 platform number or an ordinary phone number that sent a text."""
    found = _phone(_digits(text))
    if found is None:
        raise Invalid(text)
    number, kind = found
    return {"text": text, "number": number, "kind": kind}


_LIST_SEPARATORS = re.compile(r"[,，;；、/\n]+|\s{2,}")


@validator("phone_numbers")
def phone_numbers(text: str, ctx: ValidationContext) -> dict[str, Any]:
    """Accept one or more phone numbers separated by commas, semicolons or new lines."""
    parts = [p for p in _LIST_SEPARATORS.split(text) if p.strip()]
    if len(parts) == 1 and " " in parts[0].strip() and _phone(_digits(parts[0])) is None:
        parts = parts[0].split()  # "138 0013 8000" is one number, "13800138000 02012345678" two
    numbers = []
    for part in parts:
        found = _phone(_digits(part))
        if found is None:
            raise Invalid(part)
        numbers.append(found[0])
    if not numbers or len(numbers) > 20:
        raise Invalid(text)
    return {"text": text, "numbers": numbers}


_CURRENCY_WORDS = {
    "¥": "CNY",
    "￥": "CNY",
    "元": "CNY",
    "块": "CNY",
    "块钱": "CNY",
    "人民币": "CNY",
    "rmb": "CNY",
    "cny": "CNY",
    "$": "USD",
    "美元": "USD",
    "usd": "USD",
    "usdt": "USDT",
    "usdc": "USDC",
    "btc": "BTC",
    "eth": "ETH",
    "hkd": "HKD",
    "港币": "HKD",
    "eur": "EUR",
    "€": "EUR",
    "欧元": "EUR",
}
_CURRENCY = "|".join(sorted((re.escape(k) for k in _CURRENCY_WORDS), key=len, reverse=True))
_AMOUNT = re.compile(
    rf"^\s*(?P<pre>{_CURRENCY})?\s*(?P<num>.+?)\s*(?P<post>{_CURRENCY})?\s*$", re.IGNORECASE
)
_PLAIN_NUMBER = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?")
# An amount above these is a slip of the keyboard (¥50,000,000,000), not a complaint: about
# 100 million yuan in each currency at 2026 rates, rounded up generously for the volatile ones.
AMOUNT_CAPS = {
    "CNY": Decimal(100_000_000),
    "HKD": Decimal(100_000_000),
    "USD": Decimal(15_000_000),
    "EUR": Decimal(15_000_000),
    "USDT": Decimal(15_000_000),
    "USDC": Decimal(15_000_000),
    "BTC": Decimal(1_000),
    "ETH": Decimal(30_000),
}
_ANY_CAP = Decimal(100_000_000)  # a currency a step declares that is not in the table


def _number(text: str) -> Decimal | None:
    """Return 1234.50 for '1,234.50', 12000 for '1.2万', 3200 for '三千二百', else None."""
    if _PLAIN_NUMBER.fullmatch(text):
        try:
            return Decimal(text.replace(",", ""))
        except InvalidOperation:
            return None
    return numeral_value(text)


@validator("amount")
def amount(text: str, ctx: ValidationContext) -> dict[str, Any]:
    """Accept a positive amount with an optional currency: ¥1,234.50, 1.2万元, 三千二百, 50 USDT."""
    match = _AMOUNT.match(text)
    if not match or (match["pre"] and match["post"]):
        raise Invalid(text)
    word = (match["pre"] or match["post"] or "").lower()
    currency = _CURRENCY_WORDS.get(word, ctx.currency)
    number = match["num"]
    negative = number.startswith("-") or number.startswith("负")
    value = _number(number.lstrip("-负").strip())
    if value is None:
        raise Invalid(text)
    if negative or value <= 0:
        raise Invalid(text, "amount_not_positive")
    cap = AMOUNT_CAPS.get(currency, _ANY_CAP)
    if value > cap:
        shown = {"amount": f"{value.normalize():,f}", "cap": f"{cap:,}", "currency": currency}
        raise Invalid(text, "amount_too_large", **shown)
    # Stored exactly: as typed when typed in digits (1234.50), worked out otherwise (12000).
    exact = number.replace(",", "") if _PLAIN_NUMBER.fullmatch(number) else f"{value.normalize():f}"
    return {"text": text, "amount": exact, "currency": currency}


_CURRENCY_NAMES_ZH = {"CNY": "元", "HKD": "港币", "USD": "美元", "EUR": "欧元"}


def spoken_amount(amount: str, currency: str, lang: str) -> str:
    """Return a stored amount as a person reads it: 12,000 元, CNY 12,000, 0.5 ETH."""
    shown = f"{Decimal(amount):,f}"
    if lang == "zh" and currency in _CURRENCY_NAMES_ZH:
        return f"{shown} {_CURRENCY_NAMES_ZH[currency]}"
    return f"{currency} {shown}" if currency in _CURRENCY_NAMES_ZH else f"{shown} {currency}"


@validator("date")
def date_answer(text: str, ctx: ValidationContext) -> dict[str, Any]:
    """Accept a day that has passed: 2026-11-03, 十一月三日, 两天前, 上周五, 11月初, last month."""
    try:
        reading = typed_date.read_date(text, ctx.today)
    except typed_date.WhichYear as ask:
        raise Invalid(text, "date_which_year", date=ask.day, example=ask.day.isoformat()) from ask
    except typed_date.Unreadable as exc:
        raise Invalid(text) from exc
    answer: dict[str, Any] = {"text": text, "date": reading.day.isoformat()}
    if reading.part is not None:
        answer["part"] = reading.part  # 11月初 noted as the 1st: the day is a stand-in
    return answer


_TRANSACTION_ID = re.compile(r"^[A-Za-z0-9_\-]{4,64}$")


@validator("transaction_id")
def transaction_id(text: str, ctx: ValidationContext) -> dict[str, Any]:
    """Accept an order or transaction id: 4-64 letters, digits, '-' or '_'."""
    cleaned = text.strip()
    if not _TRANSACTION_ID.match(cleaned):
        raise Invalid(text)
    return {"text": text, "id": cleaned}


# Number segments of 106 platform numbers (电信网编号计划 2017, via secondary pages: unconfirmed).
_106_PREFIXES = (
    ("10655", "carrier_unicom"),
    ("10657", "carrier_mobile"),
    ("10659", "carrier_telecom"),
    ("1062", "commercial_provincial"),
    ("1063", "public_provincial"),
    ("1064", "machine_to_machine"),
    ("1066", "commercial_national"),
    ("1069", "industry_national"),
    ("1068", "platform_unknown"),
)


@action("classify_sender")
def classify_sender(answers: Mapping[str, Any]) -> dict[str, Any]:
    """Derive `sender_type` from the 106 segment (or phone kind) of the `sender` answer."""
    sender = answers.get("sender")
    if not isinstance(sender, Mapping):
        return {}
    number = str(sender.get("number", ""))
    if sender.get("kind") != "106":
        return {"sender_type": str(sender.get("kind", "unknown"))}
    for prefix, kind in _106_PREFIXES:
        if number.startswith(prefix):
            return {"sender_type": kind}
    return {"sender_type": "platform_unknown"}
