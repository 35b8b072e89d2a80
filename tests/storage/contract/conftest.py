"""The backends the Store contract runs on, and a fresh store on each for every test.

A backend is a function of the test's request and temporary folder that returns how to open a
store on one fresh database; opening again gives a store on the same data (a restart). To run
the contract on another backend, add it to BACKENDS (its server fixtures may be asked for with
`request.getfixturevalue`): every test here then runs on it as well.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from contract_data import Opener
from pg_server import make_postgres_store

from flows.ports import Store
from storage.factory import open_store


def sqlite_backend(request: pytest.FixtureRequest, folder: Path) -> Opener:
    """Return how to open SQLite stores on one database file and evidence folder."""

    async def open_sqlite() -> Store:
        return await open_store("", folder / "db" / "bot.sqlite3", folder / "data")

    return open_sqlite


def postgres_backend(request: pytest.FixtureRequest, folder: Path) -> Opener:
    """Return how to open PostgreSQL stores on one fresh database of the throwaway server."""
    url = request.getfixturevalue("pg_url")  # skips the test where PostgreSQL is not installed

    async def open_postgres() -> Store:
        return await make_postgres_store(url, folder / "documents")

    return open_postgres


BACKENDS: dict[str, Callable[[pytest.FixtureRequest, Path], Opener]] = {
    "sqlite": sqlite_backend,
    "postgres": postgres_backend,
}


@pytest.fixture(params=sorted(BACKENDS))
async def opener(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Opener]:
    """Open stores on a fresh database of each backend; close them all at the end."""
    opened: list[Store] = []
    backend = BACKENDS[request.param](request, tmp_path)

    async def open_one() -> Store:
        store = await backend()
        opened.append(store)
        return store

    yield open_one
    for store in opened:
        await store.close()


@pytest.fixture
async def store(opener: Opener) -> Store:
    """Return a store on a fresh, empty database."""
    return await opener()
