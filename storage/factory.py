"""Open the store the settings name: the one place that chooses a backend."""

from __future__ import annotations

from pathlib import Path

from flows.ports import Store
from storage.store import SqliteStore


def is_postgres(url: str) -> bool:
    """Return True when `url` names a PostgreSQL database rather than meaning SQLite."""
    return url.startswith(("postgresql://", "postgres://"))


async def open_store(url: str, db_path: str | Path, data_dir: str | Path) -> Store:
    """Open the store `url` names (empty: SQLite at `db_path`), migrating its schema.

    Evidence files go under `data_dir` on SQLite; PostgreSQL keeps them in the database.
    """
    if not url:
        return await SqliteStore.open(db_path, data_dir)
    # Imported here: SQLite deployments (and `make chat`) never load the PostgreSQL driver.
    from storage.postgres import PostgresStore

    return await PostgresStore.open(url, data_dir)
