"""The bots the benchmarks drive (ours, a bare PTB echo bot) and the walk they go through."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness import DEFAULT_TOKEN, BenchAPI, Step
from telegram import Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.app import telegram_application
from bot.config import Settings
from bot.messengers.telegram import MAX_CONCURRENT_UPDATES, keyboard
from flows.model import ConversationKey, Incoming, Reply

App = Application[Any, Any, Any, Any, Any, Any]

SMS = "短信：垃圾、诈骗、收不到验证码"
SMS_TEXT = "【某某商城】积分即将清零，点击 t.cn/xyz 兑换 回T退订"

# The SMS intake, from /start to a filed case: eleven questions (two optional ones skipped), one
# photo as evidence, one remedy.
SMS_WALK = (
    Step("command", "start", "遇到了什么问题"),
    Step("press", SMS, "（1/11）"),
    Step("press", "垃圾 / 骚扰短信", "（2/11）"),
    Step("text", "10690123456789", "（3/11）"),
    Step("text", "昨天", "（4/11）"),
    Step("press", "每天都有", "（5/11）"),
    Step("text", SMS_TEXT, "（6/11）"),
    Step("press", "没有退订过", "（7/11）"),
    Step("press", "跳过", "（8/11）"),
    Step("press", "中国移动", "（9/11）"),
    Step("press", "跳过", "（10/11）"),
    Step("photo", "", "已收到 1 份"),
    Step("press", "完成", "（11/11）"),
    Step("toggle", "停止给我发短信", "✅ 停止给我发短信"),
    Step("press", "完成", "请核对你的投诉"),
    Step("press", "提交投诉", "投诉已提交"),
)


def settings_for(folder: Path, **changes: Any) -> Settings:
    """Settings for our bot on the fake Bot API, its database and files under `folder`."""
    values: dict[str, Any] = {
        "telegram_token": DEFAULT_TOKEN,
        "storage_db_path": str(folder / "bot.sqlite3"),
        "storage_data_dir": str(folder / "files"),
        "log_level": "WARNING",
    }
    return Settings.defaults().replace(**{**values, **changes})


def our_bot(api: BenchAPI, settings: Settings, **options: Any) -> App:
    """Our Application on the fake; without the rate limiter unless `rate_limited=True`."""
    options.setdefault("rate_limited", False)
    return telegram_application(
        settings, request=api.make_request(), get_updates_request=api.make_request(), **options
    )


async def _echo_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Say back the text, or that a photo came."""
    message = update.message
    assert message is not None
    await message.reply_text(message.text or "photo")


async def _echo_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Acknowledge the press and say back its data."""
    query = update.callback_query
    assert query is not None and query.message is not None
    await query.answer()
    await context.bot.send_message(query.message.chat.id, query.data or "?")


class ReplayEngine:
    """Stands in for our engine: answers each person's n-th update with recorded replies.

    With it, our Telegram layer sends exactly the messages our bot sends (texts, keyboards,
    the edit that marks a pressed button) with no flow logic and no database: the ceiling for
    our bot's traffic on this harness.
    """

    def __init__(self, recorded: list[list[Reply]]) -> None:
        self.recorded = recorded
        self.done: dict[ConversationKey, int] = {}

    async def handle(self, incoming: Incoming) -> list[Reply]:
        """Return the replies recorded for this person's next step."""
        index = self.done.get(incoming.key, 0)
        self.done[incoming.key] = index + 1
        return self.recorded[index]


def fewest_messages(recorded: list[list[Reply]], walk: Sequence[Step]) -> list[list[Reply]]:
    """Each step's replies as the fewest calls any intake on Telegram could make.

    One message per step: the step's texts joined, with the last buttons shown. A press
    edits the pressed message in place (answer the press + one edit), as a menu bot does.
    """
    fewest: list[list[Reply]] = []
    for step, replies in zip(walk, recorded, strict=True):
        texts = [r.text for r in replies if r.text]
        buttons = next((r.buttons for r in reversed(replies) if r.buttons), ())
        in_place = step.kind in ("press", "toggle")
        fewest.append([Reply("\n\n".join(texts), buttons, edit=in_place)] if texts else [])
    return fewest


class RecordingEngine:
    """Wraps our engine and keeps every reply it gives, in order."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.recorded: list[list[Reply]] = []

    async def handle(self, incoming: Incoming) -> list[Reply]:
        """Answer with our engine, and keep the answer."""
        replies: list[Reply] = await self.engine.handle(incoming)
        self.recorded.append(replies)
        return replies


def services_of(app: App) -> Any:
    """Return the running Services of our Application (after post_init)."""
    return app.bot_data["services_holder"]["services"]


def fewest_bot(api: BenchAPI, recorded: list[list[Reply]], walk: Sequence[Step]) -> App:
    """A bare PTB bot answering each step of `walk` with the fewest calls any intake could make.

    One message per step (the step's recorded texts joined, the last buttons shown); a press is
    answered and its message edited in place. No flow logic, no storage, none of our code.
    """
    fewest = fewest_messages(recorded, walk)
    done: dict[int, int] = {}

    def next_reply(user_id: int) -> Reply:
        index = done.get(user_id, 0)
        done[user_id] = index + 1
        return fewest[index][0]

    async def on_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None and update.effective_user is not None
        reply = next_reply(update.effective_user.id)
        await update.message.reply_text(reply.text, reply_markup=keyboard(reply))

    async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None and update.effective_user is not None
        reply = next_reply(update.effective_user.id)
        await query.answer()
        await query.edit_message_text(reply.text, reply_markup=keyboard(reply))

    app = _bare(api)
    app.add_handler(MessageHandler(filters.ALL, on_message))
    app.add_handler(CallbackQueryHandler(on_button))
    return app


def _bare(api: BenchAPI) -> App:
    """A bare PTB Application on the fake, as concurrent as ours."""
    return (
        ApplicationBuilder()
        .token(api.token)
        .request(api.make_request())
        .get_updates_request(api.make_request())
        .concurrent_updates(MAX_CONCURRENT_UPDATES)
        .build()
    )


def echo_bot(api: BenchAPI) -> App:
    """A bare PTB bot that answers every update with one message, as concurrent as ours."""
    app = _bare(api)
    app.add_handler(MessageHandler(filters.ALL, _echo_message))
    app.add_handler(CallbackQueryHandler(_echo_button))
    return app
