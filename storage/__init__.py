"""Persistence: SQLite for conversations and cases, a content-addressed folder for evidence."""

from storage.backend import AnyStore, open_store
from storage.errors import StorageError
from storage.store import SqliteStore

__all__ = ["AnyStore", "SqliteStore", "StorageError", "open_store"]
