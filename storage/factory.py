"""Open the store the settings name: the one place that chooses a backend."""

from __future__ import annotations

from pathlib import Path

from flows.ports import Store
from storage.store import SqliteStore


async def open_store(db_path: str | Path, data_dir: str | Path) -> Store:
    """Open (creating and migrating) the database at `db_path`, evidence under `data_dir`."""
    return await SqliteStore.open(db_path, data_dir)
