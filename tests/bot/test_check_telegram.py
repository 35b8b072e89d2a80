"""Checking a suspicious message on Telegram: forwards, bursts, /check, screenshots, filing.

The real PTB Application talks to the fake Bot API. What the person reads is taken from the
fake; what must persist (the case, its answers and evidence) is read back from SQLite.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_telegram import (
    FakeBotAPI,
    origin_channel,
    origin_hidden_user,
    origin_user,
)
from telegram_chat import Chat, bot_settings, conversation, running_bot, the_case

from bot.config import Settings

DATA = Path(__file__).parent.parent / "data"
FRAUD = "【医保中心】您的医保卡已被冻结，请在24小时内登录 nhsa-gov.cn.xyz 重新认证，逾期将停用。"
BUTTONS = ["📝 投诉这条消息", "👌 没问题", "🔍 再查一条"]
# Reading a screenshot takes a second or two; on a busy 2-core CI runner several times that. This
# is how long to wait for the reply, not a speed check.
OCR_WAIT = 60.0


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return bot_settings(tmp_path, telegram_forward_wait=0.3)


@pytest.mark.parametrize(
    "origin",
    [
        lambda fake: origin_user(fake.add_user("客服小王", username="kefu_wang")),
        lambda fake: origin_hidden_user("医保中心"),
        lambda fake: origin_channel(-1001234567890, "医保通知", 42),
    ],
    ids=["from-a-user", "from-a-hidden-user", "from-a-channel"],
)
async def test_a_forwarded_message_gets_a_verdict_with_reasons_and_buttons(
    settings: Settings, origin: object
) -> None:
    fake = FakeBotAPI()
    alice = fake.add_user("Alice")
    chat = Chat(fake, alice)
    async with running_bot(fake, settings):
        alice.forward(origin(fake), text=FRAUD)  # type: ignore[operator]
        verdict = await chat.expect("诈骗")
    text = verdict.text or ""
    assert "nhsa.gov.cn" in text  # the link is not on the official domain
    assert "24" in text  # the deadline threat
    assert "现在该怎么做" in text and "110" in text
    assert verdict.button_labels == BUTTONS


async def test_a_burst_of_five_forwards_is_one_verdict(settings: Settings) -> None:
    fake = FakeBotAPI()
    alice = fake.add_user("Alice")
    scammer = fake.add_user("客服小王")
    chat = Chat(fake, alice)
    texts = [
        FRAUD,
        "【某某商城】双十一全场5折，积分即将清零，详见 jd.com 回T退订",
        "您的验证码是 482913，5分钟内有效，请勿泄露给他人。【某某App】",
        "我是你领导，换号了，加我微信 lingdao888，有急事",
        "兼职刷单，日结佣金300元，点赞关注即可，加QQ 12345678",
    ]
    async with running_bot(fake, settings):
        for text in texts:  # all five within a few milliseconds
            alice.forward(origin_user(scammer), text=text)
        verdict = await chat.expect("你发来的 5 条消息")
        await fake.settle(quiet=0.5)
    answers = [m for m in alice.received if m.text]
    assert len(answers) == 1, [m.text for m in answers]
    for index in range(1, 6):
        assert f"{index}. " in (verdict.text or "")
    assert verdict.button_labels == BUTTONS


async def test_file_a_complaint_opens_the_intake_prefilled_and_files_the_case(
    settings: Settings,
) -> None:
    fake = FakeBotAPI()
    alice = fake.add_user("Alice")
    chat = Chat(fake, alice)
    pasted = f"10690123456789\n{FRAUD}"
    async with running_bot(fake, settings):
        await chat.say(pasted, "诈骗")
        # Problem, sender and text come from the message; it shows no date, so the day is asked
        # (never "today" by default), then how often, money sent, the carrier and their number.
        await chat.choose("📝 投诉这条消息", "大概从哪天开始")
        await chat.say("昨天", "多久发生一次")
        await chat.choose("就一次", "转过钱")
        await chat.choose("没有", "运营商")
        await chat.choose("中国移动", "你的哪个手机号")
        remedies = await chat.choose("跳过", "希望对方怎么做")
        chat.press("停止给我发短信")
        await fake.wait_until(
            lambda: (
                "✅ 停止给我发短信"
                in fake.sent_message(alice.id, remedies.message_id).button_labels
            )
        )
        await chat.choose("完成", "请核对你的投诉")
        filed = await chat.choose("提交投诉", "投诉已提交，编号 TS-")
    number = (filed.text or "").split("编号 ")[1].split("。")[0]
    case = await the_case(settings, alice, number)
    assert case.problem == "fraud"
    assert case.answers["sender"]["number"] == "10690123456789"
    assert case.answers["content"] == FRAUD
    [evidence] = case.evidence
    assert evidence.text == pasted and evidence.kind == "message"  # exactly as pasted


async def test_filing_a_forward_from_a_telegram_user_keeps_who_sent_it(settings: Settings) -> None:
    fake = FakeBotAPI()
    alice = fake.add_user("Alice")
    scammer = fake.add_user("客服小王", username="kefu_wang")
    chat = Chat(fake, alice)
    text = "您好，我是淘宝客服，您的订单需要退款理赔，请下载会议App并开启屏幕共享。"
    async with running_bot(fake, settings):
        alice.forward(origin_user(scammer), text=text)
        await chat.expect("现在该怎么做")
        # A chat message from someone is a scam attempt: the scam intake, never a complaint to
        # the sender (the scammer's "support"). Who, what, when and the evidence are filled in.
        remedies = await chat.choose("📝 投诉这条消息", "你还想提什么要求")
        chat.press("封停对方的号码和账号")
        await fake.wait_until(
            lambda: (
                "✅ 封停对方的号码和账号"
                in fake.sent_message(alice.id, remedies.message_id).button_labels
            )
        )
        await chat.choose("完成", "请核对你的投诉")
        filed = await chat.choose("提交投诉", "投诉已提交，编号 TS-")
        assert "反诈专线 96110" in (filed.text or "")
        assert "客户服务部门" not in (filed.text or "")
    number = (filed.text or "").split("编号 ")[1].split("。")[0]
    case = await the_case(settings, alice, number)
    assert (case.category, case.problem) == ("scam", "contact")
    assert case.answers["scammer"] == f"客服小王 (id {scammer.id})"
    [evidence] = case.evidence
    assert evidence.kind == "forward" and evidence.text == text
    assert evidence.meta["sender_id"] == str(scammer.id)


async def test_check_command_fine_and_another(settings: Settings) -> None:
    fake = FakeBotAPI()
    alice = fake.add_user("Alice")
    chat = Chat(fake, alice)
    async with running_bot(fake, settings):
        await chat.say(
            "/check 【某某银行】您尾号1234的卡11月3日消费人民币256.00元，余额1,024.00元。", ""
        )
        await chat.choose("👌 没问题", "随时发给我")
        await chat.say("/check", "把可疑的短信或消息发给我")
        await chat.say("退订", "")  # after "send me one", even a short text is checked
        answer = chat.user.received[-1]
        assert answer.button_labels == BUTTONS
        await chat.choose("🔍 再查一条", "把可疑的短信或消息发给我")


async def test_a_screenshot_is_read_and_checked(settings: Settings) -> None:
    pytest.importorskip("rapidocr_onnxruntime")
    fake = FakeBotAPI()
    alice = fake.add_user("Alice")
    chat = Chat(fake, alice)
    async with running_bot(fake, settings):
        alice.send_photo((DATA / "sms-fraud.png").read_bytes())
        verdict = await chat.expect("我从截图里认出的文字", timeout=OCR_WAIT)
    text = verdict.text or ""
    assert "医保卡已被冻结" in text and "nhsa-gov.cn.xyz" in text
    assert "诈骗" in text
    assert "认错了？" in text


async def test_without_ocr_a_screenshot_gets_a_clear_answer(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.app.load_reader", lambda: None)
    fake = FakeBotAPI()
    alice = fake.add_user("Alice")
    chat = Chat(fake, alice)
    async with running_bot(fake, settings):
        alice.send_photo((DATA / "sms-fraud.png").read_bytes())
        await chat.expect("没法识别图片里的文字")
        await chat.say(FRAUD, "诈骗")  # text still works


async def test_a_stale_verdict_button_expires(settings: Settings) -> None:
    fake = FakeBotAPI()
    alice = fake.add_user("Alice")
    chat = Chat(fake, alice)
    async with running_bot(fake, settings):
        first = await chat.say(FRAUD, "诈骗")
        await chat.say("兼职刷单，日结佣金300元，点赞关注即可", "诈骗")
        alice.press(first, label="📝 投诉这条消息", check=False)
        await chat.expect("这个选项已经过期了")


async def test_an_album_of_screenshots_is_one_verdict_and_one_case(settings: Settings) -> None:
    pytest.importorskip("rapidocr_onnxruntime")
    fake = FakeBotAPI()
    alice = fake.add_user("Alice")
    chat = Chat(fake, alice)
    screenshots = [
        (DATA / "sms-fraud.png").read_bytes(),
        (DATA / "sms-marketing.png").read_bytes(),
    ]
    async with running_bot(fake, settings):
        alice.send_album(screenshots)
        verdict = await chat.expect("你发来的 2 条消息", timeout=OCR_WAIT)
        await fake.settle(quiet=0.5)
        assert len([m for m in alice.received if m.text]) == 1
        assert verdict.button_labels == BUTTONS
        await chat.choose("📝 投诉这条消息", "大概从哪天开始")
    state = await conversation(settings, alice)
    assert state.flow_id == "sms"
    # Both screenshots are the case's evidence, with the text read from each.
    evidence = state.answers["evidence"]
    assert [e["kind"] for e in evidence] == ["photo", "photo"]


async def test_a_burst_is_also_read_as_one_conversation(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The rules' reading of the burst: the learned model alone already calls each message fraud.
    monkeypatch.setattr("bot.analysis._with_model", lambda verdict, found, text: (verdict, found))
    fake = FakeBotAPI()
    alice = fake.add_user("Alice")
    son = fake.add_user("儿子")
    chat = Chat(fake, alice)
    async with running_bot(fake, settings):
        alice.forward(origin_user(son), text="妈，我换了个新号，旧号不用了，存一下这个号")
        alice.forward(origin_user(son), text="明天之前帮我转2000过来，急用，回头跟你说")
        verdict = await chat.expect("你发来的 2 条消息")
    text = verdict.text or ""
    assert "⚠️ 连起来看：可能是诈骗" in text
    assert "110" in text  # the fraud advice, though neither message alone was called fraud


async def test_a_crafted_long_message_is_checked_and_others_are_answered_meanwhile(
    settings: Settings,
) -> None:
    fake = FakeBotAPI()
    mallory, bob = fake.add_user("Mallory"), fake.add_user("Bob")
    attacker, other = Chat(fake, mallory), Chat(fake, bob)
    async with running_bot(fake, settings):
        for _ in range(3):
            mallory.send_text("1." * 2048)  # the worst input the probe found, as fast as sent
        bob.send_command("help")
        await other.expect("/cases")
        await other.say(FRAUD, "诈骗")
        for _ in range(3):
            reply = await attacker.expect("消息太长，只检查了前 1,000 个字")
            assert reply.button_labels == BUTTONS
