"""The WeChat messenger under WeCom's faults: duplicate, lost and forged callbacks, slow pulls,
server errors, messages pulled twice; and what it does with voice, chat records and /forget."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import timedelta
from pathlib import Path

from fake_telegram import TINY_PNG
from test_wecom_end_to_end import messages_of
from test_wecom_transcripts import WecomSession
from wecom_chat import wecom_bot

from flows.model import ConversationKey, Document, Reply


def rows(db: str, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


async def test_the_url_check_answers_the_decrypted_echostr(tmp_path: Path) -> None:
    async with wecom_bot(tmp_path) as bot:
        assert bot.callbacks is not None
        response = await bot.callbacks.check_url()
        assert response.status_code == 200
        assert response.text == response.extensions["expected"]


async def test_a_forged_callback_is_refused_and_wakes_nothing(tmp_path: Path) -> None:
    async with wecom_bot(tmp_path) as bot:
        assert bot.callbacks is not None
        alice = bot.customer()
        await bot.settle()
        pulls = bot.fake.calls.count("kf/sync_msg")
        bot.callbacks.tamper = True
        await alice.send_text("/start")
        assert bot.callbacks.answers[-1][0] == 403
        assert bot.fake.calls.count("kf/sync_msg") == pulls
        assert alice.inbox == []


async def test_the_callback_is_answered_while_the_pull_is_still_running(tmp_path: Path) -> None:
    async with wecom_bot(tmp_path) as bot:
        assert bot.callbacks is not None
        await bot.settle()
        bot.fake.sync_gate = asyncio.Event()  # WeCom is slow to answer sync_msg
        alice = bot.customer()
        await alice.send_text("/start")
        assert bot.callbacks.answers[-1] == (200, "success")  # acknowledged, not yet pulled
        assert alice.inbox == []
        bot.fake.sync_gate.set()
        await bot.settle()
        assert "遇到了什么问题" in alice.text


async def test_duplicate_callbacks_answer_each_message_once(tmp_path: Path) -> None:
    async with wecom_bot(tmp_path) as bot:
        assert bot.callbacks is not None
        bot.callbacks.duplicate = True
        alice = bot.customer()
        await bot.say(alice, "/start")
        assert [m.text.count("遇到了什么问题") for m in alice.inbox] == [1]


async def test_a_lost_callback_is_made_up_for_by_the_safety_pull(tmp_path: Path) -> None:
    async with wecom_bot(tmp_path) as bot:
        assert bot.callbacks is not None
        await bot.settle()
        bot.callbacks.lose = 1
        alice = bot.customer()
        await alice.send_text("/start")
        await asyncio.sleep(0)
        assert alice.inbox == []
        bot.clock.advance(timedelta(minutes=5))  # the safety pull's interval
        await bot.settle()
        assert "遇到了什么问题" in alice.text


async def test_a_server_error_loses_no_message(tmp_path: Path) -> None:
    async with wecom_bot(tmp_path) as bot:
        await bot.settle()
        bot.fake.fail_next("kf/sync_msg", 503)
        alice = bot.customer()
        await alice.send_text("/start")
        await bot.settle()
        assert alice.inbox == []  # the pull failed...
        await bot.say(alice, "/help")  # ...the next one brings both messages
        assert "遇到了什么问题" in alice.text


async def test_a_message_pulled_twice_has_its_effect_once(tmp_path: Path) -> None:
    async with wecom_bot(tmp_path) as bot:
        alice = bot.customer()
        await bot.say(alice, "/start")
        await bot.tap(alice, "短信")
        delivered = len(alice.inbox)
        # The cursor is read again from the start (as after a restore): every message comes
        # again, and neither their answers nor their effects repeat.
        db = bot.settings.storage_db_path
        conn = sqlite3.connect(db)
        conn.execute("DELETE FROM wecom_cursors")
        conn.commit()
        conn.close()
        await bot.callbacks.notify(alice.open_kfid)  # type: ignore[union-attr]
        await bot.settle()
        assert len(alice.inbox) == delivered
        assert rows(db, "SELECT count(*) FROM wecom_inbox") == [(0,)]


async def test_voice_gets_the_not_supported_answer(tmp_path: Path) -> None:
    async with wecom_bot(tmp_path) as bot:
        alice = bot.customer()
        await bot.say(alice, "/start")
        await bot.tap(alice, "短信")
        await alice.send_voice()
        await bot.settle()
        answer = "\n".join(m.shown for m in alice.new())
        assert "voice" in answer or "语音" in answer, answer


async def test_forwarded_chat_records_are_checked_as_one_burst(tmp_path: Path) -> None:
    async with wecom_bot(tmp_path) as bot:
        alice = bot.customer()
        await bot.say(alice, "/start")
        alice.new()
        await alice.forward_chat(
            [
                ("95588", "【工商银行】您的账户存在异常，请点击 t.cn/abc 验证身份，否则冻结"),
                ("95588", "请尽快处理，逾期账户将被冻结"),
            ]
        )
        await bot.settle()
        answer = "\n".join(m.shown for m in alice.new())
        assert "诈骗" in answer or "骗" in answer, answer


async def test_typed_numbers_labels_and_chinese_command_words(tmp_path: Path) -> None:
    async with wecom_bot(tmp_path) as bot:
        alice = bot.customer()
        await bot.say(alice, "/start")
        assert "（1/" in await bot.say(alice, "2")  # button 2 of the category menu: SMS
        assert "遇到了什么问题" in await bot.say(alice, "取消") + await bot.say(alice, "新投诉")
        assert "/new" in await bot.say(alice, "帮助") or alice.inbox


async def test_what_does_not_fit_waits_for_more(tmp_path: Path) -> None:
    async with wecom_bot(tmp_path, per_message=2) as bot:
        session = WecomSession(bot)
        for text in [*messages_of("sms_spam"), "不写姓名", "不留电话"]:
            await session.send(text)  # sends 继续 while the bot says there is more
        assert session.continued > 0
        assert any(n.endswith(".txt") for n in session.files)  # the letter came in the end
        assert bot.fake.refusals == []


async def test_forget_deletes_what_the_wechat_messenger_keeps(tmp_path: Path) -> None:
    async with wecom_bot(tmp_path) as bot:
        alice = bot.customer()
        await bot.say(alice, "/start")
        await bot.tap(alice, "短信")
        db = bot.settings.storage_db_path
        assert rows(db, "SELECT count(*) FROM wecom_people") == [(1,)]
        await bot.say(alice, "/forget")
        await bot.tap(alice, "删除")
        assert rows(db, "SELECT count(*) FROM users") == [(0,)]
        assert rows(db, "SELECT count(*) FROM wecom_people") == [(0,)]
        assert rows(db, "SELECT count(*) FROM wecom_inbox") == [(0,)]


async def test_a_send_failure_event_closes_the_window(tmp_path: Path) -> None:
    async with wecom_bot(tmp_path) as bot:
        alice = bot.customer()
        await bot.say(alice, "/start")
        assert bot.messenger is not None
        assert (await bot.messenger.state.person(alice.id)).window_at is not None
        # WeChat reports later that a message did not arrive (past 48 h, as it judged).
        bot.fake.event(alice.open_kfid, alice.id, {"event_type": "msg_send_fail", "fail_type": 4})
        await bot.callbacks.notify(alice.open_kfid)  # type: ignore[union-attr]
        await bot.settle()
        assert (await bot.messenger.state.person(alice.id)).window_at is None


async def test_a_file_wecom_cannot_give_is_asked_for_again_in_the_persons_language(
    tmp_path: Path,
) -> None:
    async with wecom_bot(tmp_path) as bot:
        alice = bot.customer()
        await bot.say(alice, "/start")
        # The pull comes after WeCom's 3 days (the bot was down): the image is gone.
        media_id = bot.fake.add_media("screenshot.png", "image/png", TINY_PNG)
        bot.fake.expire_media(media_id)
        bot.fake.customer_wrote(
            alice.open_kfid, alice.id, {"msgtype": "image", "image": {"media_id": media_id}}
        )
        await bot.callbacks.notify(alice.open_kfid)  # type: ignore[union-attr]
        await bot.settle()
        answer = "\n".join(m.shown for m in alice.new())
        assert "没能取到" in answer and "重新发送" in answer, answer
        assert "出了点问题" not in answer  # not the generic internal error
        # WeCom failing to give a file (a 502 on media/get), told in English to her in English.
        await bot.say(alice, "/lang en")
        bot.fake.fail_next("media/get", 502)
        await alice.send_file("record.pdf", b"%PDF-1.4 a record")
        await bot.settle()
        answer = "\n".join(m.shown for m in alice.new())
        assert "could not be fetched" in answer and "send it again" in answer, answer
        assert "went wrong" not in answer
        assert bot.fake.refusals == []


async def test_send_replies_keeps_to_the_window_and_its_quota(tmp_path: Path) -> None:
    async with wecom_bot(tmp_path, per_message=2) as bot:
        assert bot.messenger is not None
        alice = bot.customer()
        await bot.say(alice, "/start")  # one of the 2 messages her message allows is used
        key, chat = ConversationKey("wecom", alice.id), f"{alice.open_kfid}|{alice.id}"
        letter = Document("TS-1-letter.txt", "投诉信".encode(), "text/plain")
        await bot.messenger.send_replies(key, chat, [Reply("一"), Reply("", document=letter)])
        [notice] = alice.new()  # one message left: it says what waits for 继续
        assert "还有 2 条" in notice.text
        await alice.send_text("继续")
        await bot.settle()
        assert [(m.text, m.file_name) for m in alice.new()] == [
            ("一", None),
            ("", "TS-1-letter.txt"),
        ]
        bot.clock.advance(timedelta(hours=49))  # her window closed: nothing may go out
        await bot.messenger.send_replies(key, chat, [Reply("二")])
        assert alice.new() == [] and bot.fake.refusals == []
