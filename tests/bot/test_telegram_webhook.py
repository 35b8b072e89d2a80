"""Telegram in webhook mode: `complaint-bot run` serves HTTP and Telegram posts updates to it.

The bot runs as `run` does in webhook mode (`TelegramWebhookServer`: uvicorn on 127.0.0.1, the
webhook set with its secret), calling the fake Bot API in process; the fake's `WebhookPusher`
posts each update to the bot's port over real HTTP with the secret header, as Telegram does
through nginx, and posts again until it gets a 2xx.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fake_telegram import SECRET_HEADER, FakeBotAPI, WebhookPusher, make_png
from telegram_chat import (
    SMS,
    Chat,
    bot_settings,
    finish_sms,
    read_back,
    running_bot,
    the_case,
    walk_sms_to_evidence,
)

from bot.app import TelegramWebhookServer
from bot.config import ConfigError, Settings, load_settings
from flows.model import ConversationKey

DATA = Path(__file__).parent.parent / "data"
URL = "https://bot.example.com/telegram/webhook"
SECRET = "s3cret_Webhook-token_0123456789"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return bot_settings(
        tmp_path,
        telegram_mode="webhook",
        telegram_webhook_url=URL,
        telegram_webhook_secret=SECRET,
        http_listen="127.0.0.1:0",
        telegram_album_wait=0.2,
        telegram_forward_wait=0.2,
    )


@asynccontextmanager
async def webhook_bot(fake: FakeBotAPI, settings: Settings) -> AsyncIterator[TelegramWebhookServer]:
    """Run the bot in webhook mode on the fake; stop it (the webhook stays set) at the end."""
    server = TelegramWebhookServer(settings, request=fake.make_request())
    try:
        await server.start()
        yield server
    finally:
        await server.stop()


def local(server: TelegramWebhookServer) -> str:
    return f"http://127.0.0.1:{server.port}"


async def test_a_complaint_is_filed_by_webhook_with_buttons_a_photo_and_an_album(
    settings: Settings,
) -> None:
    fake = FakeBotAPI()
    alice = fake.add_user("Alice")
    chat = Chat(fake, alice)
    screenshot = (DATA / "sms-screenshot.png").read_bytes()
    pictures = [make_png(40 + i, 30) for i in range(2)]
    async with webhook_bot(fake, settings) as bot, WebhookPusher(fake, target=local(bot)) as push:
        webhook = fake.webhook
        assert (webhook["url"], webhook["secret_token"]) == (URL, SECRET)
        assert webhook["allowed_updates"] == ["message", "callback_query"]
        await walk_sms_to_evidence(chat)  # commands, buttons and typed answers
        alice.send_photo(screenshot)
        await chat.expect("已收到 1 份，共 1 份证据")
        alice.send_album(pictures)
        await chat.expect("共 3 份证据")
        number = await finish_sms(chat)
        await fake.wait_for_delivery()

    assert push.pushes and {p.status for p in push.pushes} == {200}
    assert not fake.calls("getUpdates")  # nothing was polled
    case = await the_case(settings, alice, number)
    assert (case.category, case.problem, case.state) == ("sms", "spam", "waiting")
    stored = {(Path(settings.storage_data_dir) / e.path).read_bytes() for e in case.evidence}
    assert stored == {screenshot, *pictures}
    assert len({e.group_id for e in case.evidence if e.group_id}) == 1  # the album


async def test_a_post_without_the_right_secret_is_refused_and_nothing_is_recorded(
    settings: Settings,
) -> None:
    fake = FakeBotAPI()
    mallory = fake.add_user("Mallory")
    update = {
        "update_id": 77,
        "message": {
            "message_id": 1,
            "date": 1_764_000_000,
            "chat": {"id": mallory.id, "type": "private", "first_name": "Mallory"},
            "from": mallory.to_dict(),
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }
    async with webhook_bot(fake, settings) as bot, httpx.AsyncClient(base_url=local(bot)) as http:
        for headers in ({}, {SECRET_HEADER: "wrong"}, {SECRET_HEADER: SECRET + "x"}):
            response = await http.post("/telegram/webhook", json=update, headers=headers)
            assert response.status_code == 403
        await fake.settle(quiet=0.3)
        assert fake.sent_to(mallory.id) == []
        key = ConversationKey("telegram", str(mallory.id))
        assert await read_back(settings, lambda s: s.load_conversation(key)) is None
        # The same post with the secret is answered: the refusals were not about the update.
        ok = await http.post("/telegram/webhook", json=update, headers={SECRET_HEADER: SECRET})
        assert ok.status_code == 200
        await fake.wait_for_sent(mallory.id)

    assert await read_back(settings, lambda s: s.load_conversation(key)) is not None


BAD_BODIES = {
    "broken": (b"{not json", 400),
    "not-utf8": (b"\xff\xfe", 400),
    "a-list": (b"[1, 2]", 400),
    "no-update-id": (b'{"message": {}}', 400),
    "text-id": (b'{"update_id": "7"}', 400),
    "over-1mb": (b'{"update_id": 7, "pad": "' + b"x" * (1024 * 1024) + b'"}', 413),
}


async def test_a_body_that_is_not_an_update_is_refused_and_the_bot_goes_on(
    settings: Settings,
) -> None:
    fake = FakeBotAPI()
    alice = fake.add_user("Alice")
    chat = Chat(fake, alice)
    headers = {SECRET_HEADER: SECRET, "content-type": "application/json"}
    async with webhook_bot(fake, settings) as bot, httpx.AsyncClient(base_url=local(bot)) as http:
        for name, (body, status) in BAD_BODIES.items():
            response = await http.post("/telegram/webhook", content=body, headers=headers)
            assert response.status_code == status, name
        assert (await http.get("/telegram/webhook")).status_code == 405
        assert (await http.get("/healthz")).text == "ok"
        async with WebhookPusher(fake, target=local(bot)):
            await chat.say("/start", "遇到了什么问题")


async def test_an_update_posted_twice_has_one_effect(settings: Settings) -> None:
    fake = FakeBotAPI()
    alice = fake.add_user("Alice")
    chat = Chat(fake, alice)
    async with webhook_bot(fake, settings) as bot, WebhookPusher(fake, target=local(bot)) as push:
        await chat.say("/start", "遇到了什么问题")
        await chat.choose(SMS, "（1/11）")
        await chat.choose("垃圾 / 骚扰短信", "（2/11）")
        update = alice.send_text("10690123456789")
        await chat.expect("（3/11）")
        fake.enqueue(update)  # Telegram posts it again (its first 200 was lost on the way)
        await fake.wait_for_delivery()
        await fake.settle(quiet=0.4)
        assert push.statuses(update["update_id"]) == [200, 200]
        assert [m.text for m in chat._new()] == []  # no second answer
        await chat.say("昨天", "（4/11）")  # and the conversation goes on from the next step


async def test_what_comes_while_the_bot_is_down_is_posted_again_once_it_is_back(
    settings: Settings,
) -> None:
    fake = FakeBotAPI()
    alice = fake.add_user("Alice")
    chat = Chat(fake, alice)
    async with WebhookPusher(fake, retry_delay=0.05) as push:
        async with webhook_bot(fake, settings) as bot:
            push.target = local(bot)
            await chat.say("/start", "遇到了什么问题")
        update = alice.send_text("/help")  # the bot is stopped: nobody answers the post
        await fake.wait_until(lambda: 0 in push.statuses(update["update_id"]))
        assert fake.webhook["url"] == URL  # kept set while the bot is down
        info = await fake.call("getWebhookInfo")
        assert info.json()["result"]["pending_update_count"] == 1
        assert "Connection failed" in info.json()["result"]["last_error_message"]
        async with webhook_bot(fake, settings) as bot:
            push.target = local(bot)
            await chat.expect("/cases")  # the help text, answered once the bot is back
        assert push.statuses(update["update_id"])[-1] == 200


async def test_back_to_polling_deletes_the_webhook_and_answers(
    settings: Settings,
) -> None:
    fake = FakeBotAPI()
    alice = fake.add_user("Alice")
    chat = Chat(fake, alice)
    async with webhook_bot(fake, settings):
        pass
    assert fake.webhook["url"] == URL
    async with running_bot(fake, settings.replace(telegram_mode="polling")):
        await chat.say("/start", "遇到了什么问题")
    assert fake.webhook == {} and fake.calls("deleteWebhook")
    assert [c.status for c in fake.calls("getUpdates")][:1] == [200]  # never the 409


# ----------------------------------------------------------------------------- settings


def test_webhook_mode_without_a_url_or_a_secret_names_the_setting(settings: Settings) -> None:
    with pytest.raises(ConfigError, match=r"^telegram\.webhook_url: not set"):
        settings.replace(telegram_webhook_url="").require_webhook()
    no_secret = Settings(**{**_fields(settings), "telegram_webhook_secret": None})
    with pytest.raises(ConfigError, match=r"^telegram\.webhook_secret: not set.*WEBHOOK_SECRET"):
        no_secret.require_webhook()


async def test_the_bot_does_not_start_without_the_secret(settings: Settings) -> None:
    fake = FakeBotAPI()
    settings = Settings(**{**_fields(settings), "telegram_webhook_secret": None})
    with pytest.raises(ConfigError, match=r"telegram\.webhook_secret"):
        async with webhook_bot(fake, settings):
            pass
    assert not fake.calls("setWebhook")


def _fields(settings: Settings) -> dict[str, Any]:
    return {name: getattr(settings, name) for name in Settings.__dataclass_fields__}


def test_the_webhook_path_is_the_urls_unless_set(settings: Settings) -> None:
    assert settings.require_webhook().path == "/telegram/webhook"
    assert settings.replace(telegram_webhook_path="/hook").require_webhook().path == "/hook"
    bare = settings.replace(telegram_webhook_url="https://bot.example.com")
    assert bare.require_webhook().path == "/"
    assert SECRET not in repr(settings.require_webhook())


def test_webhook_settings_from_yaml_and_the_secret_from_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "telegram:\n  mode: webhook\n  webhook_url: https://bot.example.com/tg\n"
        "  webhook_max_connections: 8\n",
        encoding="utf-8",
    )
    settings = load_settings(path, environ={"TELEGRAM_WEBHOOK_SECRET": SECRET})
    webhook = settings.require_webhook()
    assert (webhook.url, webhook.secret, webhook.path, webhook.max_connections) == (
        "https://bot.example.com/tg",
        SECRET,
        "/tg",
        8,
    )


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("mode", "hook", "polling or webhook"),
        ("webhook_url", "http://bot.example.com/tg", "an https:// URL"),
        ("webhook_secret", "has space", "1-256 letters, digits, _ or -"),
        ("webhook_secret", "x" * 257, "1-256 letters, digits, _ or -"),
        ("webhook_secret", "ünïcode", "1-256 letters, digits, _ or -"),
        ("webhook_path", "no-slash", "a path like /telegram/webhook"),
        ("webhook_max_connections", 0, "a whole number from 1 to 100"),
        ("webhook_max_connections", 101, "a whole number from 1 to 100"),
    ],
)
def test_bad_webhook_settings_stop_with_the_key(
    tmp_path: Path, key: str, value: Any, expected: str
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(f"telegram:\n  {key}: {json.dumps(value)}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"telegram\.{key}: expected ") as error:
        load_settings(path, environ={})
    assert expected in str(error.value)
    if key == "webhook_secret":
        assert str(value) not in str(error.value) and "(hidden)" in str(error.value)
