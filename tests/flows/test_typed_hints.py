"""What the person is told after typing a date or an amount: what it was read as, or why not.

Today is Sunday 22 November 2026. Each row: the language, what is typed at the SMS "started"
question or the wallet "amount" question, and a line the reply must contain. Refused answers
leave the person on the same question; accepted ones move on with the reading said first.
"""

from __future__ import annotations

import pytest
from engine_chat import Person

from flows.conversation.engine import Engine


async def at_question(person: Person, lang: str, category: str) -> None:
    """Open the SMS spam intake at "started", or the wallet withdrawal at "amount"."""
    await person.send("/start")
    if lang == "en":
        await person.send("/lang en")
        await person.send("/start")
    if category == "sms":
        await person.press("短信" if lang == "zh" else "Texts")
        await person.press("垃圾" if lang == "zh" else "Spam")
        await person.send("10690123456789")
    else:
        await person.press("钱包" if lang == "zh" else "Wallets")
        await person.press("提现" if lang == "zh" else "Withdrawal")
        await person.press("其他钱包" if lang == "zh" else "Another wallet")
        await person.send("Some Wallet")
        await person.press("跳过" if lang == "zh" else "Skip")  # the account


DATES = [
    ("zh", "两天前", "📅 记为 2026年11月20日（星期五）。"),
    ("zh", "上周五", "📅 记为 2026年11月13日（星期五）。"),
    ("zh", "十一月三日", "📅 记为 2026年11月3日（星期二）。"),
    ("zh", "11月初", "📅 「11月初」记为 2026年11月1日（星期日）。记得确切日期的话，可以点「⬅️ 上一步」改。"),
    ("zh", "上个月", "📅 「上个月」记为 2026年10月1日（星期四）。"),
    ("en", "two days ago", "📅 Noted as Friday 20 November 2026."),
    ("en", "last Friday", "📅 Noted as Friday 20 November 2026."),
    ("en", "early November", "📅 “early November” is noted as Sunday 1 November 2026. If you know the exact day, press ⬅️ Back to change it."),
    ("en", "last month", "📅 “last month” is noted as Thursday 1 October 2026."),
]  # fmt: skip


@pytest.mark.parametrize(("lang", "typed", "said"), DATES)
async def test_a_date_read_from_words_is_said_back(
    engine: Engine, lang: str, typed: str, said: str
) -> None:
    alice = Person(engine)
    await at_question(alice, lang, "sms")
    reply = (await alice.send(typed))[-1].text
    assert said in reply
    assert "4/11" in reply  # moved on to the next question


@pytest.mark.parametrize(("lang", "typed"), [("zh", "2026-11-03"), ("en", "2026-11-03")])
async def test_a_date_written_in_full_is_not_said_back(
    engine: Engine, lang: str, typed: str
) -> None:
    alice = Person(engine)
    await at_question(alice, lang, "sms")
    reply = (await alice.send(typed))[-1].text
    assert "📅" not in reply and "4/11" in reply


REFUSED_DATES = [
    ("zh", "12月25日", "是指 2025年12月25日 吗？请写上年份，比如 2025-12-25。"),
    ("en", "December 25", "Do you mean 25 December 2025? Please write the year, e.g. 2025-12-25."),
    ("zh", "２０２６－１２－２５", "没看懂这个日期。"),  # the step's own hint: never in the future
    ("en", "next week", "I couldn't read that date."),
]


@pytest.mark.parametrize(("lang", "typed", "said"), REFUSED_DATES)
async def test_a_date_that_cannot_be_taken_says_why(
    engine: Engine, lang: str, typed: str, said: str
) -> None:
    alice = Person(engine)
    await at_question(alice, lang, "sms")
    reply = (await alice.send(typed))[-1].text
    assert said in reply
    assert "3/11" in reply  # still the same question
    conv = await alice.conversation()
    assert conv is not None and "started" not in conv.answers


AMOUNTS = [
    ("zh", "1.2万元", "💰 记为 12,000 元。", "6/11"),
    ("zh", "三千二百", "💰 记为 3,200 元。", "6/11"),
    ("en", "5w", "💰 Noted as CNY 50,000.", "6/11"),
    ("zh", "¥1,234.50", "（6/11）", "6/11"),
    ("zh", "¥50,000,000,000", "50,000,000,000 CNY 太大了，不像一笔真实的金额（最多 100,000,000 CNY）。", "5/11"),
    ("en", "¥50,000,000,000", "50,000,000,000 CNY is more than any real payment here (at most 100,000,000 CNY).", "5/11"),
    ("zh", "0", "金额要大于 0。", "5/11"),
    ("en", "-5", "The amount must be more than 0.", "5/11"),
]  # fmt: skip


@pytest.mark.parametrize(("lang", "typed", "said", "step"), AMOUNTS)
async def test_an_amount_is_said_back_or_refused_with_why(
    engine: Engine, lang: str, typed: str, said: str, step: str
) -> None:
    alice = Person(engine)
    await at_question(alice, lang, "wallet")
    reply = (await alice.send(typed))[-1].text
    assert said in reply
    assert step in reply
    if typed == "¥1,234.50":
        assert "💰" not in reply  # written as a number: nothing to explain
