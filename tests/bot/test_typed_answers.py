"""Answers typed as people type them, through the whole bot (engine, store, letters).

A sender in full-width digits, 两天前, 1.2万元, a case number in full-width or with zero-width
spaces: what is noted is said back, and the letter, the one-line SMS report and the case lookups
use the plain form.
"""

from __future__ import annotations

import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

import pytest
from engine_chat import Person

from bot.app import Services
from bot.clock import ManualClock
from bot.config import Settings

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)  # Sunday 22 November, 10:00 in Shanghai
FULL_WIDTH = str.maketrans("0123456789-ABCDEFGHIJKLMNOPQRSTUVWXYZ", "０１２３４５６７８９－ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ")  # fmt: skip


@pytest.fixture
async def services(tmp_path: Path) -> AsyncIterator[Services]:
    settings = Settings.defaults().replace(
        storage_db_path=str(tmp_path / "bot.sqlite3"), storage_data_dir=str(tmp_path / "data")
    )
    services = await Services.open(settings, clock=ManualClock(NOW))
    yield services
    await services.close()


def letter_text(person: Person) -> str:
    """The letter files and messages of the last replies, as one text."""
    parts = [r.text for r in person.replies]
    parts += [
        r.document.content.decode()
        for r in person.replies
        if r.document is not None and r.document.file_name.endswith(".txt")
    ]
    return "\n".join(parts)


async def file_sms(person: Person, sender: str, started: str) -> str:
    """File an SMS spam complaint typing `sender` and `started`; return what the bot said."""
    said = []
    await person.send("/start")
    await person.press("短信")
    await person.press("垃圾")
    said.append((await person.send(sender))[-1].text)
    said.append((await person.send(started))[-1].text)
    await person.press("每天")
    await person.send("【某某商城】积分即将清零 回T退订")
    await person.press("退订过")
    await person.press("跳过")  # the day they unsubscribed
    await person.press("跳过")  # when and how many
    await person.press("移动")
    await person.press("跳过")  # the number that received them
    await person.press("跳过")  # evidence
    await person.press("停止给我发短信")
    await person.press("完成")
    said.append(person.text)
    await file_and_skip_details(person)
    return "\n".join(said)


async def file_and_skip_details(person: Person) -> None:
    """Press file; leave name and phone out of the letter the first filing asks about."""
    await person.press("提交投诉")
    if any("不写姓名" in b.label for b in person.buttons):
        await person.press("不写姓名")
        await person.press("不留电话")


async def test_a_full_width_sender_and_two_days_ago_reach_the_letter_in_plain_form(
    services: Services,
) -> None:
    alice = Person(services.engine)
    said = await file_sms(alice, "１０６９０１２３４５６７８９", "两天前")
    assert "📅 记为 2026年11月20日（星期五）。" in said
    assert "• 发送号码: 10690123456789" in said  # the summary
    letter = letter_text(alice)
    assert "１" not in letter
    assert "10690123456789" in letter
    assert "2026年11月20日" in letter
    # the one-line report (号码*内容) is sent with the plain number
    assert "10690123456789*【某某商城】积分即将清零 回T退订" in letter


async def test_an_arabic_indic_sender_with_zero_width_spaces_reaches_the_report(
    services: Services,
) -> None:
    alice = Person(services.engine)
    said = await file_sms(alice, "١٠٦٩٠\u200b١٢٣٤٥٦٧٨٩", "11月初")
    assert "• 开始日期: 2026-11-01 (11月初)" in said  # the summary says what it stands for
    letter = letter_text(alice)
    assert "10690123456789*【某某商城】" in letter
    assert "\u200b" not in letter and "١" not in letter


async def test_twelve_thousand_in_words_is_noted_and_written_in_the_letter(
    services: Services,
) -> None:
    alice = Person(services.engine)
    await alice.send("/start")
    await alice.press("钱包")
    await alice.press("提现")
    await alice.press("其他钱包")
    await alice.send("某某钱包")
    await alice.press("跳过")  # the account
    assert "💰 记为 12,000 元。" in (await alice.send("1.2万元"))[-1].text
    await alice.send("ＴＸ２０２６１１０３－００４２")
    assert "📅 记为 2026年11月13日（星期五）。" in (await alice.send("上周五"))[-1].text
    await alice.send("11月13日申请提现，至今未到账。")
    await alice.press("没解决")
    await alice.press("跳过")
    await alice.press("完成提现")
    await alice.send(button=next(b.data for b in alice.buttons if b.label == "✅ 完成"))
    await file_and_skip_details(alice)
    letter = letter_text(alice)
    assert "12,000.00 元" in letter
    assert "TX20261103-0042" in letter
    assert "2026年11月13日" in letter


async def test_a_case_number_typed_full_width_or_with_zero_width_spaces_is_found(
    services: Services,
) -> None:
    alice = Person(services.engine)
    await file_sms(alice, "10690123456789", "昨天")
    [case] = await services.store.list_cases(alice.key)
    number = case.number
    typed = [number.translate(FULL_WIDTH), "\u200b".join(number), f"\ufeff{number.lower()}"]
    for text in typed:
        shown = (await alice.send(f"/case {text}"))[-1].text
        assert number in shown and "没有找到" not in shown, shown
        await alice.send(f"/letter {text}")
        letter = letter_text(alice)
        assert "10690123456789" in letter and "没有找到" not in letter, letter
        replies = await alice.send(f"/export {text}")
        archive = next(r.document for r in replies if r.document is not None)
        assert archive.file_name == f"{number}.zip"
        assert f"{number}/answers.json" in zipfile.ZipFile(BytesIO(archive.content)).namelist()
    await alice.send(f"/letter {number.translate(FULL_WIDTH)}　ｅｎ")  # an ideographic space
    assert "10690123456789" in letter_text(alice) and "Complaint" in letter_text(alice)
    # someone else typing it the same way still gets "not found"
    bob = Person(services.engine, "bob")
    shown = (await bob.send(f"/case {number.translate(FULL_WIDTH)}"))[-1].text
    assert f"在你的投诉中没有找到 {number}" in shown
