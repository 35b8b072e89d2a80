"""A session of its own on the database: for what lives outside the pool's transactions.

The conversation locks and the send pace each hold one connection in autocommit mode, named
after what it is for and the process's pid, so that an operator (and the tests) can tell in
pg_stat_activity whose session, and whose locks, these are.
"""

from __future__ import annotations

import os
from typing import Any

import psycopg

from storage.errors import StorageError
from storage.postgres.store import redact


async def own_session(
    url: str, purpose: str, connect_timeout: float
) -> psycopg.AsyncConnection[Any]:
    """Open an autocommit session for `purpose` (StorageError when the server cannot be reached)."""
    try:
        return await psycopg.AsyncConnection.connect(
            url,
            autocommit=True,
            connect_timeout=max(1, round(connect_timeout)),
            application_name=f"complaint-bot {purpose} (pid {os.getpid()})",
        )
    except psycopg.Error as e:
        raise StorageError(f"storage.url: cannot connect to {redact(url)!r}: {e}") from e
