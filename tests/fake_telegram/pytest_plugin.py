"""Pytest fixtures for the fake Bot API.

Activate with ``pytest_plugins = ["fake_telegram.pytest_plugin"]`` in a test module (or, once,
in ``tests/conftest.py``). Fixtures:

* ``fake_telegram`` - a fresh :class:`FakeBotAPI` per test.
* ``fake_telegram_server`` - that same fake served on 127.0.0.1 (started, stopped after the test).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from ._api import FakeBotAPI
from ._server import FakeBotAPIServer

__all__ = ["fake_telegram", "fake_telegram_server"]


@pytest.fixture
def fake_telegram() -> FakeBotAPI:
    return FakeBotAPI()


@pytest.fixture
async def fake_telegram_server(fake_telegram: FakeBotAPI) -> AsyncIterator[FakeBotAPIServer]:
    async with FakeBotAPIServer(fake_telegram) as server:
        yield server
