"""The fake Bot API, proven against a real python-telegram-bot ``Application``."""

from __future__ import annotations

import asyncio
import datetime as dtm
import json
from typing import Any

import httpx
import pytest
from fake_telegram import (
    TINY_PNG,
    FakeBotAPI,
    FakeBotAPIServer,
    FakeUser,
    HttpResponse,
    InProcessRequest,
    make_png,
    origin_channel,
    origin_chat,
    origin_hidden_user,
    origin_user,
    running_application,
)
from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MessageOriginChannel,
    MessageOriginChat,
    MessageOriginHiddenUser,
    MessageOriginUser,
    ReplyParameters,
    TelegramObject,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

pytest_plugins = ["fake_telegram.pytest_plugin"]

App = Application[Any, Any, Any, Any, Any, Any]
Ctx = ContextTypes.DEFAULT_TYPE

COMMANDS = [BotCommand("start", "开始投诉"), BotCommand("help", "帮助")]


# --------------------------------------------------------------------------- the test bot


def build_test_app(builder: ApplicationBuilder[Any, Any, Any, Any, Any, Any]) -> App:
    """A small but real bot: echo, /start with buttons, callbacks, downloads, uploads."""

    async def post_init(application: App) -> None:
        await application.bot.set_my_commands(COMMANDS)

    app = builder.post_init(post_init).build()
    app.bot_data["updates"] = []
    app.bot_data["downloads"] = []

    async def record(update: Update, context: Ctx) -> None:
        context.bot_data["updates"].append(update)

    async def start(update: Update, context: Ctx) -> None:
        assert update.message is not None
        keyboard = InlineKeyboardMarkup(
            [[InlineKeyboardButton("是", callback_data="vote:yes")],
             [InlineKeyboardButton("否", callback_data="vote:no")]]
        )  # fmt: skip
        await update.message.reply_text(
            f"<b>欢迎</b> args={context.args}", parse_mode=ParseMode.HTML, reply_markup=keyboard
        )

    async def echo(update: Update, context: Ctx) -> None:
        assert update.message is not None and update.message.text is not None
        await update.message.reply_text(f"echo: {update.message.text}")

    async def on_button(update: Update, context: Ctx) -> None:
        query = update.callback_query
        assert query is not None and query.data is not None
        await query.answer(f"收到 {query.data}")
        await query.edit_message_text(f"你选择了 {query.data.split(':')[1]}")

    async def on_photo(update: Update, context: Ctx) -> None:
        assert update.message is not None
        if update.message.media_group_id:
            return
        largest = update.message.photo[-1]
        data = await (await context.bot.get_file(largest.file_id)).download_as_bytearray()
        context.bot_data["downloads"].append(bytes(data))
        await update.message.reply_text(f"photo {len(data)} bytes")

    async def on_document(update: Update, context: Ctx) -> None:
        assert update.message is not None and update.message.document is not None
        if update.message.media_group_id:
            return
        file = await context.bot.get_file(update.message.document.file_id)
        data = await file.download_as_bytearray()
        context.bot_data["downloads"].append(bytes(data))
        await update.message.reply_document(
            document=b"receipt for " + bytes(data),
            filename="回执.txt",
            caption="已收到",
        )

    app.add_handler(TypeHandler(Update, record), group=-1)
    app.add_handler(CommandHandler("start", start))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND & ~filters.FORWARDED, echo))
    app.add_handler(CallbackQueryHandler(on_button))
    app.add_handler(MessageHandler(filters.PHOTO & ~filters.FORWARDED, on_photo))
    app.add_handler(MessageHandler(filters.Document.ALL, on_document))
    return app


@pytest.fixture
def fake(fake_telegram: FakeBotAPI) -> FakeBotAPI:
    return fake_telegram


@pytest.fixture
def alice(fake: FakeBotAPI) -> FakeUser:
    return fake.add_user("Alice", username="alice", language_code="zh-hans")


@pytest.fixture
def app(fake: FakeBotAPI) -> App:
    return build_test_app(fake.application_builder())


def updates_seen(app: App) -> list[Update]:
    updates: list[Update] = app.bot_data["updates"]
    return updates


def unknown_fields(obj: object, path: str = "update") -> list[str]:
    """Fields PTB did not recognise (they land in ``api_kwargs``): a realism check."""
    found: list[str] = []
    if isinstance(obj, Bot):
        return found
    if isinstance(obj, TelegramObject):
        if obj.api_kwargs:
            found.append(f"{path}: {sorted(obj.api_kwargs)}")
        for key, value in obj._get_attrs(include_private=True).items():
            if key != "_bot":
                found += unknown_fields(value, f"{path}.{key}")
    elif isinstance(obj, list | tuple):
        for index, item in enumerate(obj):
            found += unknown_fields(item, f"{path}[{index}]")
    return found


# ------------------------------------------------------------------------- conversations


async def test_text_round_trip(fake: FakeBotAPI, alice: FakeUser, app: App) -> None:
    async with running_application(app):
        sent = alice.send_text("我收到了诈骗短信")
        [reply] = await fake.wait_for_sent(alice.id, 1)
        await fake.settle(quiet=0.05)  # nothing else is coming
    assert len(fake.sent_to(alice.id)) == 1

    assert reply.text == "echo: 我收到了诈骗短信"
    assert reply.raw["from"]["id"] == fake.bot_id
    assert reply.raw["from"]["is_bot"] is True
    assert reply.raw["chat"] == {"id": alice.id, "type": "private", "first_name": "Alice",
                                 "username": "alice"}  # fmt: skip
    assert reply.message_id == sent["message"]["message_id"] + 1  # one id sequence per chat
    assert isinstance(reply.raw["date"], int)
    [update] = updates_seen(app)
    assert update.effective_user is not None
    assert update.effective_user.language_code == "zh-hans"
    methods = [call.method for call in fake.calls()]
    assert methods[:4] == ["getMe", "setMyCommands", "deleteWebhook", "getUpdates"]
    assert fake.calls("sendmessage")[0].params == {"chat_id": alice.id, "text": reply.text}
    assert not fake.pending_updates  # confirmed by the next getUpdates offset
    assert asyncio.all_tasks() == {asyncio.current_task()}  # nothing left running


async def test_command_with_args_and_html(fake: FakeBotAPI, alice: FakeUser, app: App) -> None:
    async with running_application(app):
        update = alice.send_command("start", "ref_42")
        reply = await alice.next_reply()

    assert update["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    assert reply.text == "欢迎 args=['ref_42']"  # HTML removed, like the user sees it
    assert reply.source_text == "<b>欢迎</b> args=['ref_42']"
    assert reply.entities == [{"type": "bold", "offset": 0, "length": 2}]
    assert reply.buttons == [[("是", "vote:yes")], [("否", "vote:no")]]


async def test_button_press_answers_and_edits(fake: FakeBotAPI, alice: FakeUser, app: App) -> None:
    async with running_application(app):
        alice.send_command("start")
        menu = await alice.next_reply()
        press = alice.press(menu, label="否")
        await fake.wait_for_calls("editMessageText")

    [answer_call] = fake.calls("answerCallbackQuery")
    assert answer_call.params["callback_query_id"] == press["callback_query"]["id"]
    answer = fake.callback_answer(press)
    assert answer is not None and answer.text == "收到 vote:no" and not answer.show_alert
    edited = fake.last_message(alice.id)
    assert edited.message_id == menu.message_id
    assert edited.text == "你选择了 no"
    assert edited.buttons == []  # editMessageText without reply_markup drops the keyboard
    assert edited.history[0]["text"].startswith("欢迎")
    assert "edit_date" in edited.raw
    callback = updates_seen(app)[-1].callback_query
    assert callback is not None and callback.message is not None
    assert callback.message.message_id == menu.message_id
    assert callback.from_user.id == alice.id
    with pytest.raises(AssertionError, match="no button"):
        alice.press(edited, "vote:yes")  # the keyboard is gone


async def test_photo_download_returns_registered_bytes(
    fake: FakeBotAPI, alice: FakeUser, app: App
) -> None:
    image = make_png(64, 48)
    async with running_application(app):
        update = alice.send_photo(image, caption="截图")
        reply = await alice.next_reply()

    sizes = update["message"]["photo"]
    assert len(sizes) >= 2
    assert len({size["file_id"] for size in sizes}) == len(sizes)
    assert (sizes[-1]["width"], sizes[-1]["height"]) == (64, 48)
    assert app.bot_data["downloads"] == [image]
    assert reply.text == f"photo {len(image)} bytes"
    [get_file] = fake.calls("getFile")
    assert get_file.result["file_path"].startswith("photos/")


async def test_document_download_and_upload(fake: FakeBotAPI, alice: FakeUser, app: App) -> None:
    async with running_application(app):
        alice.send_document(b"%PDF-1.4 evidence", file_name="证据.pdf", caption="转账记录")
        reply = await alice.next_reply()

    assert app.bot_data["downloads"] == [b"%PDF-1.4 evidence"]
    assert reply.method == "sendDocument"
    assert reply.text == "已收到"
    assert reply.document is not None
    assert reply.document.content == b"receipt for %PDF-1.4 evidence"
    assert reply.document.file_name == "回执.txt"
    assert reply.document.mime_type == "text/plain"
    [upload] = fake.calls("sendDocument")
    assert upload.files["document"].content == b"receipt for %PDF-1.4 evidence"
    assert "document" not in upload.params  # the file travelled as a multipart part
    assert reply.raw["document"]["file_size"] == len(reply.document.content)


async def test_album_arrives_as_separate_updates(
    fake: FakeBotAPI, alice: FakeUser, app: App
) -> None:
    async with running_application(app):
        built = alice.send_album([make_png(2, 2), make_png(3, 3), make_png(4, 4)], caption="三张图")
        await fake.wait_until(lambda: len(updates_seen(app)) == 3, description="3 updates")

    messages = [update.message for update in updates_seen(app)]
    assert all(message is not None for message in messages)
    group_ids = {message.media_group_id for message in messages if message is not None}
    assert group_ids == {built[0]["message"]["media_group_id"]}
    assert [m.caption for m in messages if m is not None] == ["三张图", None, None]
    assert [u.update_id for u in updates_seen(app)] == [u["update_id"] for u in built]


async def test_forward_origins_parse_into_ptb_classes(
    fake: FakeBotAPI, alice: FakeUser, app: App
) -> None:
    bob = fake.add_user("Bob", username="bob")
    async with running_application(app):
        alice.forward(origin_user(bob), text="转发的短信")
        alice.forward(origin_hidden_user("神秘人"), text="隐藏用户")
        alice.forward(origin_chat(-1001234, "业主群", author_signature="管理员"), text="群消息")
        alice.forward(
            origin_channel(-1009876, "反诈频道", 77, username="fanzha"),
            photo=TINY_PNG,
            caption="图",
        )
        await fake.wait_until(lambda: len(updates_seen(app)) == 4, description="4 forwards")

    origins = [u.message.forward_origin for u in updates_seen(app) if u.message is not None]
    assert [type(origin) for origin in origins] == [
        MessageOriginUser,
        MessageOriginHiddenUser,
        MessageOriginChat,
        MessageOriginChannel,
    ]
    user_origin, hidden, chat_origin, channel = origins
    assert isinstance(user_origin, MessageOriginUser) and user_origin.sender_user.id == bob.id
    assert isinstance(hidden, MessageOriginHiddenUser) and hidden.sender_user_name == "神秘人"
    assert isinstance(chat_origin, MessageOriginChat)
    assert chat_origin.sender_chat.title == "业主群"
    assert chat_origin.author_signature == "管理员"
    assert isinstance(channel, MessageOriginChannel) and channel.message_id == 77
    assert channel.chat.username == "fanzha"
    last = updates_seen(app)[-1].message
    assert last is not None and last.photo and last.caption == "图"
    assert fake.sent_to(alice.id) == []  # forwarded texts/photos are filtered out by the test bot


async def test_every_builder_yields_updates_ptb_fully_understands(
    fake: FakeBotAPI, alice: FakeUser
) -> None:
    bob = fake.add_user("Bob")
    async with fake.make_bot() as bot:
        menu = await bot.send_message(
            alice.id,
            "菜单",
            reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]]),
        )
        built = [
            alice.send_text("见 https://example.com 或邮件 a@b.cn /help"),
            alice.send_command("start"),
            alice.press(menu.message_id, "a"),
            alice.send_photo(caption="x"),
            *alice.send_album([b"1", b"2"], kind="document"),
            alice.send_document(b"doc", file_name="a.txt", mime_type="text/plain"),
            alice.forward(origin_user(bob), text="t"),
            alice.forward(origin_hidden_user("h"), photo=TINY_PNG),
            alice.forward(origin_chat(-1001, "g"), text="t"),
            alice.forward(origin_channel(-1002, "c", 5), text="t"),
            alice.send_voice(),
            alice.send_video(),
            alice.send_sticker(),
            alice.send_location(),
            alice.send_contact(),
        ]
        built.append(alice.edit_text(built[0], "改过的"))
        fetched = await bot.get_updates(timeout=0)

    assert [u.update_id for u in fetched] == [u["update_id"] for u in built]
    for update in fetched:
        assert unknown_fields(update) == [], update.to_dict()
    first = fetched[0].message
    assert first is not None
    assert [e.type for e in first.entities] == ["url", "email", "bot_command"]
    assert first.parse_entities() == {
        first.entities[0]: "https://example.com",
        first.entities[1]: "a@b.cn",
        first.entities[2]: "/help",
    }
    kinds = [fetched[i].message for i in range(-6, -1)]
    assert [m is not None and m.effective_attachment is not None for m in kinds[:3]] == [True] * 3
    assert kinds[3] is not None and kinds[3].location is not None
    assert kinds[4] is not None and kinds[4].contact is not None
    assert fetched[-1].edited_message is not None
    assert fetched[-1].edited_message.text == "改过的"


async def test_set_my_commands_recorded(fake: FakeBotAPI, app: App) -> None:
    async with running_application(app):
        pass
    [call] = fake.calls("setMyCommands")
    assert call.params["commands"] == [c.to_dict() for c in COMMANDS]
    assert fake.commands() == [c.to_dict() for c in COMMANDS]
    async with fake.make_bot() as bot:
        assert await bot.get_my_commands() == tuple(COMMANDS)
        assert await bot.get_my_commands(language_code="en") == ()
        await bot.delete_my_commands()
    assert fake.commands() == []


async def test_other_bot_methods(fake: FakeBotAPI, alice: FakeUser) -> None:
    image = make_png(320, 200)
    big = alice.send_document(b"tiny", file_name="huge.mp4", file_size=25 * 1024 * 1024)
    async with fake.make_bot() as bot:
        photo_msg = await bot.send_photo(alice.id, image, caption="<i>图</i>", parse_mode="HTML")
        assert photo_msg.caption == "图" and photo_msg.photo[-1].width == 320
        data = await (await bot.get_file(photo_msg.photo[-1].file_id)).download_as_bytearray()
        assert bytes(data) == image
        with pytest.raises(BadRequest, match="Image_process_failed"):
            await bot.send_photo(alice.id, b"not an image")
        with pytest.raises(BadRequest, match="Type of file mismatch"):
            await bot.send_document(alice.id, photo_msg.photo[-1].file_id)
        with pytest.raises(BadRequest, match="File is too big"):
            await bot.get_file(big["message"]["document"]["file_id"])

        doc_id = big["message"]["document"]["file_id"]
        resent = await bot.send_document(alice.id, doc_id)  # by file_id, no upload
        assert resent.document is not None and resent.document.file_id == doc_id

        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]])
        menu = await bot.send_message(alice.id, "菜单", reply_markup=keyboard)
        await bot.edit_message_reply_markup(alice.id, menu.message_id)
        assert fake.sent_message(alice.id, menu.message_id).buttons == []
        with pytest.raises(BadRequest, match="Message can't be edited"):
            await bot.edit_message_text("x", alice.id, big["message"]["message_id"])
        with pytest.raises(BadRequest, match="Button_data_invalid"):
            too_long = InlineKeyboardButton("B", callback_data="x" * 65)
            await bot.send_message(alice.id, "y", reply_markup=InlineKeyboardMarkup([[too_long]]))

        assert await bot.send_chat_action(alice.id, "typing")
        with pytest.raises(BadRequest, match="Wrong parameter action"):
            await bot.send_chat_action(alice.id, "dancing")
        assert await bot.delete_message(alice.id, menu.message_id)
        with pytest.raises(BadRequest, match="Message to delete not found"):
            await bot.delete_message(alice.id, menu.message_id)
        reply = await bot.send_message(
            alice.id, "回复", reply_parameters=ReplyParameters(big["message"]["message_id"])
        )
        assert reply.reply_to_message is not None
        assert reply.reply_to_message.document is not None
        assert await bot.close() and fake.closed

    assert fake.sent_message(alice.id, menu.message_id).deleted
    assert [m.method for m in fake.sent_to(alice.id)] == [
        "sendPhoto",
        "sendDocument",
        "sendMessage",
        "sendMessage",
    ]
    assert "bot deleted #" in "\n".join(fake.transcript(alice.id))


async def test_wait_for_sent_timeout_shows_the_transcript(
    fake: FakeBotAPI, alice: FakeUser
) -> None:
    alice.send_text("有人吗")
    async with fake.make_bot() as bot:
        await bot.send_message(alice.id, "只有一条")
    with pytest.raises(AssertionError, match=r"(?s)the bot sent 1.*user Alice: 有人吗.*只有一条"):
        await fake.wait_for_sent(alice.id, 2, timeout=0.05)


@pytest.mark.parametrize(
    ("text", "parse_mode", "plain", "entities"),
    [
        ("<b>粗</b> &amp; <a href='https://x.cn'>链</a>", "HTML", "粗 & 链",
         [("bold", 0, 1), ("text_link", 4, 1)]),
        ("😀 <i>é</i>", "HTML", "😀 é", [("italic", 3, 1)]),  # emoji = 2 UTF-16 units
        ("*粗* _斜_ 1\\.5 [链](https://x.cn)", "MarkdownV2", "粗 斜 1.5 链",
         [("bold", 0, 1), ("italic", 2, 1), ("text_link", 8, 1)]),
        ("  padded  ", None, "padded", []),
    ],
)  # fmt: skip
async def test_formatting_matches_telegram(
    fake: FakeBotAPI,
    alice: FakeUser,
    text: str,
    parse_mode: str | None,
    plain: str,
    entities: list[tuple[str, int, int]],
) -> None:
    async with fake.make_bot() as bot:
        message = await bot.send_message(alice.id, text, parse_mode=parse_mode)
    assert message.text == plain
    assert [(e.type, e.offset, e.length) for e in message.entities] == entities


# ----------------------------------------------------------------------------- faults


async def test_blocked_user_raises_forbidden(fake: FakeBotAPI, alice: FakeUser) -> None:
    alice.block_bot()
    async with fake.make_bot() as bot:
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await bot.send_message(alice.id, "hello")
        updates = await bot.get_updates()
        member = updates[0].my_chat_member
        assert member is not None and member.new_chat_member.status == "kicked"
        alice.unblock_bot()
        assert await bot.send_message(alice.id, "welcome back")
        # the unblock notice is dropped for a bot that only asks for messages and callbacks
        offset = updates[-1].update_id + 1
        assert await bot.get_updates(offset, allowed_updates=["message", "callback_query"]) == ()
    call = fake.calls("sendMessage")[0]
    assert call.status == 403
    assert call.response == {
        "ok": False,
        "error_code": 403,
        "description": "Forbidden: bot was blocked by the user",
    }


async def test_rate_limit_raises_retry_after(
    fake: FakeBotAPI, alice: FakeUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # else .retry_after emits a deprecation warning
    fake.set_rate_limit(3, retry_after=7)
    async with fake.make_bot() as bot:
        for index in range(3):
            await bot.send_message(alice.id, f"#{index}")
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(alice.id, "one too many")
        await bot.send_chat_action(alice.id, "typing")  # other methods are not limited
    assert caught.value.retry_after == dtm.timedelta(seconds=7)
    assert fake.calls("sendMessage")[-1].response == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 7",
        "parameters": {"retry_after": 7},
    }
    assert len(fake.sent_to(alice.id)) == 3


async def test_server_errors_and_bad_requests(fake: FakeBotAPI, alice: FakeUser) -> None:
    fake.fail_next(1, status=500, methods=["sendMessage"])
    async with fake.make_bot() as bot:
        fake.fail_next(1, status=502)  # any method but getUpdates; getMe has already run
        with pytest.raises(NetworkError, match="Internal Server Error"):
            await bot.send_message(alice.id, "a")
        with pytest.raises(NetworkError, match=r"Bad Gateway \(502\)"):
            await bot.send_message(alice.id, "b")
        sent = await bot.send_message(alice.id, "c")
        with pytest.raises(BadRequest, match="Can't parse entities: unsupported start tag"):
            await bot.send_message(alice.id, "1 < 2", parse_mode=ParseMode.HTML)
        with pytest.raises(BadRequest, match=r"character '\.' is reserved"):
            await bot.send_message(alice.id, "done.", parse_mode=ParseMode.MARKDOWN_V2)
        with pytest.raises(BadRequest, match="Message is not modified"):
            await bot.edit_message_text("c", alice.id, sent.message_id)
        with pytest.raises(BadRequest, match="Chat not found"):
            await bot.send_message(424242, "nobody")
        with pytest.raises(BadRequest, match="Message is too long"):
            await bot.send_message(alice.id, "长" * 4097)
        with pytest.raises(BadRequest, match="Message to be replied not found"):
            await bot.send_message(alice.id, "x", reply_parameters=ReplyParameters(999))
    assert fake.calls("sendMessage")[1].response is None  # nginx HTML page, not JSON
    assert fake.texts(alice.id) == ["c"]
    unknown = await fake.call("sendTelepathy", {"chat_id": alice.id})
    assert (unknown.status, unknown.json()["description"]) == (404, "Not Found: method not found")


async def test_get_updates_offset_limit_long_poll_and_redelivery(
    fake: FakeBotAPI, alice: FakeUser
) -> None:
    first, second, third = (alice.send_text(t) for t in ("一", "二", "三"))
    async with fake.make_bot() as bot:
        batch = await bot.get_updates(limit=2)
        assert [u.update_id for u in batch] == [first["update_id"], second["update_id"]]
        batch = await bot.get_updates(offset=second["update_id"] + 1)
        assert [u.update_id for u in batch] == [third["update_id"]]

        loop = asyncio.get_running_loop()
        started = loop.time()
        assert await bot.get_updates(offset=third["update_id"] + 1, timeout=1) == ()
        assert loop.time() - started >= 0.9  # a real long poll

        poll = asyncio.create_task(bot.get_updates(offset=third["update_id"] + 1, timeout=5))
        await asyncio.sleep(0.05)
        fresh = alice.send_text("四")
        [woken] = await asyncio.wait_for(poll, 1)
        assert woken.update_id == fresh["update_id"]

        fake.enqueue(fresh)  # redelivery of an already confirmed update
        [again] = await bot.get_updates(offset=fresh["update_id"] + 1)
        assert again.update_id == fresh["update_id"]
        assert await bot.get_updates(offset=fresh["update_id"] + 1) == ()

        await bot.set_webhook("https://example.com/hook")
        with pytest.raises(Conflict, match="webhook is active"):
            await bot.get_updates()
        assert (await bot.get_webhook_info()).url == "https://example.com/hook"
        await bot.delete_webhook()


async def _long_poll(fake: FakeBotAPI, **params: Any) -> asyncio.Task[HttpResponse]:
    """Start a getUpdates that waits (30 s unless answered), once the fake has received it."""
    arrived = fake.polls_received()
    poll = asyncio.create_task(fake.call("getUpdates", {"timeout": 30, **params}))
    await fake.wait_until(lambda: fake.polls_received() > arrived)
    return poll


async def test_a_waiting_long_poll_cuts_off_the_older_one_with_409(
    fake: FakeBotAPI, alice: FakeUser
) -> None:
    older = await _long_poll(fake)
    assert not older.done() and fake.calls("getUpdates") == []  # counted, not yet answered
    newer = await _long_poll(fake)
    cut_off = await asyncio.wait_for(older, 5)
    assert cut_off.status == 409
    assert "terminated by other getUpdates request" in cut_off.json()["description"]
    update = alice.send_text("你好")
    answered = await asyncio.wait_for(newer, 5)
    assert [u["update_id"] for u in answered.json()["result"]] == [update["update_id"]]


async def test_a_poll_answered_at_once_leaves_the_older_long_poll_alone(
    fake: FakeBotAPI, alice: FakeUser
) -> None:
    # Telegram's server gives the long-poll slot only to a request that has to wait
    # (tdlib/telegram-bot-api, Client::do_get_updates): a short poll, or one that finds
    # updates, is answered without cutting anyone off.
    older = await _long_poll(fake)
    assert (await fake.call("getUpdates", {"timeout": 0})).json()["result"] == []
    assert not older.done()
    update = alice.send_text("你好")  # unconfirmed: every poll gets it until an offset passes it
    found = await fake.call("getUpdates", {"timeout": 30})
    assert [u["update_id"] for u in found.json()["result"]] == [update["update_id"]]
    woken = await asyncio.wait_for(older, 5)
    assert woken.status == 200
    assert [u["update_id"] for u in woken.json()["result"]] == [update["update_id"]]


async def test_a_second_cut_off_within_3_seconds_is_answered_late(
    fake: FakeBotAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Telegram answers one cut-off poll at once, then others only after 3 s
    # (Client::fail_query_conflict); shortened here.
    monkeypatch.setattr("fake_telegram._api.CONFLICT_DELAY", 1.0)
    first = await _long_poll(fake)
    second = await _long_poll(fake)
    assert (await asyncio.wait_for(first, 5)).status == 409
    third = await _long_poll(fake)
    for _ in range(5):
        await asyncio.sleep(0)
    assert not second.done()  # cut off, but its 409 waits out the throttle
    assert (await asyncio.wait_for(second, 5)).status == 409
    third.cancel()
    await asyncio.gather(third, return_exceptions=True)


async def test_redelivered_update_reaches_handlers_twice(
    fake: FakeBotAPI, alice: FakeUser, app: App
) -> None:
    async with running_application(app):
        update = alice.send_text("重复")
        await alice.next_reply()
        fake.enqueue(update)
        await alice.next_reply()
    assert [u.update_id for u in updates_seen(app)] == [update["update_id"]] * 2
    assert fake.texts(alice.id) == ["echo: 重复", "echo: 重复"]


async def test_unknown_file_and_token_errors(fake: FakeBotAPI) -> None:
    async with fake.make_bot() as bot:
        with pytest.raises(BadRequest, match="Invalid file_id"):
            await bot.get_file("nope")
    wrong = Bot(
        "1:wrong", request=InProcessRequest(fake), get_updates_request=InProcessRequest(fake)
    )
    with pytest.raises(InvalidToken):
        await wrong.initialize()


# ------------------------------------------------------------------------ loopback HTTP


async def test_loopback_http_server_round_trip_and_download(
    fake: FakeBotAPI, alice: FakeUser, fake_telegram_server: FakeBotAPIServer
) -> None:
    server = fake_telegram_server
    assert server.api is fake
    app = build_test_app(
        ApplicationBuilder()
        .token(fake.token)
        .base_url(f"{server.url}/bot")
        .base_file_url(f"{server.url}/file/bot")
    )
    async with running_application(app):
        alice.send_text("走网络")
        assert (await alice.next_reply()).text == "echo: 走网络"
        alice.send_document(b"\x00\x01binary\xff", file_name="录音 记录.bin",
                            mime_type="application/octet-stream")  # fmt: skip
        reply = await alice.next_reply()

    assert app.bot_data["downloads"] == [b"\x00\x01binary\xff"]
    assert reply.document is not None
    assert reply.document.file_name == "回执.txt"  # non-ASCII multipart filename survived
    assert reply.document.content == b"receipt for \x00\x01binary\xff"
    assert server.requests_served >= 5

    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.post(
            f"/bot{fake.token}/sendMessage",
            json={"chat_id": alice.id, "text": "json body", "reply_markup": {
                "inline_keyboard": [[{"text": "ok", "callback_data": "ok"}]]}},
        )  # fmt: skip
        assert response.status_code == 200
        assert response.json()["result"]["reply_markup"]["inline_keyboard"][0][0]["text"] == "ok"
        file_url = f"/file/bot{fake.token}/{reply.document.file_path}"
        assert (await client.get(file_url)).content == reply.document.content
        missing = await client.get(f"/bot{fake.token}/nosuchMethod")
        assert missing.status_code == 404
        assert json.loads(missing.content)["ok"] is False
        assert (await client.get(f"/bot{fake.token}/getMe")).json()["result"]["is_bot"] is True
        assert (await client.get("/botWRONG/getMe")).status_code == 401
