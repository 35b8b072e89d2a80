"""The Telegram messenger on the real PTB Application, against the fake Bot API in tests/.

Each test plays a person in a private chat: commands, buttons, text, photos, an album, a PDF, a
forwarded message. What the person sees is read from the fake; what must persist is read back
from the SQLite database the bot wrote.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_telegram import (
    FakeBotAPI,
    FakeBotAPIServer,
    make_png,
    origin_user,
    running_application,
)
from telegram_chat import (
    SMS,
    WALLET,
    Chat,
    bot_settings,
    conversation,
    finish_sms,
    running_bot,
    the_case,
    unsubscribed_to_evidence,
    walk_sms_to_evidence,
)

from bot.app import telegram_application
from bot.config import Settings
from bot.messengers.telegram import split_text

DATA = Path(__file__).parent.parent / "data"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return bot_settings(tmp_path, telegram_album_wait=0.2)


# ------------------------------------------------------------------------------------- tests


async def test_an_sms_complaint_with_buttons_text_and_a_photo(settings: Settings) -> None:
    fake = FakeBotAPI()
    alice = fake.add_user("Alice")
    chat = Chat(fake, alice)
    screenshot = (DATA / "sms-screenshot.png").read_bytes()
    async with running_bot(fake, settings):
        await chat.say("/start", "你好")
        menu = chat.button(SMS)
        await chat.choose(SMS, "（1/11） 具体是哪种情况？")
        # the answered question keeps its text and shows the choice instead of the buttons
        assert fake.sent_message(alice.id, menu.message_id).text.endswith(f"→ {SMS}")  # type: ignore[union-attr]
        assert fake.sent_message(alice.id, menu.message_id).buttons == []
        await chat.choose("垃圾 / 骚扰短信", "（2/11）")
        await chat.say("not a number", "这个号码没认出来")
        await chat.say("10690123456789", "（3/11）")
        await chat.say("昨天", "（4/11）")
        await chat.choose("每天都有", "（5/11）")
        text = "【某某商城】尊敬的会员，您的积分即将清零，点击 t.cn/xyz 兑换 回T退订"
        await chat.say(text, "（6/11）")
        await unsubscribed_to_evidence(chat)
        alice.send_photo(screenshot)
        await chat.expect("已收到 1 份，共 1 份证据")
        number = await finish_sms(chat)

    case = await the_case(settings, alice, number)
    assert (case.category, case.problem, case.state) == ("sms", "spam", "waiting")
    assert case.answers["content"] == text  # the user's words, exactly
    assert case.answers["sender"]["number"] == "10690123456789"
    assert case.remedies == ["stop_sending"]
    assert case.flow == "sms@2"
    [photo] = case.evidence
    assert photo.kind == "photo" and photo.mime_type == "image/png"
    assert photo.file_id and photo.file_unique_id  # the Telegram ids are kept
    stored = Path(settings.storage_data_dir) / photo.path
    assert stored.read_bytes() == screenshot
    assert photo.sha256 in photo.path


async def test_an_album_of_three_is_one_message_and_one_evidence_group(
    settings: Settings,
) -> None:
    fake = FakeBotAPI()
    alice = fake.add_user("Alice")
    chat = Chat(fake, alice)
    pictures = [make_png(40 + i, 30) for i in range(3)]
    async with running_bot(fake, settings):
        await walk_sms_to_evidence(chat)
        alice.send_album(pictures, caption="三张截图")
        await chat.expect("已收到 3 份，共 3 份证据")
        await fake.settle(quiet=0.4)
        assert not [m.text for m in chat._new()], "an album gets one answer, not three"
        number = await finish_sms(chat)

    case = await the_case(settings, alice, number)
    assert len(case.evidence) == 3
    assert len({e.group_id for e in case.evidence}) == 1 and case.evidence[0].group_id
    stored = {(Path(settings.storage_data_dir) / e.path).read_bytes() for e in case.evidence}
    assert stored == set(pictures)


async def test_a_pdf_and_a_forwarded_message_are_evidence(settings: Settings) -> None:
    fake = FakeBotAPI()
    alice = fake.add_user("Alice")
    scammer = fake.add_user("客服小王", username="kefu_wang")
    chat = Chat(fake, alice)
    pdf = (DATA / "transaction-record.pdf").read_bytes()
    forwarded = "您的账户存在异常，请立即点击链接验证，否则24小时内冻结。"
    async with running_bot(fake, settings):
        await walk_sms_to_evidence(chat)
        alice.send_document(pdf, file_name="账单.pdf", mime_type="application/pdf")
        await chat.expect("已收到 1 份，共 1 份证据")
        alice.forward(origin_user(scammer), text=forwarded)
        await chat.expect("共 2 份证据")
        number = await finish_sms(chat)

    case = await the_case(settings, alice, number)
    document, forward = case.evidence
    assert (document.kind, document.file_name, document.mime_type) == (
        "document",
        "账单.pdf",
        "application/pdf",
    )
    assert (Path(settings.storage_data_dir) / document.path).read_bytes() == pdf
    assert forward.kind == "forward"
    assert forward.text == forwarded
    assert forward.meta["forwarded_from"] == "user"
    assert (forward.meta["sender"], forward.meta["sender_id"]) == ("客服小王", str(scammer.id))
    assert forward.meta["date"]  # when the original was sent, kept for the timeline


async def test_cases_lists_filed_complaints_and_opens_one(settings: Settings) -> None:
    fake = FakeBotAPI()
    alice = fake.add_user("Alice")
    chat = Chat(fake, alice)
    async with running_bot(fake, settings):
        await chat.say("/cases", "你还没有提交过投诉")
        await walk_sms_to_evidence(chat)
        alice.send_photo(make_png(20, 20))
        await chat.expect("已收到 1 份")
        number = await finish_sms(chat)
        listing = await chat.say("/cases", "你的投诉")
        assert number in (listing.text or "")
        assert "短信" in (listing.text or "")
        view = await chat.choose(number, f"{number}")
        assert "时间线" in (view.text or "")
        assert "10690123456789" in (view.text or "")
        # another person cannot open it: the same answer as for a number that does not exist
        bob = Chat(fake, fake.add_user("Bob"))
        theirs = await bob.say(f"/case {number}", "TS-")
        missing = await bob.say("/case TS-2026-999999", "TS-")
        assert (theirs.text or "").replace(number, "N") == (missing.text or "").replace(
            "TS-2026-999999", "N"
        )


async def test_the_command_menu_is_set_in_both_languages(settings: Settings) -> None:
    fake = FakeBotAPI()
    async with running_bot(fake, settings):
        await fake.wait_for_calls("setMyCommands", 2)
    default = [c["command"] for c in fake.commands()]
    english = fake.commands(language_code="en")
    assert default == [
        "new",
        "cases",
        "case",
        "letter",
        "channels",
        "export",
        "cancel",
        "check",
        "me",
        "lang",
        "forget",
        "help",
    ]
    assert [c["command"] for c in english] == default
    assert any("投诉" in c["description"] for c in fake.commands())
    assert all(c["description"].isascii() for c in english)


async def test_english_after_lang_en(settings: Settings) -> None:
    fake = FakeBotAPI()
    chat = Chat(fake, fake.add_user("Alice"))
    async with running_bot(fake, settings):
        await chat.say("/lang en", "English")
        await chat.say("/start", "What happened")
        await chat.say("/help", "/cases")


async def test_a_restart_mid_conversation_continues_at_the_same_step(settings: Settings) -> None:
    fake = FakeBotAPI()
    alice = fake.add_user("Alice")
    chat = Chat(fake, alice)
    async with running_bot(fake, settings):
        await chat.say("/start", "遇到了什么问题")
        await chat.choose(SMS, "（1/11）")
        await chat.choose("垃圾 / 骚扰短信", "（2/11）")
        await chat.say("10690123456789", "（3/11）")

    saved = await conversation(settings, alice)
    assert saved.state == "started"

    async with running_bot(fake, settings):  # a new process on the same database
        await chat.say("昨天", "（4/11）")
        await chat.choose("每天都有", "（5/11）")
        await chat.say("原文", "（6/11）")
        await unsubscribed_to_evidence(chat)
        alice.send_photo(make_png(10, 10))
        await chat.expect("已收到 1 份")
        number = await finish_sms(chat)

    case = await the_case(settings, alice, number)
    assert case.answers["sender"]["number"] == "10690123456789"  # answered before the restart
    assert case.answers["content"] == "原文"


async def test_each_chat_is_processed_in_order_and_chats_do_not_mix(settings: Settings) -> None:
    fake = FakeBotAPI()
    people = [Chat(fake, fake.add_user(name)) for name in ("Alice", "Bob", "Carol")]
    async with running_bot(fake, settings):
        for chat in people:
            await chat.say("/start", "遇到了什么问题")
            await chat.choose(SMS, "（1/11）")
            await chat.choose("垃圾 / 骚扰短信", "（2/11）")
        # everyone answers three questions in one burst, all queued before the bot polls
        for index, chat in enumerate(people):
            chat.user.send_text(f"1069012345678{index}")
            chat.user.send_text("2026-11-0" + str(index + 1))
            chat.user.send_text("一天好几次")  # typing a button's label counts as pressing it
        for chat in people:
            await chat.expect("（5/11）")

    for index, chat in enumerate(people):
        saved = await conversation(settings, chat.user)
        assert saved.state == "content"
        assert saved.answers["sender"]["number"] == f"1069012345678{index}"
        assert saved.answers["started"]["date"] == f"2026-11-0{index + 1}"
        assert saved.answers["frequency"] == "many_daily"


async def test_voice_at_the_evidence_step_gets_a_clear_answer(settings: Settings) -> None:
    fake = FakeBotAPI()
    alice = fake.add_user("Alice")
    chat = Chat(fake, alice)
    async with running_bot(fake, settings):
        await walk_sms_to_evidence(chat)
        alice.send_voice()
        await chat.expect("语音、视频、贴纸")
        alice.send_document(b"MZ\x90\x00 not a pdf", file_name="scan.pdf")
        await chat.expect("内容和它的格式对不上")
        await chat.choose("跳过", "（12/12）")  # evidence is optional for spam texts


async def test_a_stale_button_says_it_expired_and_repeats_the_question(
    settings: Settings,
) -> None:
    fake = FakeBotAPI()
    alice = fake.add_user("Alice")
    chat = Chat(fake, alice)
    async with running_bot(fake, settings):
        await chat.say("/start", "遇到了什么问题")
        menu = chat.button(SMS)
        stale = menu.callback_data(WALLET)
        await chat.choose(SMS, "（1/11）")
        await chat.choose("垃圾 / 骚扰短信", "（2/11）")
        alice.press(menu, stale, check=False)  # an old client still shows the menu
        expired = await chat.expect("这个选项已经过期了")
        assert "（2/11） 短信是哪个号码发来的" in (expired.text or "")
    saved = await conversation(settings, alice)
    assert (saved.flow_id, saved.state) == ("sms", "sender")


async def test_group_chats_are_asked_to_talk_privately(settings: Settings) -> None:
    fake = FakeBotAPI()
    alice = fake.add_user("Alice")
    group = fake.add_chat(-100123, type="group", title="邻居群")
    async with running_bot(fake, settings):
        alice.send_in_group(group, "/start")
        await fake.wait_for_sent(group["id"])
    assert "私聊" in (fake.last_message(group["id"]).text or "")


async def test_over_http_with_a_configured_base_url(settings: Settings) -> None:
    fake = FakeBotAPI()
    alice = fake.add_user("Alice")
    chat = Chat(fake, alice)
    async with FakeBotAPIServer(fake) as server:
        over_http = settings.replace(
            telegram_base_url=f"{server.url}/bot", telegram_base_file_url=f"{server.url}/file/bot"
        )
        app = telegram_application(over_http)
        async with running_application(app, allowed_updates=["message", "callback_query"]):
            await walk_sms_to_evidence(chat)
            alice.send_photo(make_png(30, 30))  # downloaded through base_file_url
            await chat.expect("已收到 1 份")
            number = await finish_sms(chat)
    case = await the_case(settings, alice, number)
    assert len(case.evidence) == 1
    assert fake.calls("getFile")


def test_texts_are_split_by_utf16_code_units_as_telegram_counts() -> None:
    text = "😀" * 3000  # 3,000 characters, 6,000 code units
    chunks = split_text(text)
    assert [len(chunk.encode("utf-16-le")) // 2 for chunk in chunks] == [4096, 1904]
    assert "".join(chunks) == text


def test_long_texts_are_split_at_line_breaks() -> None:
    text = "\n".join(f"第{i}行 " + "字" * 60 for i in range(200))
    chunks = split_text(text)
    assert all(len(chunk) <= 4096 for chunk in chunks)
    assert "\n".join(chunks) == text
    assert all(chunk.startswith("第") for chunk in chunks)


def test_settings_without_a_token_cannot_build_the_bot(settings: Settings) -> None:
    with pytest.raises(Exception, match="TELEGRAM_BOT_TOKEN"):
        telegram_application(Settings.defaults())
