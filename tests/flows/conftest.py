"""Fixtures for talking to the engine on real SQLite in a temporary folder."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from engine_chat import Person, open_engine

from flows.conversation.engine import Engine


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[Engine]:
    """An engine over a fresh database (closed after the test)."""
    engine, store = await open_engine(tmp_path)
    yield engine
    await store.close()


@pytest.fixture
def alice(engine: Engine) -> Person:
    """Someone talking to `engine`."""
    return Person(engine)
