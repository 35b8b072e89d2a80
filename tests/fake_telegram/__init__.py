"""A fake Telegram Bot API for tests that drive the real python-telegram-bot ``Application``.

Quick start::

    fake = FakeBotAPI()
    app = fake.application_builder().build()          # in-process, no sockets
    app.add_handler(...)
    alice = fake.add_user("Alice")
    async with running_application(app):
        alice.send_command("start")
        reply = await alice.next_reply()
        assert "你好" in reply.text

Webhook mode: ``async with WebhookPusher(fake, target=bot_url):`` posts each queued update to
the URL the bot gave ``setWebhook`` (the host replaced by ``target``), with its secret header,
retrying until the bot answers 2xx; ``getUpdates`` is refused (409) while a webhook is set.
Long polls follow Telegram's server: a ``getUpdates`` that has to wait cuts off the one
waiting before it (409 "terminated by other getUpdates request", one at once every 3 s);
one answered at once cuts nobody off. ``polls_received`` counts polls as they arrive.

Over real HTTP instead: ``async with FakeBotAPIServer(fake) as server:`` and build the app with
``server.application_builder()``.

PTB 22 traps under ``filterwarnings = error``:

* Every 429 makes ``RetryAfter.__init__`` read its own deprecated ``retry_after`` property, so
  a PTBDeprecationWarning (raised as an error) replaces the RetryAfter and AIORateLimiter never
  retries - unless ``PTB_TIMEDELTA=true`` is set or that warning is filtered.
* ``BadRequest`` messages are ``str.capitalize()``d: "Bad Request: can't parse entities: Can't
  find..." reaches the bot as "Can't parse entities: can't find...".
* A 404 (unknown method, missing download) surfaces as ``InvalidToken``.
"""

from ._api import DEFAULT_TOKEN, FakeBotAPI
from ._formatting import EntityParseError, parse_formatted, utf16_len
from ._http import ApiError, HttpResponse, UploadedFile
from ._media import TINY_PNG, image_size, make_png, make_png_bomb
from ._records import ApiCall, CallbackAnswer, SentMessage, StoredFile
from ._request import InProcessRequest
from ._runner import running_application
from ._server import FakeBotAPIServer
from ._users import (
    FakeUser,
    detect_entities,
    origin_channel,
    origin_chat,
    origin_hidden_user,
    origin_user,
)
from ._webhook import SECRET_HEADER, Push, WebhookPusher

__all__ = [
    "DEFAULT_TOKEN",
    "SECRET_HEADER",
    "TINY_PNG",
    "ApiCall",
    "ApiError",
    "CallbackAnswer",
    "EntityParseError",
    "FakeBotAPI",
    "FakeBotAPIServer",
    "FakeUser",
    "HttpResponse",
    "InProcessRequest",
    "Push",
    "SentMessage",
    "StoredFile",
    "UploadedFile",
    "WebhookPusher",
    "detect_entities",
    "image_size",
    "make_png",
    "make_png_bomb",
    "origin_channel",
    "origin_chat",
    "origin_hidden_user",
    "origin_user",
    "parse_formatted",
    "running_application",
    "utf16_len",
]
