"""Bursts on WeChat: 30 messages pulled at once from one person are handled in order and all
recorded; several people's messages interleaved in one pull do not mix.

A burst is what someone standing at the first question of an SMS complaint sends before the
bot answers: the ten answers up to the evidence step (typing a menu's label presses it; the
SMS text comes as a forwarded chat record), five screenshots, and `/case` look-ups of made-up
numbers before each, whose answers echo the number and so show the order of handling. WeCom
hands the whole burst to one pull; the bot may answer it with 5 messages (WeChat's rule), so
the person then sends 继续 until everything came.
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

from fake_telegram import make_png
from fake_wecom import Delivered, FakeCustomer
from wecom_chat import WecomBot, wecom_bot

from flows.model import ConversationKey

ANSWERS = ("垃圾 / 骚扰短信", "{sender}", "2026-11-0{day}", "每天都有", None, "退订过，但还在发", "2026-11-0{day}", "共 3 条", "中国移动", "13800138000")  # fmt: skip
PHOTOS = 5
MESSAGES = 2 * (len(ANSWERS) + PHOTOS)  # each answer and screenshot after a look-up: 30
ECHO = re.compile(r"没有找到 (TS-2026-9\d{5})")
MORE = "回复「继续」"


def photo(person: int, index: int) -> bytes:
    return make_png(10 + index, 10 + person)


def content(person: int) -> str:
    return f"【某某商城】第{person}号用户，您的积分即将清零，回复 TD 退订"


def burst(bot: WecomBot, customer: FakeCustomer, person: int) -> list[list[dict[str, object]]]:
    """Return one person's 30 messages (each a list of one WeCom message) and the look-ups."""
    values = {"sender": f"106901234567{person:02d}", "day": person % 9 + 1}
    messages: list[list[dict[str, object]]] = []
    lookups = iter(range(1000))

    def lookup() -> None:
        number = f"TS-2026-9{person:02d}{next(lookups):03d}"
        messages.append([{"msgtype": "text", "text": {"content": f"/case {number}"}}])

    for answer in ANSWERS:
        lookup()
        if answer is None:  # the SMS text, forwarded as a chat record
            record = {"text": {"content": content(person)}}
            item = {
                "send_time": 0,
                "msgtype": "text",
                "sender_name": "10690",
                "msg_content": json.dumps(record, ensure_ascii=False),
            }
            merged = {"title": "聊天记录", "item": [item]}
            messages.append([{"msgtype": "merged_msg", "merged_msg": merged}])
        else:
            messages.append([{"msgtype": "text", "text": {"content": answer.format(**values)}}])
    for index in range(PHOTOS):
        lookup()
        media_id = bot.fake.add_media(f"shot{index}.png", "image/png", photo(person, index))
        messages.append([{"msgtype": "image", "image": {"media_id": media_id}}])
    assert len(messages) == MESSAGES
    return messages


def sent_lookups(messages: list[list[dict[str, object]]]) -> list[str]:
    return [
        str(m[0]["text"]["content"]).split()[1]  # type: ignore[index]
        for m in messages
        if m[0]["msgtype"] == "text" and str(m[0]["text"]["content"]).startswith("/case")  # type: ignore[index]
    ]


async def read_everything(bot: WecomBot, customer: FakeCustomer) -> list[Delivered]:
    """Return what the person got, asking 继续 while the bot says more waits."""
    got = customer.new()
    while got and MORE in got[-1].text:
        await customer.send_text("继续")
        await bot.settle()
        got += customer.new()
    return got


async def start_intake(bot: WecomBot, customer: FakeCustomer) -> None:
    await bot.say(customer, "/start")
    assert "（1/11）" in await bot.tap(customer, "短信")


def deliveries(bot: WecomBot) -> int:
    conn = sqlite3.connect(bot.settings.storage_db_path)
    try:
        return int(conn.execute("SELECT count(*) FROM deliveries").fetchone()[0])
    finally:
        conn.close()


async def check_person(
    bot: WecomBot, customer: FakeCustomer, person: int, lookups: list[str], got: list[Delivered]
) -> None:
    text = "\n".join(m.shown for m in got)
    echoed = ECHO.findall(text)
    assert echoed == lookups, "look-ups answered out of order, or answered to someone else"
    assert "共 5 份证据" in text
    assert bot.services is not None
    saved = await bot.services.store.load_conversation(ConversationKey("wecom", customer.id))
    assert saved is not None and saved.state == "evidence"
    assert saved.answers["sender"]["number"] == f"106901234567{person:02d}"
    assert saved.answers["started"]["date"] == f"2026-11-0{person % 9 + 1}"
    assert content(person) in str(saved.answers["content"])
    assert saved.answers["carrier"] == "mobile"
    conn = sqlite3.connect(bot.settings.storage_db_path)
    try:
        rows = conn.execute(
            "SELECT e.path FROM evidence e JOIN users u ON u.id = e.user_id"
            " WHERE u.external_id = ? ORDER BY e.id",
            (customer.id,),
        ).fetchall()
    finally:
        conn.close()
    stored = [(Path(bot.settings.storage_data_dir) / path).read_bytes() for (path,) in rows]
    assert stored == [photo(person, i) for i in range(PHOTOS)]  # all, in order, theirs


async def test_thirty_messages_pulled_at_once_are_handled_in_order(tmp_path: Path) -> None:
    async with wecom_bot(tmp_path) as bot:
        alice = bot.customer("wmBurstAlice")
        await start_intake(bot, alice)
        before = deliveries(bot)
        messages = burst(bot, alice, 0)
        for (message,) in messages:
            bot.fake.customer_wrote(alice.open_kfid, alice.id, message)
        pulls = bot.fake.calls.count("kf/sync_msg")
        await bot.callbacks.notify(alice.open_kfid)  # type: ignore[union-attr]
        await bot.settle()
        assert bot.fake.calls.count("kf/sync_msg") - pulls == 1  # one pull brought all 30
        assert len(alice.inbox[alice.seen :]) <= 5  # WeChat's 5 messages, then 继续
        got = await read_everything(bot, alice)
        # Every message of the burst was recorded as handled (and each 继续).
        continued = sum(1 for m in alice.inbox if MORE in m.text)
        assert deliveries(bot) - before == MESSAGES + continued
        await check_person(bot, alice, 0, sent_lookups(messages), got)
        assert bot.fake.refusals == []


async def test_several_people_in_one_pull_do_not_mix(tmp_path: Path) -> None:
    async with wecom_bot(tmp_path) as bot:
        people = [bot.customer(f"wmBurstPerson{i:02d}") for i in range(5)]
        for customer in people:
            await start_intake(bot, customer)
        bursts = [burst(bot, customer, i) for i, customer in enumerate(people)]
        for step in range(MESSAGES):  # interleaved: one message of each person in turn
            for customer, messages in zip(people, bursts, strict=True):
                bot.fake.customer_wrote(customer.open_kfid, customer.id, messages[step][0])
        await bot.callbacks.notify(people[0].open_kfid)  # type: ignore[union-attr]
        await bot.settle()
        for index, customer in enumerate(people):
            got = await read_everything(bot, customer)
            await check_person(bot, customer, index, sent_lookups(bursts[index]), got)
        assert bot.fake.refusals == []
