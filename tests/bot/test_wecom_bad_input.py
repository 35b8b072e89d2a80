"""Bad input on WeChat: the shared corpus (tests/data/bad_inputs.yaml) and WeChat's own kinds.

Every entry is one message from its own person, placed at the entry's step directly in the
database, all pulled at once through the fake WeCom: texts as typed, button data as a menu
click carrying it as `menu_id`, files through media/get (WeChat announces no size, so an entry
that only claims a size is left out; a file really over the limit stays in), and the message
kinds WeChat has and the bot cannot use (voice, video, location, link, contact card, mini
program, an unknown kind; an image whose media has expired). Each gets a clear reply in the
person's language (the judge of tests/bad_input.py) and leaves a valid conversation; nothing
is refused by WeCom. A click on a menu the person has moved past is answered "expired".
Callbacks that are not WeChat's (malformed XML, a tampered signature, a stale timestamp, an
XML bomb, a body sealed for another corp) are refused with 403 and wake no pull.
"""

from __future__ import annotations

import secrets
import sqlite3
from pathlib import Path
from typing import Any

from bad_input import (
    CONTENTS,
    MAX_FILE_SIZE,
    Entry,
    Judge,
    load_corpus,
    place_person,
    reply_problems,
    walk_to_every_place,
)
from engine_chat import Person
from fake_wecom import FakeCustomer
from wechatpy.enterprise.crypto import WeChatCrypto
from wecom_chat import NOW, WecomBot

from bot.clock import ManualClock
from flows.model import ConversationKey
from flows.records import Conversation

MORE = "回复「继续」"
CONTENTS["png-1.5mb"] = CONTENTS["png"] + b"\0" * (3 * MAX_FILE_SIZE // 2)
WECHAT_KINDS = {  # a message of each kind, as kf/sync_msg gives it
    "voice": {"voice": {"media_id": "MEDIA_VOICE"}},
    "video": {"video": {"media_id": "MEDIA_VIDEO"}},
    "location": {"location": {"latitude": 31.23, "longitude": 121.47, "name": "某某营业厅"}},
    "link": {"link": {"title": "领取补贴", "url": "http://t.cn/xyz", "desc": "点击领取"}},
    "business_card": {"business_card": {"userid": "wmSomeoneElse"}},
    "miniprogram": {"miniprogram": {"title": "小程序", "appid": "wx123", "pagepath": "p"}},
    "channels_shop_product": {"channels_shop_product": {"product_id": "1"}},
    "hologram": {"hologram": {"depth": 3}},  # a kind WeChat may add one day
}


def wechat_entries(first: int) -> list[Entry]:
    """Return WeChat's own kinds sent at each kind of step, numbered from `first`."""
    raw: list[dict[str, Any]] = []
    places = [("evidence", "refused"), ("sender", "refused"), ("problem", "refused"), ("idle", "any")]  # fmt: skip
    for n, kind in enumerate(WECHAT_KINDS):
        for m, (at, expect) in enumerate(places):
            lang = "en" if (n + m) % 2 else "zh"
            entry = {"what": f"a {kind} message", "at": at, "lang": lang, "wechat": kind}
            entry |= {"expect": expect, **({"says": "unsupported_media"} if at != "idle" else {})}
            raw.append(entry)
    for at in ("evidence", "sender"):
        raw.append({"what": "an image whose media expired", "at": at, "lang": "zh"})
        raw[-1] |= {"wechat": "expired_image", "expect": "refused"}
    # WeChat takes images up to 2 MB; the bot keeps files up to MAX_FILE_SIZE (1 MB here).
    for lang in ("zh", "en"):
        raw.append({"what": "an image of 1.5 MB", "at": "evidence", "lang": lang})
        raw[-1] |= {"file": {"kind": "photo", "content": "png-1.5mb"}}
        raw[-1] |= {"expect": "refused", "says": "file_too_big"}
    for at, expect in (("idle", "any"), ("evidence", "refused"), ("content", "any")):
        raw.append({"what": "an unknown command word", "at": at, "lang": "zh", "text": "/投诉一下"})
        raw[-1] |= {"expect": expect}
        raw.append({"what": "an unknown slash command", "at": at, "lang": "en", "text": "/frobnicate"})  # fmt: skip
        raw[-1] |= {"expect": expect}
    return [Entry(first + i, e) for i, e in enumerate(raw)]


def entries() -> list[Entry]:
    """Return the corpus entries WeChat can send, then WeChat's own."""
    chosen = []
    for entry in [*load_corpus("engine"), *load_corpus("telegram")]:
        if "media" in entry.raw:  # Telegram's kinds: WeChat's own are below
            continue
        spec = entry.file
        if spec and spec.get("size") is not None and len(spec["bytes"]) <= MAX_FILE_SIZE:
            continue  # only claims to be big: WeChat announces no size
        if entry.raw.get("button") == "":
            continue  # a menu id is 1 to 64 bytes: an empty one cannot be clicked
        if not utf8(entry.text or ""):
            continue  # a lone surrogate: WeChat's JSON, in UTF-8, cannot carry it
        chosen.append(entry)
    return [*chosen, *wechat_entries(1000)]


def utf8(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def message(bot: WecomBot, entry: Entry, turn: int) -> dict[str, Any]:
    """Return the kf/sync_msg message that sends this entry."""
    if (button := entry.button(turn)) is not None:
        return {"msgtype": "text", "text": {"content": "选项", "menu_id": button}}
    if (spec := entry.file) is not None:
        kind = "image" if spec["kind"] == "photo" else "file"
        name = spec.get("name") or "file"
        mime = spec.get("mime") or "image/jpeg"
        media_id = bot.fake.add_media(name, mime, spec["bytes"])
        return {"msgtype": kind, kind: {"media_id": media_id}}
    kind = entry.raw.get("wechat")
    if kind == "expired_image":
        return {"msgtype": "image", "image": {"media_id": "media_gone_" + secrets.token_hex(4)}}
    if kind is not None:
        return {"msgtype": kind, **WECHAT_KINDS[kind]}
    assert entry.text is not None, entry.what
    return {"msgtype": "text", "text": {"content": entry.text}}


async def started_bot(tmp_path: Path) -> WecomBot:
    from fake_wecom import FakeWecom

    clock = ManualClock(NOW)
    bot = WecomBot(tmp_path, clock, FakeWecom(clock.now), max_file_size=MAX_FILE_SIZE)
    bot.settings = bot.settings.replace(max_file_mb=MAX_FILE_SIZE / (1024 * 1024))
    await bot.start()
    return bot


async def test_bad_input_on_wechat_gets_clear_replies_and_corrupts_nothing(tmp_path: Path) -> None:
    bot = await started_bot(tmp_path)
    try:
        services = bot.services
        assert services is not None
        store = services.store
        places = await walk_to_every_place(Person(services.engine, "walker"))
        chosen = entries()
        people: dict[int, FakeCustomer] = {}
        before: dict[int, Conversation] = {}
        for entry in chosen:
            customer = people[entry.index] = bot.customer(f"wmBad{entry.index:04d}")
            person = Person(services.engine, customer.id, messenger="wecom")
            await place_person(person, places, entry)
            saved = await store.load_conversation(person.key)
            assert saved is not None
            before[entry.index] = saved
            bot.fake.customer_wrote(
                customer.open_kfid, customer.id, message(bot, entry, saved.turn)
            )
        await bot.callbacks.notify(bot.fake.open_kfids[0])  # type: ignore[union-attr]
        await bot.settle()  # one pull brings every entry

        judge = Judge()
        problems: list[str] = []
        for entry in chosen:
            customer = people[entry.index]
            got = customer.new()
            while got and MORE in got[-1].text:  # a long answer: the rest on request
                await customer.send_text("继续")
                await bot.settle()
                got += customer.new()
            texts = [m.shown for m in got if m.msgtype != "file"]
            key = ConversationKey("wecom", customer.id)
            after = await store.load_conversation(key)
            problems += reply_problems(judge, entry, texts, before[entry.index], after)
        assert not problems, f"{len(problems)} problem(s):\n" + "\n".join(problems)
        assert bot.fake.refusals == []
        big = [e for e in chosen if e.file and len(e.file["bytes"]) > MAX_FILE_SIZE]
        assert big, "no file over the limit was sent: the size cap proves nothing"
        print(f"wecom bad input: {len(chosen)} entries, {len(big)} files over the limit")
    finally:
        await bot.stop()


async def test_a_click_on_a_menu_moved_past_is_answered_expired(tmp_path: Path) -> None:
    bot = await started_bot(tmp_path)
    try:
        for lang, expired in (("zh", "选项已经过期"), ("en", "expired")):
            alice = bot.customer(f"wmStale{lang}")
            await bot.say(alice, "/start")
            if lang == "en":
                await bot.say(alice, "/lang en")
                await bot.say(alice, "/start")
            first = [m for m in alice.inbox if m.menu][-1]
            assert "1/11" in await bot.tap(alice, first.menu[1][1])  # SMS
            assert services_state(bot, alice) == "problem"
            stale_id, stale_label = first.menu[0]  # "scam", on the menu moved past
            await alice._write({"msgtype": "text", "text": {"content": stale_label, "menu_id": stale_id}})  # fmt: skip
            await bot.settle()
            answer = "\n".join(m.shown for m in alice.new())
            assert expired in answer and "Traceback" not in answer, answer
            assert services_state(bot, alice) == "problem"  # nothing moved
        assert bot.fake.refusals == []
    finally:
        await bot.stop()


def services_state(bot: WecomBot, customer: FakeCustomer) -> str | None:
    conn = sqlite3.connect(bot.settings.storage_db_path)
    try:
        row = conn.execute(
            "SELECT v.state FROM conversations v JOIN users u ON u.id = v.user_id"
            " WHERE u.messenger = 'wecom' AND u.external_id = ?",
            (customer.id,),
        ).fetchone()
        return None if row is None else row[0]
    finally:
        conn.close()


def sealed(crypto: WeChatCrypto, plain: str, timestamp: str) -> tuple[bytes, dict[str, str]]:
    """Return a callback body and its query, signed and encrypted as WeChat does."""
    nonce = secrets.token_hex(5)
    body = crypto.encrypt_message(plain, nonce, timestamp)
    signature = body.split("<MsgSignature><![CDATA[")[1].split("]]>")[0]
    return body.encode(), {"msg_signature": signature, "timestamp": timestamp, "nonce": nonce}


async def test_callbacks_that_are_not_wechats_are_refused_and_wake_nothing(tmp_path: Path) -> None:
    bot = await started_bot(tmp_path)
    try:
        callbacks = bot.callbacks
        assert callbacks is not None
        await bot.settle()
        fake, crypto = bot.fake, callbacks.crypto
        now = str(int(fake.clock().timestamp()))
        kfid = fake.open_kfids[0]
        plain = (
            f"<xml><ToUserName><![CDATA[{fake.corp_id}]]></ToUserName><CreateTime>{now}"
            "</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[kf_msg_or_event]]>"
            f"</Event><Token><![CDATA[{fake.new_callback_token()}]]></Token>"
            f"<OpenKfId><![CDATA[{kfid}]]></OpenKfId></xml>"
        )
        good, query = sealed(crypto, plain, now)
        stale_at = str(int(fake.clock().timestamp()) - 3600)
        stale, stale_query = sealed(crypto, plain, stale_at)
        other_corp, other_query = sealed(
            WeChatCrypto(crypto.token, "a" * 43, "wwanothercorp"), plain, now
        )
        tampered = {**query, "msg_signature": "0" * 40}
        bomb = (
            b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
            b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><xml><Encrypt>&b;</Encrypt></xml>'
        )
        forged = {
            "malformed XML": (b"<xml><Encrypt><![CDATA[abc", query),
            "not XML at all": (b"\x00\xffhello", query),
            "a tampered signature": (good, tampered),
            "a stale timestamp (an hour old), signed": (stale, stale_query),
            "an XML bomb": (bomb, query),
            "sealed for another corp": (other_corp, other_query),
            "a body of 1 MB": (b"<xml>" + b"a" * (1 << 20) + b"</xml>", query),
        }
        pulls = fake.calls.count("kf/sync_msg")
        for what, (body, params) in forged.items():
            response = await callbacks.bot.post("/wecom/kf", params=params, content=body)
            assert response.status_code == 403, what
            assert "Traceback" not in response.text and response.text == "forbidden", what
        checked = await callbacks.bot.get("/wecom/kf", params={**tampered, "echostr": "abc"})
        assert checked.status_code == 403
        assert fake.calls.count("kf/sync_msg") == pulls  # none of them woke a pull
        conn = sqlite3.connect(bot.settings.storage_db_path)
        try:
            assert conn.execute("SELECT count(*) FROM wecom_inbox").fetchone() == (0,)
        finally:
            conn.close()
        # WeChat's own callback still goes through.
        alice = bot.customer("wmAfterForgeries")
        assert "遇到了什么问题" in await bot.say(alice, "/start")
    finally:
        await bot.stop()
