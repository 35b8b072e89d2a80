"""A person's private chat with the bot on the real PTB Application, for Telegram tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fake_telegram import DEFAULT_TOKEN, FakeBotAPI, FakeUser, SentMessage, running_application

from bot.app import telegram_application
from bot.config import Settings
from flows.model import ConversationKey
from flows.records import CaseRecord, Conversation
from storage import SqliteStore

App = Any
SMS = "短信：垃圾、诈骗、收不到验证码"
WALLET = "钱包 / 支付：充值、提现、被盗"


def bot_settings(tmp_path: Path, **changes: Any) -> Settings:
    """Settings for a bot on the fake Bot API, its database and files under `tmp_path`."""
    return Settings.defaults().replace(
        telegram_token=DEFAULT_TOKEN,
        storage_db_path=str(tmp_path / "bot.sqlite3"),
        storage_data_dir=str(tmp_path / "data"),
        **changes,
    )


async def read_back(settings: Settings, fn: Callable[[SqliteStore], Any]) -> Any:
    """Open the bot's database on its own, run `fn` on it, close it."""
    store = await SqliteStore.open(settings.storage_db_path, settings.storage_data_dir)
    try:
        return await fn(store)
    finally:
        await store.close()


async def the_case(settings: Settings, user: FakeUser, number: str) -> CaseRecord:
    key = ConversationKey("telegram", str(user.id))
    case = await read_back(settings, lambda s: s.get_case(key, number))
    assert case is not None
    return case


async def conversation(settings: Settings, user: FakeUser) -> Conversation:
    key = ConversationKey("telegram", str(user.id))
    found = await read_back(settings, lambda s: s.load_conversation(key))
    assert found is not None
    return found


@asynccontextmanager
async def running_bot(fake: FakeBotAPI, settings: Settings, **options: Any) -> AsyncIterator[App]:
    app = telegram_application(
        settings, request=fake.make_request(), get_updates_request=fake.make_request(), **options
    )
    async with running_application(app, allowed_updates=["message", "callback_query"]):
        yield app


class Chat:
    """One person's private chat with the bot, step by step."""

    def __init__(self, fake: FakeBotAPI, user: FakeUser) -> None:
        self.fake = fake
        self.user = user
        self.seen = 0

    def _new(self) -> list[SentMessage]:
        return self.user.received[self.seen :]

    async def expect(self, text: str, *, timeout: float = 5.0) -> SentMessage:  # noqa: ASYNC109
        """Wait for a new bot message containing `text`; everything up to it counts as read."""

        def found() -> bool:
            return any(text in (m.text or "") for m in self._new())

        await self.fake.wait_until(
            found,
            timeout=timeout,
            description=lambda: f"a message with {text!r}; got {[m.text for m in self._new()]}",
        )
        new = self._new()
        index = next(i for i, m in enumerate(new) if text in (m.text or ""))
        self.seen += index + 1
        return new[index]

    async def say(self, text: str, expect: str) -> SentMessage:
        if text.startswith("/"):
            command, _, args = text.partition(" ")
            self.user.send_command(command, args)
        else:
            self.user.send_text(text)
        return await self.expect(expect)

    def button(self, label: str) -> SentMessage:
        """The newest bot message that has a button whose label contains `label`."""
        for message in reversed(self.user.received):
            if any(label in shown for shown in message.button_labels):
                return message
        raise AssertionError(f"no message has a button {label!r}")

    def press(self, label: str) -> SentMessage:
        message = self.button(label)
        exact = next(shown for shown in message.button_labels if label in shown)
        self.user.press(message, label=exact)
        return message

    async def choose(self, label: str, expect: str) -> SentMessage:
        self.press(label)
        return await self.expect(expect)


SMS_TEXT = "【某某商城】积分即将清零，点击 t.cn/xyz 兑换 回T退订"


async def walk_sms_to_evidence(chat: Chat, content: str = SMS_TEXT) -> None:
    """Walk the SMS spam intake up to its evidence step, with `content` as the message text."""
    await chat.say("/start", "遇到了什么问题")
    await chat.choose(SMS, "（1/11）")
    await chat.choose("垃圾 / 骚扰短信", "（2/11）")
    await chat.say("10690123456789", "（3/11）")
    await chat.say("昨天", "（4/11）")
    await chat.choose("每天都有", "（5/11）")
    await chat.say(content, "（6/11）")
    await unsubscribed_to_evidence(chat)


async def unsubscribed_to_evidence(chat: Chat) -> None:
    """From the unsubscribe question (6/11): "yes, still coming", China Mobile, optional ones
    skipped, up to the evidence step (11/12)."""
    await chat.choose("退订过，但还在发", "（7/12）")
    await chat.choose("跳过", "（8/12）")  # the day they unsubscribed
    await chat.choose("跳过", "（9/12）")  # when and how many
    await chat.choose("中国移动", "（10/12）")
    await chat.choose("跳过", "（11/12）")  # the number that received them


async def finish_sms(chat: Chat, evidence: str = "完成") -> str:
    """From the evidence step: Done (or Skip), one remedy, Done, file. Returns the case number."""
    number, _ = await file_sms(chat, evidence)
    return number


async def file_sms(chat: Chat, evidence: str = "完成") -> tuple[str, SentMessage]:
    """Like `finish_sms`, also returning the bot's "filed" message."""
    await chat.choose(evidence, "（12/12）")
    question = chat.press("停止给我发短信")
    await chat.fake.wait_until(
        lambda: (
            "✅ 停止给我发短信"
            in chat.fake.sent_message(chat.user.id, question.message_id).button_labels
        )
    )
    await chat.choose("完成", "请核对你的投诉")
    filed = await chat.choose("提交投诉", "投诉已提交，编号 TS-")
    assert filed.text is not None
    return filed.text.split("编号 ")[1].split("。")[0], filed
