"""Fixtures for every test folder: a throwaway PostgreSQL server, started only when asked for."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pg_server import PgServer, binaries, required


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """Start one PostgreSQL server on 127.0.0.1 for the session, and stop it at the end."""
    if binaries() is None:
        message = "PostgreSQL is not installed (initdb and pg_ctl not found)"
        if required():
            pytest.fail(f"{message}, and CB_REQUIRE_POSTGRES=1 says it must be")
        pytest.skip(message)
    server = PgServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg_server: PgServer) -> str:
    """Return the URL of a fresh, empty database for this test."""
    return pg_server.new_database()
