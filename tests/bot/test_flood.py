"""Flood control: over the configured rate a person gets one "slow down"; others are unaffected."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from fake_telegram import FakeBotAPI, make_png, origin_user
from telegram_chat import Chat, bot_settings, running_bot, walk_sms_to_evidence

from bot.config import Settings
from bot.messengers.flood import FloodGate, Verdict

SLOW_ZH = "消息发得太快了"
SLOW_EN = "You are sending messages too fast"


async def test_the_gate_admits_the_limit_warns_once_then_drops() -> None:
    gate = FloodGate(3, 60.0)
    verdicts = [await gate.admit(1) for _ in range(6)]
    assert verdicts == [Verdict.ADMIT] * 3 + [Verdict.WARN] + [Verdict.DROP] * 2
    assert await gate.admit(2) is Verdict.ADMIT  # someone else is not slowed down


async def test_a_flood_gets_one_slow_down_and_is_not_processed(tmp_path: Path) -> None:
    settings = bot_settings(tmp_path, telegram_flood_limit="5/1m")
    fake = FakeBotAPI()
    alice, bob, carol = (fake.add_user(name) for name in ("Alice", "Bob", "Carol"))
    async with running_bot(fake, settings):
        await Chat(fake, carol).say("/lang en", "English")  # 1 of Carol's 5
        for _ in range(20):  # all queued at once, interleaved with the others
            alice.send_command("help")
            carol.send_command("help")
        bob.send_command("help")
        bob.send_command("help")
        await fake.settle(quiet=0.3)

    def texts(user_id: int) -> list[str]:
        return [t or "" for t in fake.texts(user_id)]

    alice_got, carol_got, bob_got = texts(alice.id), texts(carol.id), texts(bob.id)
    assert sum("/cases" in t for t in alice_got) == 5
    assert [t for t in alice_got if SLOW_ZH in t] == [alice_got[-1]]  # one, after the five
    assert sum("/cases" in t for t in carol_got) == 4
    assert sum(SLOW_EN in t for t in carol_got) == 1 and not any(SLOW_ZH in t for t in carol_got)
    assert sum("/cases" in t for t in bob_got) == 2 and not any(SLOW_ZH in t for t in bob_got)
    # Only what was admitted was processed: each handled update is recorded, nothing else.
    conn = sqlite3.connect(settings.storage_db_path)
    try:
        assert conn.execute("SELECT count(*) FROM deliveries").fetchone()[0] == 5 + 5 + 2
    finally:
        conn.close()


async def test_an_album_counts_as_one_message(tmp_path: Path) -> None:
    settings = bot_settings(tmp_path, telegram_flood_limit="15/1m", telegram_album_wait=0.2)
    fake = FakeBotAPI()
    alice = fake.add_user("Alice")
    chat = Chat(fake, alice)
    async with running_bot(fake, settings):
        await walk_sms_to_evidence(chat)  # 12 messages
        alice.send_album([make_png(40 + i, 40) for i in range(5)])  # 13th, or 13th-17th: over
        await chat.expect("已收到 5 份，共 5 份证据")
        await fake.settle(quiet=0.3)
    assert not any(SLOW_ZH in (t or "") for t in fake.texts(alice.id))


def test_the_limit_is_a_setting_with_off() -> None:
    assert Settings.defaults().flood_rate == (60, 60.0)
    assert Settings.defaults().replace(telegram_flood_limit="off").flood_rate is None


async def test_a_dropped_button_press_is_still_answered_so_it_stops_loading(
    tmp_path: Path,
) -> None:
    settings = bot_settings(tmp_path, telegram_flood_limit="3/1m")
    fake = FakeBotAPI()
    alice = fake.add_user("Alice")
    chat = Chat(fake, alice)
    async with running_bot(fake, settings):
        menu = await chat.say("/start", "遇到了什么问题")  # 1 of 3
        presses = [alice.press(menu, label=menu.button_labels[0]) for _ in range(6)]
        await fake.settle(quiet=0.3)
    texts = [t or "" for t in fake.texts(alice.id)]
    assert sum(SLOW_ZH in t for t in texts) == 1
    # Admitted, warned or dropped: every press got its answerCallbackQuery.
    assert [fake.callback_answer(p) is not None for p in presses] == [True] * 6


async def test_every_message_of_a_burst_of_forwards_counts(tmp_path: Path) -> None:
    settings = bot_settings(tmp_path, telegram_flood_limit="5/1m", telegram_forward_wait=0.3)
    fake = FakeBotAPI()
    alice, scammer = fake.add_user("Alice"), fake.add_user("Scammer")
    chat = Chat(fake, alice)
    async with running_bot(fake, settings):
        for index in range(8):  # one burst of eight forwards: eight messages to check
            alice.forward(origin_user(scammer), text=f"兼职刷单，日结佣金{300 + index}元")
        verdict = await chat.expect("你发来的 5 条消息")
        await fake.settle(quiet=0.5)
    texts = [t or "" for t in fake.texts(alice.id)]
    assert "日结佣金304元" in (verdict.text or "") and "305" not in (verdict.text or "")
    assert sum(SLOW_ZH in t for t in texts) == 1
