"""Logs: the bot token never appears in anything the process writes; phone numbers are masked.

`complaint-bot run` runs as a real process at DEBUG (the most it ever writes: PTB then logs every
API call with its parameters and results, so people's messages reach the log), talks to the fake
Bot API, meets an API error, is stopped; then runs once more with a token Telegram rejects. All
its stdout and stderr is searched.
"""

from __future__ import annotations

import logging
import socket
import sys
from pathlib import Path

import httpx
import pytest
from bot_process import bot_process
from fake_telegram import SECRET_HEADER, FakeBotAPI, WebhookPusher
from telegram_chat import SMS, Chat

from bot.logs import RedactingFilter, redact, setup_logging

TOKEN = "7712345678:AAHk3xZ-9q_Lm0pQrStUvWxYz0123456789"
REJECTED = "7712345678:AAHbadbadbad-bad_bad0123456789abcdefg"
PHONE = "13800138000"
# Written the ways people write numbers: grouped, a landline, overseas (a message sent at DEBUG).
OTHER_PHONES = ("138 0013 8000", "010-12345678", "0755 1234 5678", "+1 415 555 2671")


async def test_the_token_is_never_written_and_phones_are_masked(tmp_path: Path) -> None:
    fake = FakeBotAPI(token=TOKEN)
    alice = fake.add_user("Alice")
    chat = Chat(fake, alice)
    async with bot_process(fake, tmp_path) as bot:
        bot.env["COMPLAINT_BOT_LOG_LEVEL"] = "DEBUG"
        await bot.start()
        await chat.say("/start", "遇到了什么问题")
        await chat.choose(SMS, "（1/11）")
        await chat.choose("垃圾 / 骚扰短信", "（2/11）")
        await chat.say(PHONE, "（3/11）")  # a mobile number as the sender
        fake.fail_next(1, methods=["sendMessage"])  # an API error, logged with its traceback
        alice.send_text("昨天")  # saved, but its answer is lost
        await fake.settle(quiet=0.3)
        await chat.say("/start", "没填完的投诉")
        # Checked as a message (typed text at the resume question would be an answer there).
        await chat.say("/check 我的电话 " + "，".join(OTHER_PHONES), "现在该怎么做")
        await bot.stop()  # SIGTERM: a clean shutdown writes its own lines
        assert bot.process is not None and bot.process.returncode == 0

        bot.env["TELEGRAM_BOT_TOKEN"] = REJECTED
        await bot.spawn()
        assert bot.process is not None
        assert await bot.process.wait() == 1  # refused at start-up, with a one-line reason

    written = bot.log.read_text(errors="replace")
    assert "DEBUG" in written and "sendMessage" in written  # it did log verbosely
    for secret in (TOKEN, TOKEN.split(":")[1], REJECTED.split(":")[1]):
        assert secret not in written
    assert PHONE not in written
    for phone in OTHER_PHONES:
        assert phone not in written
    assert "138****8000" in written  # the number was logged, masked
    assert "telegram.token: Telegram rejected the bot token" in written


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (
            f"GET https://api.telegram.org/bot{TOKEN}/getMe",
            "GET https://api.telegram.org/bot<token>/getMe",
        ),
        ("sender 13800138000 said", "sender 138****8000 said"),
        (
            "{'url': 'https://b.example', 'secret_token': 'Ab_9-z'}",
            "{'url': 'https://b.example', 'secret_token': '<hidden>'}",
        ),
        ('{"secret_token": "Ab_9-z"}', '{"secret_token": "<hidden>"}'),
        ("X-Telegram-Bot-Api-Secret-Token: Ab_9-z", "X-Telegram-Bot-Api-Secret-Token: <hidden>"),
        ("+8613800138000", "+86138****8000"),
        ("10690123456789", "106****6789"),
        ("order 2026110312345", "order 2026110312345"),  # not a phone number
        ("call 138 0013 8000 now", "call 138****8000 now"),
        ("138-0013-8000", "138****8000"),
        ("(+86) 138-0013-8000", "(+86) 138****8000"),
        ("１３８００１３８０００", "１３８****８０００"),  # full-width digits
        ("٠١٣٨٠٠١٣٨٠٠٠", "٠١٣٨****٨٠٠٠"),  # Arabic-Indic digits, a mobile with its 0
        ("座机 010-12345678", "座机 010****5678"),
        ("0755 1234 5678", "0755****5678"),
        ("01012345678", "010****5678"),
        ("+1 415 555 2671", "+1 41****2671"),
        ("00886 2 2345 6789", "00886 2****6789"),
        ("13800138000 13900139000", "138****8000 139****9000"),
        # not phone numbers: a chat id, a date, a time, an amount, a Unix time
        ('"chat": {"id": 7712345678}', '"chat": {"id": 7712345678}'),
        ("2026-11-03 10:00:00", "2026-11-03 10:00:00"),
        ("amount 1234567.89", "amount 1234567.89"),
        ("date 1732245600", "date 1732245600"),
    ],
)
def test_redact(text: str, shown: str) -> None:
    assert redact(text) == shown


def test_tracebacks_are_redacted_too() -> None:
    try:
        raise ValueError(f"bad token {TOKEN} for {PHONE}")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    RedactingFilter().filter(record)
    text = logging.Formatter().format(record)
    assert TOKEN not in text and PHONE not in text and "<token>" in text


def test_an_uncaught_exception_is_printed_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    hook, root = sys.excepthook, logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        setup_logging("INFO")
        try:
            raise RuntimeError(f"token {TOKEN}")
        except RuntimeError as exc:
            sys.excepthook(type(exc), exc, exc.__traceback__)
    finally:
        sys.excepthook = hook
        logging.captureWarnings(False)
        root.handlers[:], root.level = handlers, level
    err = capsys.readouterr().err
    assert "RuntimeError: token <token>" in err and TOKEN not in err


WEBHOOK_SECRET = "Wh-secret_0123456789abcdefXYZ"


async def test_the_webhook_secret_is_never_written(tmp_path: Path) -> None:
    """`run` in webhook mode at DEBUG: set the webhook, answer posts, refuse a wrong secret."""
    fake = FakeBotAPI(token=TOKEN)
    alice = fake.add_user("Alice")
    chat = Chat(fake, alice)
    with socket.socket() as probe:  # a free port for http.listen (the bot binds it next)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    target = f"http://127.0.0.1:{port}"
    async with bot_process(fake, tmp_path) as bot, WebhookPusher(fake, target=target):
        bot.env.update(
            {
                "COMPLAINT_BOT_LOG_LEVEL": "DEBUG",
                "COMPLAINT_BOT_TELEGRAM__MODE": "webhook",
                "COMPLAINT_BOT_TELEGRAM__WEBHOOK_URL": "https://bot.example.com/telegram/webhook",
                "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
                "COMPLAINT_BOT_HTTP__LISTEN": f"127.0.0.1:{port}",
            }
        )
        await bot.spawn()
        await fake.wait_until(
            lambda: bool(fake.calls("setWebhook")) or bot.exited,
            timeout=30,
            description="the bot to set its webhook",
        )
        assert not bot.exited, bot.log.read_text()[-3000:]
        await chat.say("/start", "遇到了什么问题")
        await chat.choose(SMS, "（1/11）")
        async with httpx.AsyncClient() as http:
            wrong = {SECRET_HEADER: WEBHOOK_SECRET[:-1]}
            refused = await http.post(f"{target}/telegram/webhook", json={}, headers=wrong)
            assert refused.status_code == 403
        await bot.stop()
        assert bot.process is not None and bot.process.returncode == 0

    written = bot.log.read_text(errors="replace")
    assert "setWebhook" in written  # the call was logged, with its parameters
    assert WEBHOOK_SECRET not in written and WEBHOOK_SECRET[:-1] not in written
    assert TOKEN.split(":")[1] not in written
    assert '"POST /telegram/webhook' not in written  # no access-log line per post
