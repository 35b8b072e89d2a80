"""2. Peer comparison: the same SMS intake written the idiomatic PTB way.

The peer is a `ConversationHandler` with one state per question and `PicklePersistence` with a
10 ms `update_interval`, so that every step is persisted (as ours commits every step). It asks
the same questions (shorter, and without checking the answers) with the same buttons, marks
pressed buttons the same way, stores the photo by its hash and files the case into `bot_data`:
the same walk drives both bots. Each runs with 1k and 100k conversations already stored (the
peer: people who filed a case, in its pickle; ours: the same, in SQLite).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import hashlib
import logging
import pickle
import shutil
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bots import SMS, SMS_TEXT, SMS_WALK, App, our_bot, settings_for
from dataset import cached
from harness import BenchAPI, Figures, data_dir, heading, verdict
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.ext import (
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    PicklePersistence,
    filters,
)
from telegram.warnings import PTBUserWarning
from throughput import walk_all

Context = ContextTypes.DEFAULT_TYPE
NAME = "intake"
# The questions, in order: (key, question, buttons or None for a typed answer).
QUESTIONS: list[tuple[str, str, list[str] | None]] = [
    (
        "category",
        "你好！遇到了什么问题？",
        [SMS, "骚扰电话", "钱包 / 支付", "加密货币平台", "其他"],
    ),
    ("problem", "（1/11） 具体是哪种情况？", ["垃圾 / 骚扰短信", "诈骗短信", "收不到验证码"]),
    ("sender", "（2/11） 是哪个号码发来的？", None),
    ("started", "（3/11） 从什么时候开始的？", None),
    ("frequency", "（4/11） 多久收到一次？", ["每天都有", "每周几次", "偶尔"]),
    ("content", "（5/11） 短信里写了什么？", None),
    ("td_reply", "（6/11） 回复过退订吗？", ["退订过，但还在发", "没有退订过"]),
    ("received", "（7/11） 收到多少条？", ["跳过"]),
    ("carrier", "（8/11） 你用的是哪家运营商？", ["中国移动", "中国联通", "中国电信"]),
    ("my_number", "（9/11） 收到短信的是哪个号码？", ["跳过"]),
    ("evidence", "（10/11） 请发截图或文件作为证据，发完点“完成”。", ["完成", "跳过"]),
]
REMEDIES = ["停止给我发短信", "删除我的号码", "道歉", "解释原因"]
SUMMARY, FILED = len(QUESTIONS), len(QUESTIONS) + 1
REMEDY_STATE = len(QUESTIONS) + 2


def _keyboard(labels: list[str], chosen: frozenset[str] = frozenset()) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(("✅ " if label in chosen else "") + label, callback_data=label)]
            for label in labels
        ]
    )


async def _ask(message: Message, index: int) -> int:
    _, question, buttons = QUESTIONS[index]
    await message.reply_text(question, reply_markup=_keyboard(buttons) if buttons else None)
    return index


async def _mark(update: Update) -> str:
    """Answer the press and note the choice under the question, as ours does."""
    query = update.callback_query
    assert query is not None and isinstance(query.message, Message)
    await query.answer()
    await query.edit_message_text(f"{query.message.text}\n\n→ {query.data}")
    return query.data or ""


async def start(update: Update, context: Context) -> int:
    """Greet and ask for the category."""
    assert update.message is not None and context.user_data is not None
    context.user_data.clear()
    return await _ask(update.message, 0)


def _step(index: int) -> Any:
    key = QUESTIONS[index][0]

    async def answer(update: Update, context: Context) -> int:
        """Keep the answer to question `index` and ask the next one."""
        assert context.user_data is not None
        if update.callback_query is not None:
            context.user_data[key] = await _mark(update)
            message = update.callback_query.message
        else:
            assert update.message is not None
            context.user_data[key] = update.message.text
            message = update.message
        assert isinstance(message, Message)
        return await _ask(message, index + 1)

    return answer


async def photo(update: Update, context: Context, folder: Path) -> int:
    """Download the photo, keep it by its hash, and say how many there are."""
    assert update.message is not None and context.user_data is not None
    file = await update.message.photo[-1].get_file()
    data = bytes(await file.download_as_bytearray())
    digest = hashlib.sha256(data).hexdigest()
    await asyncio.to_thread((folder / digest).write_bytes, data)
    files = context.user_data.setdefault("evidence", [])
    files.append(digest)
    await update.message.reply_text(
        f"已收到 {len(files)} 份，共 {len(files)} 份证据。", reply_markup=_keyboard(["完成"])
    )
    return QUESTIONS.index(QUESTIONS[-1])


async def evidence_done(update: Update, context: Context) -> int:
    """Ask for the remedies, several may be chosen."""
    await _mark(update)
    query = update.callback_query
    assert query is not None and isinstance(query.message, Message)
    await query.message.reply_text(
        "（11/11） 你希望对方怎么做？可以选几项，选好点“完成”。",
        reply_markup=_keyboard([*REMEDIES, "完成"]),
    )
    return REMEDY_STATE


async def toggle(update: Update, context: Context) -> int:
    """Tick or untick a remedy on the same message."""
    query = update.callback_query
    assert query is not None and context.user_data is not None
    chosen: set[str] = context.user_data.setdefault("remedies", set())
    chosen ^= {query.data or ""}
    await query.answer()
    await query.edit_message_reply_markup(_keyboard([*REMEDIES, "完成"], frozenset(chosen)))
    return REMEDY_STATE


async def remedies_done(update: Update, context: Context) -> int:
    """Show the summary with file / cancel."""
    await _mark(update)
    query = update.callback_query
    assert query is not None and isinstance(query.message, Message)
    assert context.user_data is not None
    lines = [f"{key}: {context.user_data.get(key)}" for key, _, _ in QUESTIONS]
    await query.message.reply_text(
        "请核对你的投诉：\n" + "\n".join(lines), reply_markup=_keyboard(["提交投诉", "取消"])
    )
    return SUMMARY


async def file_case(update: Update, context: Context) -> int:
    """File the case in bot_data and give its number."""
    await _mark(update)
    query = update.callback_query
    assert query is not None and isinstance(query.message, Message)
    assert context.user_data is not None
    cases: list[dict[str, Any]] = context.bot_data.setdefault("cases", [])
    cases.append(dict(context.user_data))
    await query.message.reply_text(f"投诉已提交，编号 TS-2026-{len(cases):06d}。")
    return ConversationHandler.END


def peer_bot(api: BenchAPI, folder: Path) -> App:
    """The intake as a ConversationHandler, persisted to one pickle file every 10 ms."""
    persistence = PicklePersistence(folder / "peer.pickle", update_interval=0.01)
    app = (
        ApplicationBuilder()
        .token(api.token)
        .request(api.make_request())
        .get_updates_request(api.make_request())
        .persistence(persistence)
        .build()
    )
    states: dict[object, list[Any]] = {}
    for index, (_, _, buttons) in enumerate(QUESTIONS[:-1]):
        if buttons:
            states[index] = [CallbackQueryHandler(_step(index))]
        else:
            states[index] = [MessageHandler(filters.TEXT & ~filters.COMMAND, _step(index))]
    states[len(QUESTIONS) - 1] = [
        MessageHandler(filters.PHOTO, functools.partial(photo, folder=folder / "files")),
        CallbackQueryHandler(evidence_done),
    ]
    states[REMEDY_STATE] = [
        CallbackQueryHandler(remedies_done, pattern="^完成$"),
        CallbackQueryHandler(toggle),
    ]
    states[SUMMARY] = [CallbackQueryHandler(file_case, pattern="^提交投诉$")]
    with warnings.catch_warnings():  # per_message=False is what a chat-driven intake wants
        warnings.simplefilter("ignore", PTBUserWarning)
        handler = ConversationHandler(
            entry_points=[CommandHandler("start", start)],
            states=states,
            fallbacks=[CommandHandler("start", start)],
            name=NAME,
            persistent=True,
        )
    app.add_handler(handler)
    (folder / "files").mkdir(exist_ok=True)
    return app


def stored_pickle(path: Path, conversations: int) -> None:
    """Write the peer's pickle with `conversations` people who filed a case, like ours."""
    answers = {key: None for key, _, _ in QUESTIONS}
    answers.update(
        category=SMS,
        problem="垃圾 / 骚扰短信",
        sender="10690123456789",
        started="昨天",
        frequency="每天都有",
        content=SMS_TEXT,
        td_reply="退订过，但还在发",
        carrier="中国移动",
        evidence=["9d4c" * 16],
        remedies={"停止给我发短信"},
    )
    first = 500_000_000
    data = {
        "user_data": {first + i: dict(answers) for i in range(conversations)},
        "chat_data": {},
        "bot_data": {"cases": [dict(answers) for _ in range(conversations)]},
        "conversations": {NAME: {(first + i, first + i): None for i in range(conversations)}},
        "callback_data": None,
    }
    with path.open("wb") as file:
        pickle.dump(data, file, protocol=pickle.HIGHEST_PROTOCOL)


async def run_peer(folder: Path, chats: int, walks: int) -> Figures:
    """Drive the peer through the walk."""
    api = BenchAPI()
    return await walk_all(
        api, peer_bot(api, folder), SMS_WALK, chats, walks, "PTB ConversationHandler", echo=False
    )


async def run_ours(path: Path, chats: int, walks: int) -> Figures:
    """Drive ours through the walk on `path`."""
    api = BenchAPI()
    app = our_bot(api, settings_for(path.parent, storage_db_path=str(path)))
    return await walk_all(api, app, SMS_WALK, chats, walks, "complaint-bot", echo=False)


def main(argv: Sequence[str] | None = None) -> bool:
    """Run the benchmark, print its figures; return whether the target holds."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 100_000])
    parser.add_argument("--chats", type=int, default=10, help="people at once (10)")
    parser.add_argument("--walks", type=int, default=1, help="intakes each (1)")
    parser.add_argument("--quick", action="store_true", help="100 and 1,000 stored, 3 chats")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.chats = [100, 1_000], 3
    logging.basicConfig(level=logging.WARNING)
    heading(
        f"2. peer: the intake as ConversationHandler + PicklePersistence, {args.chats} chats"
        f" at once, {args.walks} intake(s) each, {len(SMS_WALK)} updates per intake"
    )
    folder = data_dir("peer")
    ratio = 0.0
    for size in args.sizes:
        with tempfile.TemporaryDirectory(dir=folder) as tmp:
            scratch = Path(tmp)
            stored_pickle(scratch / "peer.pickle", size)
            peer = asyncio.run(run_peer(scratch, args.chats, args.walks))
            ours_db = scratch / "bot.sqlite3"
            shutil.copyfile(asyncio.run(cached(size)), ours_db)
            ours = asyncio.run(run_ours(ours_db, args.chats, args.walks))
        ratio = ours.rate / peer.rate
        print(f"-- {size:,} conversations stored")
        print(peer.line())
        print(ours.line())
        print(f"ours / peer = {ratio:.2f}")
    holds = ratio > 1.0
    print(f"ours faster at {args.sizes[-1]:,} stored: {verdict(holds)}")
    return holds


if __name__ == "__main__":
    main()
