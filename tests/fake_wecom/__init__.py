"""A fake WeCom customer-service API and a fake WeChat customer, for tests that drive the bot.

In process: the bot's WecomApi talks to `FakeWecom.app` through httpx.ASGITransport, and the
fake posts callbacks to the bot's ASGI app the same way; no sockets. `FakeWecomServer`
serves it on 127.0.0.1 instead, for a bot that runs as its own process. `FakeWecom` enforces the
platform's rules and records every refused send in `refusals`.
"""

from ._api import Delivered, FakeWecom, Refusal
from ._customer import AES_KEY, CALLBACK_TOKEN, Callbacks, FakeCustomer
from ._server import FakeWecomServer

__all__ = [
    "AES_KEY",
    "CALLBACK_TOKEN",
    "Callbacks",
    "Delivered",
    "FakeCustomer",
    "FakeWecom",
    "FakeWecomServer",
    "Refusal",
]
