"""Choose the backend from `storage.url`: SQLite when it is empty, else PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from storage.store import SqliteStore

if TYPE_CHECKING:
    from storage.postgres import PostgresStore

# Either backend; both offer the same public methods (the Store Protocol, flows/ports.py).
AnyStore: TypeAlias = "SqliteStore | PostgresStore"


def is_postgres(url: str) -> bool:
    """Return True when `url` names a PostgreSQL database rather than meaning SQLite."""
    return url.startswith(("postgresql://", "postgres://"))


async def open_store(url: str, db_path: str | Path, data_dir: str | Path) -> AnyStore:
    """Open the store `url` names (empty: SQLite at `db_path`), migrating its schema."""
    if not url:
        return await SqliteStore.open(db_path, data_dir)
    # Imported here: SQLite deployments (and `make chat`) never load the PostgreSQL driver.
    from storage.postgres import PostgresStore

    return await PostgresStore.open(url, data_dir)
