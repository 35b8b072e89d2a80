"""Fixtures for storage tests: a real SQLite file and data folder under tmp_path."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from storage import SqliteStore


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "db" / "bot.sqlite3"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
async def store(db_path: Path, data_dir: Path) -> AsyncIterator[SqliteStore]:
    opened = await SqliteStore.open(db_path, data_dir)
    yield opened
    await opened.close()


@pytest.fixture
def raw(db_path: Path, store: SqliteStore) -> Iterator[sqlite3.Connection]:
    """A second, plain connection to the same file, to look at rows the way they were stored."""
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.row_factory = sqlite3.Row
    yield conn
    conn.close()
